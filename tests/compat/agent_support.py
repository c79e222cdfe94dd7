"""The real `bao agent` and `bao proxy` against a dev server, configured with HCL in tmp.

Each process runs in its own session so that stopping it also stops what it spawned
(the agent's exec child), and every failed wait carries the logs of everything involved.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import Literal

from tests.compat.conftest import BAO, Server

WAIT = 30.0  # seconds; every wait here should end within a few
PASSWORD_TEMPLATE = '{{ with secret "secret/data/app" }}{{ .Data.data.password }}{{ end }}'
APP_POLICY = 'path "secret/data/app" { capabilities = ["read"] }\n'

# The stanzas below are the README's, with $names for the paths a test chooses.
TOKEN_FILE = """\
  method "token_file" {
    config { token_file_path = $token_file }
  }
"""
APPROLE = """\
  method "approle" {
    config {
      role_id_file_path   = $role_id_file
      secret_id_file_path = $secret_id_file
      remove_secret_id_file_after_reading = false
$wrapping    }
  }
"""
AUTO_AUTH = """\
auto_auth {
$method  sink "file" {
    config { path = $sink }
  }
}
"""
# KV v2 reads carry no lease: the agent re-reads them on this interval (default 5m)
RENDER_INTERVAL = 'template_config { static_secret_render_interval = "1s" }\n'
FILE_TEMPLATE = """\
template {
  contents    = $contents
  destination = $destination
}
"""
EXEC = """\
env_template "APP_PASSWORD" {
  contents = $contents
}
exec {
  command                   = $command
  restart_on_secret_changes = "always"
}
"""
API_PROXY = """\
api_proxy { use_auto_auth_token = true }
listener "tcp" {
  address     = $address
  tls_disable = true
}
"""


class Verbatim(str):
    """Text that goes into a stanza as it is (HCL already), not as a string literal."""


def hcl(value: str | Path | list[str]) -> str:
    """``value`` as an HCL literal (HCL takes JSON's strings and lists)."""
    if isinstance(value, Verbatim):
        return value
    return json.dumps(value if isinstance(value, list) else str(value))


def stanza(template: str, **values: str | Path | list[str]) -> str:
    return Template(template).substitute({name: hcl(value) for name, value in values.items()})


def token_file_method(token_file: Path) -> str:
    return stanza(TOKEN_FILE, token_file=token_file)


def approle_method(role_id_file: Path, secret_id_file: Path, wrapped_from: str = "") -> str:
    """``wrapped_from``: the secret ID file holds a wrapping token made at that path."""
    wrapping = f"      secret_id_response_wrapping_path = {hcl(wrapped_from)}\n"
    return stanza(APPROLE, role_id_file=role_id_file, secret_id_file=secret_id_file,
                  wrapping=Verbatim(wrapping if wrapped_from else ""))


def auto_auth(method: str, sink: Path) -> str:
    """Log in with ``method`` (a stanza above), write the token to ``sink``."""
    return stanza(AUTO_AUTH, method=Verbatim(method), sink=sink)


def file_template(destination: Path) -> str:
    return RENDER_INTERVAL + stanza(FILE_TEMPLATE, contents=PASSWORD_TEMPLATE,
                                    destination=destination)


def exec_with_password(command: list[str]) -> str:
    """Run ``command`` with the password in $APP_PASSWORD, restarted when it changes."""
    return RENDER_INTERVAL + stanza(EXEC, contents=PASSWORD_TEMPLATE, command=command)


def api_proxy(address: str) -> str:
    return stanza(API_PROXY, address=address)


@dataclass
class BaoProcess:
    """A running `bao agent` or `bao proxy` and its log."""

    kind: str
    process: subprocess.Popen[str]
    log: Path

    @property
    def output(self) -> str:
        return self.log.read_text()


def read_text(path: Path) -> str | None:
    return path.read_text() if path.exists() else None


def wait_for_text(
    path: Path, expected: str, *watching: BaoProcess | Server, timeout: float = WAIT
) -> None:
    """Poll ``path`` until it holds exactly ``expected``; on timeout show every log."""
    wait_until(lambda: read_text(path) == expected, f"{path.name} == {expected!r}", *watching,
               timeout=timeout, last=lambda: read_text(path))


def wait_until(
    condition: Callable[[], bool],
    what: str,
    *watching: BaoProcess | Server,
    timeout: float = WAIT,
    last: Callable[[], object] = lambda: None,
) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        exited = [p for p in watching if isinstance(p, BaoProcess) and p.process.poll() is not None]
        if exited or time.monotonic() > deadline:
            reason = f"bao {exited[0].kind} exited" if exited else f"no change in {timeout:.0f} s"
            raise AssertionError(f"waiting for {what}: {reason}; last seen {last()!r}\n"
                                 + logs(*watching))
        time.sleep(0.2)


def logs(*watching: BaoProcess | Server) -> str:
    return "\n".join(
        f"----- {p.kind if isinstance(p, BaoProcess) else 'server'} log -----\n{p.output}"
        for p in watching
    )


@contextmanager
def running(
    kind: Literal["agent", "proxy"], server: Server, workdir: Path, config: str,
    ready: Path | None = None,
) -> Iterator[BaoProcess]:
    """Write ``config`` (plus the ``vault`` stanza for ``server``), start ``bao kind`` on it,
    wait until ``ready`` exists, and stop the process and its children on the way out."""
    config_file = workdir / f"{kind}.hcl"
    config_file.write_text(f"vault {{ address = {hcl(server.address)} }}\n{config}")
    log = workdir / f"{kind}.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_"))}
    with log.open("w") as sink:
        process = subprocess.Popen(
            [str(BAO), kind, f"-config={config_file}", "-log-level=debug"],
            env=env, stdout=sink, stderr=subprocess.STDOUT, text=True, cwd=workdir,
            start_new_session=True,
        )
    started = BaoProcess(kind, process, log)
    try:
        if ready is not None:
            wait_until(ready.exists, f"{ready.name} to appear", started, server)
        yield started
    finally:
        _stop(process)


def _stop(process: subprocess.Popen[str]) -> None:
    """SIGINT lets the agent stop its exec child; SIGKILL its whole session if it hangs."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # not reaped yet, so the group is still ours
        process.wait(timeout=10)


def server_failures(server: Server) -> list[str]:
    """The server's log lines at ERROR, and its access-log entries with a 5xx status."""
    failures = []
    for line in server.output.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue  # the banner
        if not isinstance(entry, dict):
            continue
        if entry.get("level") in ("ERROR", "CRITICAL") or (
            "method" in entry and int(entry.get("status", 0)) >= 500
        ):
            failures.append(line)
    return failures
