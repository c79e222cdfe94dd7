"""Applications fed by the real `bao agent` and `bao proxy` from `lambdavault server -dev`.

The agent logs in with AppRole, renders a KV v2 secret to a file or into a child's
environment, and follows changes; the proxy lets a client without a token read through it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import pytest
import requests

from tests.compat.agent_support import (
    APP_POLICY,
    api_proxy,
    approle_method,
    auto_auth,
    exec_with_password,
    file_template,
    logs,
    running,
    server_failures,
    token_file_method,
    wait_for_text,
)
from tests.compat.conftest import ROOT_TOKEN, Server, free_port, start_server, stop_server

pytestmark = pytest.mark.compat

SECRET_ID_PATH = "auth/approle/role/app/secret-id"
CHILD = """\
import os, sys, time
from pathlib import Path

# write-then-rename: the test never reads half a file
out = Path(sys.argv[1])
out.with_suffix(".tmp").write_text(os.environ["APP_PASSWORD"])
out.with_suffix(".tmp").replace(out)
time.sleep(600)
"""


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    """The dev server with its access log on, so failures show each call and its status.

    secret/app holds password=one; the "app" policy may read it and nothing else.
    """
    server = start_server(["-dev", f"-dev-root-token-id={ROOT_TOKEN}", "-log-level=debug"],
                          tmp_path / "server.log")
    try:
        policy = tmp_path / "app-policy.hcl"
        policy.write_text(APP_POLICY)
        server.bao("policy", "write", "app", str(policy))
        server.bao("kv", "put", "secret/app", "password=one")
        yield server
        # the agent retries quietly, so a 5xx it survived shows only here
        failures = server_failures(server)
        assert not failures, "\n".join(failures)
    finally:
        stop_server(server)


def token_file_login(server: Server, workdir: Path) -> str:
    """A token_file method holding an "app" token, the way to start without AppRole."""
    token_file = workdir / "token"
    token_file.write_text(server.bao("token", "create", "-policy=app", "-field=token").out)
    return token_file_method(token_file)


def approle_login(server: Server, workdir: Path, *, wrapped: bool = False) -> str:
    """An approle method for role "app"; ``wrapped`` hands it the secret ID response-wrapped,
    as a deployment pipeline would, so the secret ID itself never touches disk."""
    server.bao("auth", "enable", "approle")
    server.bao("write", "auth/approle/role/app", "token_policies=app", "token_ttl=1h")
    role_id = server.bao("read", "-field=role_id", "auth/approle/role/app/role-id").out
    if wrapped:
        secret = server.bao("write", "-wrap-ttl=5m", "-field=wrapping_token", "-f",
                            SECRET_ID_PATH).out
    else:
        secret = server.bao("write", "-field=secret_id", "-f", SECRET_ID_PATH).out
    (workdir / "role-id").write_text(role_id)
    (workdir / "secret-id").write_text(secret)
    return approle_method(workdir / "role-id", workdir / "secret-id",
                          wrapped_from=SECRET_ID_PATH if wrapped else "")


@pytest.mark.parametrize(
    "login",
    [token_file_login, approle_login, partial(approle_login, wrapped=True)],
    ids=["token_file", "approle", "approle-wrapped-secret-id"],
)
def test_agent_renders_a_template_and_follows_changes(
    server: Server, tmp_path: Path, login: Callable[[Server, Path], str]
) -> None:
    rendered, sink = tmp_path / "password.txt", tmp_path / "agent-token"
    config = auto_auth(login(server, tmp_path), sink) + file_template(rendered)
    with running("agent", server, tmp_path, config, ready=rendered) as agent:
        wait_for_text(rendered, "one", agent, server)
        # the sink holds the agent's own token: an "app" token the application may use too
        token = sink.read_text()
        assert server.bao("kv", "get", "-field=password", "secret/app", token=token).out == "one"
        server.bao("kv", "put", "secret/app", "password=two")
        wait_for_text(rendered, "two", agent, server)


def test_agent_restarts_its_child_with_the_new_secret(server: Server, tmp_path: Path) -> None:
    script, seen = tmp_path / "child.py", tmp_path / "child-env.txt"
    script.write_text(CHILD)
    config = auto_auth(approle_login(server, tmp_path), tmp_path / "agent-token")
    config += exec_with_password([sys.executable, str(script), str(seen)])
    with running("agent", server, tmp_path, config, ready=seen) as agent:
        wait_for_text(seen, "one", agent, server)
        server.bao("kv", "put", "secret/app", "password=two")
        # a process's environment is fixed at exec: seeing "two" means a new child
        wait_for_text(seen, "two", agent, server)


def test_proxy_lets_a_client_without_a_token_read(server: Server, tmp_path: Path) -> None:
    listen = f"127.0.0.1:{free_port()}"
    sink = tmp_path / "proxy-token"  # written once the proxy has logged in
    config = auto_auth(approle_login(server, tmp_path), sink) + api_proxy(listen)
    with running("proxy", server, tmp_path, config, ready=sink) as proxy:
        reply = requests.get(f"http://{listen}/v1/secret/data/app", timeout=10)
        assert reply.status_code == 200, f"{reply.text}\n" + logs(proxy, server)
        assert reply.json()["data"]["data"] == {"password": "one"}
        # the proxy lends its own token, which reads secret/app and nothing else
        denied = requests.get(f"http://{listen}/v1/secret/data/other", timeout=10)
        assert denied.status_code == 403, f"{denied.text}\n" + logs(proxy, server)
