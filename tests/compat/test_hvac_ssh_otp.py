"""The ssh engine's OTP mode through hvac's ``client.secrets.ssh``, against
`lambdavault server -dev` and OpenBao 2.7.2's `bao server -dev` alike: roles, zero-address
roles, lookup by IP, credentials and an unauthenticated verify that works once."""

from __future__ import annotations

from collections.abc import Iterator

import hvac
import pytest
from hvac.exceptions import InvalidRequest

from tests.compat.conftest import ROOT_TOKEN, Server

pytestmark = pytest.mark.compat


@pytest.fixture(params=["lambdavault", "openbao"])
def client(request: pytest.FixtureRequest) -> Iterator[hvac.Client]:
    server: Server = request.getfixturevalue(
        "dev_server" if request.param == "lambdavault" else "openbao_dev")
    connected = hvac.Client(url=server.address, token=ROOT_TOKEN)
    if "ssh/" in connected.sys.list_mounted_secrets_engines()["data"]:
        connected.sys.disable_secrets_engine("ssh")  # the OpenBao server is shared
    connected.sys.enable_secrets_engine("ssh")
    yield connected


def test_otp_roles_credentials_and_verify(client: hvac.Client) -> None:
    ssh = client.secrets.ssh
    ssh.create_role("web", key_type="otp", default_user="ubuntu", cidr_list="10.0.0.0/8",
                    allowed_users="alice")
    ssh.create_role("any", key_type="otp", default_user="admin", cidr_list="172.16.0.0/12")
    assert ssh.list_roles_by_ip("10.2.3.4")["data"] == {"roles": ["web"]}
    ssh.configure_zeroaddress_roles("any")
    assert ssh.list_zeroaddress_roles()["data"] == {"roles": ["any"]}
    assert ssh.list_roles_by_ip("10.2.3.4")["data"] == {"roles": ["web", "any"]}
    with pytest.raises(InvalidRequest, match='Role "ghost" does not exist'):
        ssh.configure_zeroaddress_roles("ghost")

    body = ssh.generate_ssh_credentials("web", username="alice", ip="10.2.3.4")
    assert body["renewable"] is False and body["lease_duration"] == 2764800
    otp = body["data"]["key"]
    assert body["data"] == {"key": otp, "key_type": "otp", "username": "alice",
                            "ip": "10.2.3.4", "port": 22}
    with pytest.raises(InvalidRequest, match="Error validating IP: IP does not belong to role"):
        ssh.generate_ssh_credentials("web", ip="11.0.0.1")
    assert ssh.generate_ssh_credentials("any", ip="8.8.4.4")["data"]["ip"] == "8.8.4.4"

    helper = hvac.Client(url=client.url)  # vault-ssh-helper holds no token
    assert helper.secrets.ssh.verify_ssh_otp(otp)["data"] == {
        "username": "alice", "ip": "10.2.3.4", "role_name": "web"}
    with pytest.raises(InvalidRequest, match="OTP not found"):
        helper.secrets.ssh.verify_ssh_otp(otp)
    ssh.delete_zeroaddress_role()
    assert ssh.list_roles_by_ip("8.8.4.4")["data"] == {"roles": None}
