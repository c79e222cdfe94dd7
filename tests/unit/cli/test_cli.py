"""The lambdavault command: flags, the moto dev environment, the server lifecycle.

``create_table``, ``bootstrap_dev`` and ``app`` are stubbed here so these tests exercise only
the CLI's own wiring; the end-to-end test with the real pipeline lives with the API tests.
"""

import argparse
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
import types
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
from chalice import Chalice

from chalicelib.cli import devenv
from chalicelib.cli.main import (
    COMMANDS,
    CliError,
    Command,
    build_parser,
    main,
    run_server,
    start_server,
)
from chalicelib.settings import settings

REPO = Path(__file__).resolve().parents[3]


@dataclass(frozen=True, slots=True)
class FakeBootstrap:
    root_token: str
    recovery_key: str
    mounted: list[str]


def fake_create_table(table_name=None):
    config = settings()
    dynamodb = boto3.client("dynamodb", endpoint_url=config.endpoint_url, region_name=config.region)
    dynamodb.create_table(
        TableName=table_name or config.table_name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


def fake_bootstrap_dev(root_token_id=None):
    mounted = ["cubbyhole/", "secret/", "sys/"]
    return FakeBootstrap(root_token_id or "s.generated", "cmVjb3Zlcnk=", mounted)


def tiny_app() -> Chalice:
    app = Chalice(app_name="tiny")

    @app.route("/v1/{proxy+}", methods=["GET", "PUT"], content_types=["*/*"])
    def proxy() -> dict:
        return {"proxy": app.current_request.uri_params["proxy"]}

    return app


@pytest.fixture
def isolated_environ():
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)
    settings.cache_clear()


@pytest.fixture
def stubs(monkeypatch, isolated_environ):
    """The modules other engineers own, replaced by small stand-ins."""
    monkeypatch.setitem(sys.modules, "app", types.SimpleNamespace(app=tiny_app()))
    monkeypatch.setitem(
        sys.modules, "chalicelib.core.dev", types.SimpleNamespace(bootstrap_dev=fake_bootstrap_dev)
    )
    monkeypatch.setitem(
        sys.modules,
        "chalicelib.storage.dynamotable",
        types.SimpleNamespace(create_table=fake_create_table),
    )


def parse(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(list(argv))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- flags ---------------------------------------------------------------------------------


def test_bao_style_single_dash_flags():
    args = parse("server", "-dev", "-dev-root-token-id=root", "-dev-listen-address=127.0.0.1:8300")
    assert args.dev is True
    assert args.dev_root_token_id == "root"
    assert args.dev_listen_address == "127.0.0.1:8300"


def test_double_dash_and_separate_values_work_too():
    args = parse("server", "--dev", "--dev-root-token-id", "root", "--log-level=DEBUG")
    assert (args.dev, args.dev_root_token_id, args.log_level) == (True, "root", "debug")


@pytest.mark.parametrize(
    "argv",
    [
        ("audit", "verify", "-bucket", "B", "-prefix=p/", "-partial"),
        ("audit", "verify", "--bucket=B", "--prefix", "p/", "--partial=true"),
        ("audit", "verify", "-bucket=B", "-prefix", "p/", "-partial", "TRUE"),
    ],
)
def test_every_command_takes_go_style_flags(argv):
    args = parse(*argv)
    assert (args.bucket, args.prefix, args.partial) == ("B", "p/", True)


def test_go_booleans_take_an_explicit_value():
    assert parse("audit", "query", "-file", "f", "-stale=false").stale is False
    assert parse("audit", "query", "-file", "f", "-stale=1", "-format=json").stale is True
    assert parse("server", "-dev=false").dev is False
    with pytest.raises(SystemExit):
        parse("audit", "query", "-file", "f", "-stale=maybe")


def test_server_defaults():
    args = parse("server")
    assert args.dev is False
    assert args.dev_listen_address == "127.0.0.1:8200"
    assert args.listen_address == "127.0.0.1:8200"
    assert args.dev_aws_listen_address == "127.0.0.1:0"  # a free port
    assert args.log_level == "info"


def test_no_abbreviations():
    with pytest.raises(SystemExit):
        parse("server", "-dev-root=x")


def test_version(capsys):
    assert main(["version"]) == 0
    assert capsys.readouterr().out.startswith("Lambdavault v")


def test_a_command_is_required():
    with pytest.raises(SystemExit) as exit_:
        main([])
    assert exit_.value.code == 2


def test_registry_builds_nested_subcommands(capsys):
    def configure(parser):
        parser.add_argument("-bucket", "--bucket", required=True)

    def run(args):
        print(f"verify {args.bucket}")
        return 3

    commands = {**COMMANDS, "audit verify": Command("verify the audit log", configure, run)}
    args = build_parser(commands).parse_args(["audit", "verify", "-bucket=b"])
    assert args.run(args) == 3
    assert capsys.readouterr().out == "verify b\n"


@pytest.mark.parametrize(
    ("flag", "value"),
    [
        ("-dev-listen-address", "0.0.0.0:8200"),
        ("-dev-listen-address", "8200"),
        ("-dev-aws-listen-address", "10.1.2.3:5000"),
        ("-dev-listen-address", "127.0.0.1:99999"),
    ],
)
def test_addresses_must_be_loopback_host_port(capsys, flag, value):
    assert main(["server", "-dev", f"{flag}={value}"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"Error: {flag}")
    assert err.count("\n") == 1


def test_root_token_id_requires_dev(capsys):
    assert main(["server", "-dev-root-token-id=x", "-listen-address=127.0.0.1:0"]) == 1
    assert capsys.readouterr().err == "Error: -dev-root-token-id requires -dev\n"


def test_busy_port_is_a_one_line_error(capsys):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["server", "-dev", f"-dev-listen-address=127.0.0.1:{port}"]) == 1
    expected = f"Error: -dev-listen-address 127.0.0.1:{port} is already in use\n"
    assert capsys.readouterr().err == expected


# --- the moto dev environment --------------------------------------------------------------


def test_dev_environment_creates_every_resource(stubs):
    resources = devenv.DevResources()
    with devenv.dev_environment("127.0.0.1", 0) as environment:
        endpoint = environment.endpoint_url
        assert endpoint.startswith("http://127.0.0.1:")
        current = settings()
        assert current.endpoint_url == endpoint
        assert current.table_name == resources.table_name
        assert current.kms_key_id == resources.kms_alias
        assert current.audit_bucket == resources.audit_bucket
        assert current.audit_stream == resources.audit_stream
        assert os.environ["AWS_ACCESS_KEY_ID"] == "testing"

        def client(service):
            return boto3.client(service, endpoint_url=endpoint, region_name=resources.region)

        client("dynamodb").describe_table(TableName=resources.table_name)
        key = client("kms").describe_key(KeyId=resources.kms_alias)["KeyMetadata"]
        assert key["KeySpec"] == "SYMMETRIC_DEFAULT"
        assert key["KeyUsage"] == "ENCRYPT_DECRYPT"
        client("s3").head_bucket(Bucket=resources.audit_bucket)
        stream = client("firehose").describe_delivery_stream(
            DeliveryStreamName=resources.audit_stream
        )["DeliveryStreamDescription"]
        destination = stream["Destinations"][0]["ExtendedS3DestinationDescription"]
        assert destination["BucketARN"] == f"arn:aws:s3:::{resources.audit_bucket}"
        assert destination["Prefix"].startswith("audit/year=!{timestamp:yyyy}/")

        # moto delivers each record at once, named as AWS would (firehose_keys_as_aws).
        client("firehose").put_record(
            DeliveryStreamName=resources.audit_stream, Record={"Data": b'{"type":"request"}\n'}
        )
        listed = client("s3").list_objects_v2(Bucket=resources.audit_bucket, Prefix="audit/")
        assert listed["KeyCount"] == 1
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", int(endpoint.rsplit(":", 1)[1])), timeout=1)


def test_dev_environ_always_uses_fake_credentials():
    values = devenv.dev_environ("http://127.0.0.1:1", devenv.DevResources())
    assert values["AWS_ACCESS_KEY_ID"] == values["AWS_SECRET_ACCESS_KEY"] == "testing"
    assert values["AWS_REGION"] == values["AWS_DEFAULT_REGION"] == "us-east-1"
    environ = {"AWS_ACCESS_KEY_ID": "real"}
    devenv.apply_environ(values, environ)
    assert environ["AWS_ACCESS_KEY_ID"] == "testing"


# --- the server lifecycle ------------------------------------------------------------------


def get_json(url: str, path: str) -> dict:
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.request("GET", path)
        return json.loads(conn.getresponse().read())
    finally:
        conn.close()


def test_dev_server_starts_prints_and_stops(stubs, capsys):
    args = parse("server", "-dev", "-dev-root-token-id=root", "-dev-listen-address=127.0.0.1:0")
    with ExitStack() as stack:
        server = start_server(args, stack)
        assert get_json(server.url, "/v1/secret/data/app") == {"proxy": "secret/data/app"}
        aws_endpoint = os.environ["AWS_ENDPOINT_URL"]
    out = capsys.readouterr().out
    assert "==> Lambdavault server configuration:" in out
    assert f"             Api Address: {server.url}\n" in out
    assert f"            AWS Endpoint: {aws_endpoint}\n" in out
    assert "                 Storage: dynamodb (moto)\n" in out
    assert "                 Version: Lambdavault v" in out
    assert f"$ export VAULT_ADDR='{server.url}'" in out
    assert f"$ export BAO_ADDR='{server.url}'" in out
    assert f"The web UI is at {server.url}/ui/" in out
    assert "Recovery Key: cmVjb3Zlcnk=\n" in out
    assert "Root Token: root\n" in out
    assert "Mounts: cubbyhole/, secret/, sys/\n" in out
    for url in (server.url, aws_endpoint):  # both stopped
        with pytest.raises(OSError):
            socket.create_connection(url.removeprefix("http://").split(":"), timeout=1)


def test_dev_server_runs_the_background_tasks(stubs, monkeypatch):
    ran = threading.Event()
    monkeypatch.setattr("chalicelib.cli.main.DEV_BACKGROUND_TASKS", [(0.01, ran.set)])
    with ExitStack() as stack:
        start_server(parse("server", "-dev", "-dev-listen-address=127.0.0.1:0"), stack)
        assert ran.wait(5)


def test_standalone_server_serves_the_configured_deployment(stubs, capsys):
    with ExitStack() as stack:
        environment = stack.enter_context(devenv.dev_environment("127.0.0.1", 0))
        server = start_server(parse("server", "-listen-address=127.0.0.1:0"), stack)
        assert get_json(server.url, "/v1/sys/init") == {"proxy": "sys/init"}
    out = capsys.readouterr().out
    assert f"AWS Endpoint: {environment.endpoint_url}\n" in out
    assert "Storage: dynamodb (table lambdavault)\n" in out
    assert "Root Token" not in out


def test_run_server_returns_0_when_stopped(stubs, capsys):
    stop = threading.Event()
    args = parse("server", "-dev", "-dev-listen-address=127.0.0.1:0")
    result = {}
    runner = threading.Thread(target=lambda: result.setdefault("code", run_server(args, stop)))
    runner.start()
    deadline = time.monotonic() + 30
    while "Root Token" not in capsys.readouterr().out and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    runner.join(30)
    assert result == {"code": 0}


STUBBED_MAIN = textwrap.dedent(
    """
    import sys, types
    sys.path.insert(0, {tests!r})
    import test_cli as t
    sys.modules["app"] = types.SimpleNamespace(app=t.tiny_app())
    sys.modules["chalicelib.core.dev"] = types.SimpleNamespace(bootstrap_dev=t.fake_bootstrap_dev)
    sys.modules["chalicelib.storage.dynamotable"] = types.SimpleNamespace(
        create_table=t.fake_create_table
    )
    from chalicelib.cli.main import main
    sys.exit(main(["server", "-dev", "-dev-listen-address=127.0.0.1:{port}"]))
    """
)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_signals_stop_the_dev_server_cleanly(tmp_path, signum):
    port = free_port()
    script = tmp_path / "run.py"
    script.write_text(STUBBED_MAIN.format(tests=str(Path(__file__).parent), port=port))
    process = subprocess.Popen(
        [sys.executable, str(script)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines = []
        for line in process.stdout:
            lines.append(line)
            if line.startswith("Root Token:"):
                break
        assert get_json(f"http://127.0.0.1:{port}", "/v1/x") == {"proxy": "x"}
        process.send_signal(signum)
        out, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 0, err
    assert "Traceback" not in err
    assert out.rstrip().endswith("==> Lambdavault shutdown triggered")


# --- background tasks ----------------------------------------------------------------------


def test_background_tasks_run_periodically_and_stop_promptly():
    calls = {"fast": 0, "slow": 0}

    def fast():
        calls["fast"] += 1

    def slow():
        calls["slow"] += 1

    tasks = devenv.BackgroundTasks([(0.02, fast), (3600, slow)])
    tasks.start()
    time.sleep(0.3)
    started = time.monotonic()
    tasks.stop()
    assert time.monotonic() - started < 1
    seen = calls["fast"]
    assert seen >= 3
    assert calls["slow"] == 0  # the first run waits one interval, as a rate() schedule
    time.sleep(0.1)
    assert calls["fast"] == seen  # nothing runs after stop


def test_a_failing_task_does_not_stop_the_others():
    ran = threading.Event()

    def broken():
        raise RuntimeError("boom")

    tasks = devenv.BackgroundTasks([(0.01, broken), (0.02, ran.set)])
    tasks.start()
    try:
        assert ran.wait(5)
    finally:
        tasks.stop()


def test_tasks_hold_the_invocation_lock():
    lock = threading.Lock()
    held = []
    tasks = devenv.BackgroundTasks([(0.01, lambda: held.append(lock.locked()))], lock=lock)
    tasks.start()
    time.sleep(0.1)
    tasks.stop()
    assert held
    assert all(held)


def test_no_tasks_no_thread():
    tasks = devenv.BackgroundTasks([])
    tasks.start()
    assert tasks._thread is None
    tasks.stop()


def test_intervals_must_be_positive():
    with pytest.raises(ValueError):
        devenv.BackgroundTasks([(0, lambda: None)])


def test_cli_errors_are_single_lines():
    assert str(CliError("x")) == "x"
