"""The ``lambdavault`` command. Flags are bao-style: ``-dev`` and ``--dev`` both work.

Subcommands live in ``COMMANDS``, keyed by their words (``"server"``, later
``"audit verify"``); ``build_parser`` turns multi-word keys into nested subcommands.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import signal
import socket
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from importlib import metadata
from types import FrameType
from typing import TYPE_CHECKING

from chalicelib import jobs
from chalicelib.cli import audit as audit_cli
from chalicelib.cli.flags import flag

if TYPE_CHECKING:
    from chalicelib.cli.devenv import DevEnvironment
    from chalicelib.core.dev import DevBootstrap
    from chalicelib.transports.devserver import DevServer

__all__ = ["COMMANDS", "DEV_BACKGROUND_TASKS", "CliError", "Command", "build_parser", "main"]

DEFAULT_LISTEN_ADDRESS = "127.0.0.1:8200"
# Periodic jobs of the dev server, as (interval in seconds, job); run under the server's
# invocation lock, like the @app.schedule functions they stand in for.
DEV_BACKGROUND_TASKS: list[tuple[float, Callable[[], object]]] = jobs.dev_tasks()
LOG_LEVELS = ("trace", "debug", "info", "warn", "warning", "error")


class CliError(Exception):
    """A problem the user can fix: printed as one line, exit status 1."""


@dataclass(frozen=True, slots=True)
class Command:
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``lambdavault`` console script; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except CliError as error:
        print(f"Error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0  # Ctrl-C is how a foreground server is meant to stop


def build_parser(commands: Mapping[str, Command] | None = None) -> argparse.ArgumentParser:
    root = _new_parser("lambdavault", "Vault's HTTP API on AWS Lambda, DynamoDB and KMS.")
    parsers: dict[tuple[str, ...], argparse.ArgumentParser] = {(): root}
    groups: dict[tuple[str, ...], argparse._SubParsersAction[argparse.ArgumentParser]] = {}
    for name, command in (commands or COMMANDS).items():
        words = tuple(name.split())
        for depth in range(1, len(words) + 1):
            path = words[:depth]
            if path in parsers:
                continue
            parent = path[:-1]
            if parent not in groups:
                groups[parent] = parsers[parent].add_subparsers(
                    dest=f"command_{depth}", metavar="<command>", required=True
                )
            summary = command.help if depth == len(words) else None
            parsers[path] = groups[parent].add_parser(
                path[-1], help=summary, description=summary, allow_abbrev=False
            )
        command.configure(parsers[words])
        parsers[words].set_defaults(run=command.run)
    return root


def _new_parser(prog: str, description: str) -> argparse.ArgumentParser:
    # No abbreviations: "-dev" must never be read as a prefix of "-dev-listen-address".
    return argparse.ArgumentParser(prog=prog, description=description, allow_abbrev=False)


# --- version ---------------------------------------------------------------------------


def _version() -> str:
    try:
        return metadata.version("lambdavault")
    except metadata.PackageNotFoundError:
        return "0.0.0+unknown"


def run_version(args: argparse.Namespace) -> int:
    print(f"Lambdavault v{_version()}")
    return 0


# --- server ----------------------------------------------------------------------------


def configure_server(parser: argparse.ArgumentParser) -> None:
    flag(parser, "dev", action="store_true", help="run a dev server in moto, unsealed")
    flag(parser, "dev-root-token-id", metavar="ID", help="the dev root token's id")
    flag(parser, "dev-listen-address", metavar="HOST:PORT", default=DEFAULT_LISTEN_ADDRESS)
    flag(
        parser,
        "dev-aws-listen-address",
        metavar="HOST:PORT",
        default="127.0.0.1:0",
        help="moto's address (default: a free loopback port)",
    )
    flag(parser, "listen-address", metavar="HOST:PORT", default=DEFAULT_LISTEN_ADDRESS)
    flag(parser, "log-level", type=str.lower, choices=LOG_LEVELS, default="info")


def run_server(args: argparse.Namespace, stop: threading.Event | None = None) -> int:
    """Serve until ``stop`` is set, SIGINT or SIGTERM; clean up and return 0."""
    _configure_logging(args.log_level)
    stop = stop or threading.Event()
    with _interrupt_on_signals(), ExitStack() as stack:
        try:
            start_server(args, stack)
            stop.wait()
        except KeyboardInterrupt:
            pass
        _say("==> Lambdavault shutdown triggered")
    return 0


def start_server(args: argparse.Namespace, stack: ExitStack) -> DevServer:
    """Start everything ``server`` needs; ``stack`` stops it all, newest first."""
    if args.dev:
        return _start_dev(args, stack)
    if args.dev_root_token_id is not None:
        raise CliError("-dev-root-token-id requires -dev")
    return _start_standalone(args, stack)


def _start_dev(args: argparse.Namespace, stack: ExitStack) -> DevServer:
    from chalicelib.cli import devenv

    listen = _parse_address(args.dev_listen_address, "-dev-listen-address")
    aws_host, aws_port = _parse_address(args.dev_aws_listen_address, "-dev-aws-listen-address")
    # Fail in a second, not after the whole bootstrap, when the port is taken.
    _ensure_free(listen, "-dev-listen-address")
    _ensure_free((aws_host, aws_port), "-dev-aws-listen-address")
    environment = stack.enter_context(devenv.dev_environment(aws_host, aws_port))

    from chalicelib.core.dev import bootstrap_dev

    bootstrap = bootstrap_dev(args.dev_root_token_id)
    server = _start_http(listen, "-dev-listen-address", stack)
    tasks = devenv.BackgroundTasks(DEV_BACKGROUND_TASKS, lock=server.invocation_lock)
    tasks.start()
    stack.callback(tasks.stop)
    _say(_configuration_banner(server.url, environment.endpoint_url, "dynamodb (moto)"))
    _say(_dev_banner(server.url, environment, bootstrap))
    return server


def _start_standalone(args: argparse.Namespace, stack: ExitStack) -> DevServer:
    from chalicelib.settings import settings

    listen = _parse_address(args.listen_address, "-listen-address")
    _ensure_free(listen, "-listen-address")
    server = _start_http(listen, "-listen-address", stack)
    current = settings()
    endpoint = current.endpoint_url or f"AWS ({current.region})"
    _say(_configuration_banner(server.url, endpoint, f"dynamodb (table {current.table_name})"))
    _say("==> Lambdavault server started! Log data will stream in below:\n")
    return server


def _start_http(address: tuple[str, int], flag: str, stack: ExitStack) -> DevServer:
    from chalicelib.transports.devserver import DevServer

    # Imported only now: app.py reads the environment the dev setup has just written.
    app = importlib.import_module("app").app
    try:
        server = DevServer(address, app)
    except OSError as error:
        raise CliError(f"{flag} {_join(address)}: {error.strerror or error}") from None
    stack.callback(server.close)
    return server.start()


def _parse_address(text: str, flag: str) -> tuple[str, int]:
    from chalicelib.transports.devserver import require_loopback

    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or int(port) > 65535:
        raise CliError(f"{flag}: expected HOST:PORT, got {text!r}")
    try:
        return require_loopback(host), int(port)
    except ValueError as error:
        raise CliError(f"{flag}: {error}") from None


def _ensure_free(address: tuple[str, int], flag: str) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # The same option the servers set, so a port in TIME_WAIT is not reported busy.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise CliError(f"{flag} {_join(address)} is already in use") from None
            raise CliError(f"{flag} {_join(address)}: {error.strerror or error}") from None


def _join(address: tuple[str, int]) -> str:
    return f"{address[0]}:{address[1]}"


def _configure_logging(level: str) -> None:
    from chalicelib.observability import logger

    logger.setLevel({"trace": "DEBUG", "warn": "WARNING"}.get(level, level.upper()))


@contextmanager
def _interrupt_on_signals() -> Iterator[None]:
    """SIGINT and SIGTERM both unwind the main thread as KeyboardInterrupt, so cleanup runs."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be installed from the main thread
        return
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    for sig in previous:
        signal.signal(sig, _interrupt)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    # A second signal must not break the (bounded) cleanup the first one started.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise KeyboardInterrupt


def _say(text: str) -> None:
    print(text, flush=True)


def _configuration_banner(api_address: str, aws_endpoint: str, storage: str) -> str:
    rows = {
        "Api Address": api_address,
        "AWS Endpoint": aws_endpoint,
        "Storage": storage,
        "Version": f"Lambdavault v{_version()}",
    }
    lines = [f"{label:>24}: {value}" for label, value in rows.items()]
    return "\n".join(["==> Lambdavault server configuration:", "", *lines, ""])


def _dev_banner(api_address: str, environment: DevEnvironment, bootstrap: DevBootstrap) -> str:
    resources = environment.resources
    return f"""==> Lambdavault server started! Log data will stream in below:

WARNING! dev mode is enabled! In this mode, Lambdavault runs against moto, an
in-memory AWS emulator, and starts initialized and unsealed with a single
recovery key. Everything is lost when the server stops.

You may need to set the following environment variables:

    $ export VAULT_ADDR='{api_address}'
    $ export BAO_ADDR='{api_address}'

The AWS resources (table {resources.table_name}, key {resources.kms_alias}, bucket \
{resources.audit_bucket}, stream {resources.audit_stream}) are at
{environment.endpoint_url} for boto3 and the aws CLI (any credentials).

The web UI is at {api_address}/ui/ (log in with the root token below).

The recovery key and root token are displayed below in case you want to
seal/unseal Lambdavault or re-authenticate.

Recovery Key: {bootstrap.recovery_key}
Root Token: {bootstrap.root_token}
Mounts: {", ".join(bootstrap.mounted)}

Development mode should NOT be used in production installations!
"""


COMMANDS: dict[str, Command] = {
    "server": Command("start a Lambdavault server", configure_server, run_server),
    "version": Command("print the Lambdavault version", lambda parser: None, run_version),
    "audit verify": Command(
        "check the hash chains of audit records", audit_cli.configure_verify, audit_cli.run_verify
    ),
    "audit query": Command(
        "find an identity's requests, or the KV secrets it read that nobody rolled since",
        audit_cli.configure_query, audit_cli.run_query,
    ),
}
