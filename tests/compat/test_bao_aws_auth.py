"""The aws auth method through the real CLI: `bao auth enable aws`, `bao write
auth/aws/role/...`, and a login with `bao write auth/aws/login iam_...=...`.

OpenBao 2.7's CLI has no built-in aws login helper (aws auth became an external plugin
there), so the login fields are signed here with botocore's SigV4, exactly as hvac and
our clients sign them, and written with `bao write`.
"""

from __future__ import annotations

import pytest

from tests.aws_auth_support import Keys, login_body
from tests.compat.conftest import Server
from tests.compat.test_bao_aws import moto

pytestmark = pytest.mark.compat


def _login(server: Server, keys: Keys, header_value: str) -> object:
    fields = login_body(keys, role="cli", header_value=header_value)
    args = [f"{name}={value}" for name, value in fields.items()]
    return server.bao("write", "-format=json", "auth/aws/login", *args, token=None, check=False)


def test_bao_write_auth_aws_login(dev_server: Server) -> None:
    iam = moto(dev_server, "iam")
    arn = iam.create_user(UserName="cli-user")["User"]["Arn"]
    key = iam.create_access_key(UserName="cli-user")["AccessKey"]
    keys = Keys(key["AccessKeyId"], key["SecretAccessKey"])
    dev_server.bao("auth", "enable", "aws")
    dev_server.bao("write", "auth/aws/config/client", "iam_server_id_header_value=bao.test")
    dev_server.bao(
        "write", "auth/aws/role/cli", "auth_type=iam", f"bound_iam_principal_arn={arn}",
        "token_policies=app", "token_ttl=30m",
    )  # fmt: skip
    role = dev_server.bao("read", "-format=json", "auth/aws/role/cli").json()["data"]
    assert role["bound_iam_principal_arn"] == [arn] and role["bound_iam_principal_id"]
    assert dev_server.bao("list", "auth/aws/roles").out.split()[-1] == "cli"
    done = _login(dev_server, keys, "bao.test")
    assert done.code == 0, done
    auth = done.json()["auth"]
    assert auth["policies"] == ["app", "default"] and auth["lease_duration"] == 1800
    assert auth["metadata"]["account_id"] == arn.split(":")[4]
    lookup = dev_server.bao("token", "lookup", "-format=json", auth["client_token"]).json()
    assert lookup["data"]["display_name"] == "aws-cli-user"
    refused = _login(dev_server, keys, "wrong")
    assert refused.code == 2 and 'expected "bao.test" but got "wrong"' in refused.err
    config = dev_server.bao("read", "-format=json", "auth/aws/config/client").json()["data"]
    assert config["iam_server_id_header_value"] == "bao.test" and "secret_key" not in config
