"""hvac's ``client.auth.aws.iam_login`` against `lambdavault server -dev`, the way
applications outside Lambda log in with IAM credentials.

The dev server's AWS is its embedded moto server: it is STS and IAM for the aws auth
method too (AWS_ENDPOINT_URL), so no config/client is needed.
"""

from __future__ import annotations

import hvac
import pytest
from hvac.exceptions import InvalidRequest

from tests.compat.conftest import ROOT_TOKEN, Server
from tests.compat.test_bao_aws import moto

pytestmark = pytest.mark.compat


def _iam_user(server: Server, name: str) -> tuple[str, dict[str, str]]:
    iam = moto(server, "iam")
    arn = iam.create_user(UserName=name)["User"]["Arn"]
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return arn, {"access_key": key["AccessKeyId"], "secret_key": key["SecretAccessKey"]}


def test_hvac_iam_login(dev_server: Server) -> None:
    admin = hvac.Client(url=dev_server.address, token=ROOT_TOKEN)
    admin.sys.enable_auth_method("aws")
    arn, keys = _iam_user(dev_server, "hvac-app")
    admin.auth.aws.create_role(
        "hvac-app", auth_type="iam", bound_iam_principal_arn=[arn], policies=["app"]
    )
    admin.auth.aws.configure_identity_integration(iam_alias="full_arn")
    assert admin.auth.aws.read_role("hvac-app")["bound_iam_principal_arn"] == [arn]
    app = hvac.Client(url=dev_server.address)
    auth = app.auth.aws.iam_login(role="hvac-app", **keys)["auth"]
    assert app.is_authenticated() and app.token == auth["client_token"]
    assert auth["policies"] == ["app", "default"]
    assert auth["metadata"]["auth_type"] == "iam"
    looked = app.auth.token.lookup_self()["data"]
    assert looked["display_name"] == "aws-hvac-app"
    entity = admin.secrets.identity.read_entity(looked["entity_id"])["data"]
    assert entity["aliases"][0]["name"] == arn  # iam_alias=full_arn
    assert admin.auth.aws.read_identity_integration()["iam_alias"] == "full_arn"
    assert app.auth.token.renew_self()["auth"]["client_token"] == auth["client_token"]
    # The server ID header, once configured, must be sent (and signed: hvac signs it).
    admin.auth.aws.configure(iam_server_id_header_value="vault.example.com")
    with pytest.raises(InvalidRequest, match="X-Vault-AWS-IAM-Server-ID"):
        hvac.Client(url=dev_server.address).auth.aws.iam_login(role="hvac-app", **keys)
    header = hvac.Client(url=dev_server.address).auth.aws.iam_login(
        role="hvac-app", header_value="vault.example.com", **keys
    )
    assert header["auth"]["client_token"]
    # Another principal is not bound to the role.
    _, stranger = _iam_user(dev_server, "stranger")
    with pytest.raises(InvalidRequest, match="does not belong to the role"):
        hvac.Client(url=dev_server.address).auth.aws.iam_login(
            role="hvac-app", header_value="vault.example.com", **stranger
        )
