"""jwt and oidc through the real `bao` CLI, against `lambdavault server -dev` and a real
`bao server -dev`: `bao write auth/jwt/login` and `bao login -method=oidc`, whose
browser step is played by requests following the loopback provider's redirect."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest
import requests

from tests.compat.conftest import BAO, Server, free_port
from tests.idp_support import (
    CLIENT_ID,
    CLIENT_SECRET,
    IdP,
    idp,
    public_pem,
    rsa_key,
    sign,
    times,
)

__all__ = ["idp"]  # a fixture the tests below take
pytestmark = pytest.mark.compat
CALLBACKS = "http://localhost:8250/oidc/callback,http://127.0.0.1:8250/oidc/callback"


@pytest.fixture
def both(module_dev_server: Server, openbao_dev: Server) -> list[Server]:
    return [module_dev_server, openbao_dev]


def _enable(server: Server, path: str, kind: str) -> None:
    server.bao("auth", "disable", path)  # both servers serve the whole module
    server.bao("auth", "enable", f"-path={path}", kind)


ROLE = {"role_type": "jwt", "user_claim": "sub", "bound_audiences": "vault",
        "token_policies": "ci", "bound_claims_type": "glob",
        "bound_claims": {"ref": "refs/heads/*"}, "claim_mappings": {"ref": "ref"}}  # fmt: skip


def _jwt_login(server: Server, home: Path) -> tuple[dict, str]:
    _enable(server, "jwt", "jwt")
    server.bao("write", "auth/jwt/config", f"jwt_validation_pubkeys={public_pem(rsa_key())}",
               "bound_issuer=ci")  # fmt: skip
    role = home / "role.json"  # a map field goes in as JSON, not as key=value
    role.write_text(json.dumps(ROLE))
    server.bao("write", "auth/jwt/role/ci", f"@{role}")
    token = sign({"iss": "ci", "aud": "vault", "sub": "repo:o/r", "ref": "refs/heads/main",
                  **times()}, rsa_key())  # fmt: skip
    auth = server.bao("write", "-format=json", "auth/jwt/login", "role=ci", f"jwt={token}",
                      token=None).json()["auth"]  # fmt: skip
    wrong = sign({"iss": "ci", "aud": "vault", "sub": "repo:o/r", "ref": "refs/tags/v1",
                  **times()}, rsa_key())  # fmt: skip
    refused = server.bao("write", "auth/jwt/login", "role=ci", f"jwt={wrong}", token=None,
                         check=False)  # fmt: skip
    assert refused.code == 2
    error = refused.err.replace(server.address, "ADDR")
    return {k: auth[k] for k in ("policies", "token_policies", "metadata", "renewable")}, error


def test_bao_write_jwt_login_matches_openbao(both: list[Server], tmp_path: Path) -> None:
    ours, theirs = (_jwt_login(server, tmp_path) for server in both)
    assert ours == theirs
    assert ours[0]["metadata"] == {"role": "ci", "ref": "refs/heads/main"}


def _oidc_login(server: Server, idp: IdP, home: Path) -> dict:
    _enable(server, "oidc", "oidc")
    server.bao("write", "auth/oidc/config", f"oidc_discovery_url={idp.url}",
               f"oidc_client_id={CLIENT_ID}", f"oidc_client_secret={CLIENT_SECRET}",
               "default_role=web")  # fmt: skip
    server.bao("write", "auth/oidc/role/web", "user_claim=email", "token_policies=web",
               f"allowed_redirect_uris={CALLBACKS}", "oidc_scopes=profile")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_"))}
    env.update(BAO_ADDR=server.address, HOME=str(home))
    port = free_port()  # the CLI's callback listener; loopback redirects may use any port
    cli = subprocess.Popen(
        [str(BAO), "login", "-method=oidc", "-path=oidc", "-no-store", "-format=json",
         "skip_browser=true", "listenaddress=127.0.0.1", f"port={port}",
         "callbackhost=127.0.0.1"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert cli.stderr is not None
        url = ""
        deadline = time.monotonic() + 30
        while not url and time.monotonic() < deadline:
            line = cli.stderr.readline()
            assert line, cli.stdout.read() if cli.stdout else "the CLI exited"
            url = line.strip() if line.strip().startswith("http") else ""
        # The browser: the provider approves and redirects to the CLI's listener. The CLI
        # stops its listener once answered, sometimes mid-page: only the status is read.
        with requests.get(url, timeout=30, stream=True) as page:
            assert page.status_code == 200
        out, err = cli.communicate(timeout=30)
    finally:
        cli.kill()
    assert cli.returncode == 0, err
    auth = json.loads(out)["auth"]
    return {k: auth[k] for k in ("policies", "metadata", "renewable")}


def test_bao_login_method_oidc(both: list[Server], idp: IdP, tmp_path: Path) -> None:
    ours, theirs = (_oidc_login(server, idp, tmp_path) for server in both)
    assert ours == theirs == {"policies": ["default", "web"], "metadata": {"role": "web"},
                              "renewable": True}  # fmt: skip
    assert idp.last_authorize["code_challenge_method"] == "S256"
