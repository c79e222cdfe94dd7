"""The ssh engine's CA mode through hvac's ``client.secrets.ssh`` (create_role,
submit_ca_information, sign_ssh_key ...) against `lambdavault server -dev` and OpenBao
2.7.2's `bao server -dev` alike; issue has no hvac method, so it goes through
``client.write_data`` as hvac users do."""

from __future__ import annotations

from collections.abc import Iterator

import hvac
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import SSHCertificate, SSHCertificateType
from hvac.exceptions import InvalidRequest

from tests.api.test_ssh_ca import USER_KEY
from tests.compat.conftest import ROOT_TOKEN, Server

pytestmark = pytest.mark.compat

MOUNT = "ssh-ca-hvac"


@pytest.fixture(params=["lambdavault", "openbao"])
def client(request: pytest.FixtureRequest) -> Iterator[hvac.Client]:
    server: Server = request.getfixturevalue(
        "dev_server" if request.param == "lambdavault" else "openbao_dev")
    connected = hvac.Client(url=server.address, token=ROOT_TOKEN)
    if f"{MOUNT}/" in connected.sys.list_mounted_secrets_engines()["data"]:
        connected.sys.disable_secrets_engine(MOUNT)  # the OpenBao server is shared
    connected.sys.enable_secrets_engine("ssh", path=MOUNT)
    yield connected


def certificate(line: str) -> SSHCertificate:
    cert = serialization.load_ssh_public_identity(line.encode())
    assert isinstance(cert, SSHCertificate)
    cert.verify_cert_signature()
    return cert


def test_ca_roles_and_signing(client: hvac.Client) -> None:
    ssh = client.secrets.ssh
    with pytest.raises(InvalidRequest, match="no default issuer currently configured"):
        ssh.read_public_key(mount_point=MOUNT)
    ca = ssh.submit_ca_information(key_type="ssh-ed25519", mount_point=MOUNT)["data"]
    assert sorted(ca) == ["issuer_id", "issuer_name", "public_key"]
    assert ssh.read_public_key(mount_point=MOUNT)["data"] == ca
    ssh.create_role("web", key_type="ca", allow_user_certificates=True,
                    allowed_users="alice,bob", default_user="alice", ttl="1h",
                    default_extensions={"permit-pty": ""}, mount_point=MOUNT)
    role = ssh.read_role("web", mount_point=MOUNT)["data"]
    assert (role["ttl"], role["issuer_ref"], role["not_before_duration"]) == (3600, "default", 30)
    assert role["default_extensions"] == {"permit-pty": ""}
    assert ssh.list_roles(mount_point=MOUNT)["data"]["key_info"] == {
        "web": {"key_type": "ca", "issuer_ref": "default"}}

    signed = ssh.sign_ssh_key("web", public_key=USER_KEY, valid_principals="bob",
                              mount_point=MOUNT)["data"]
    assert sorted(signed) == ["issuer_id", "serial_number", "signed_key"]
    cert = certificate(signed["signed_key"])
    assert (cert.type, cert.valid_principals) == (SSHCertificateType.USER, [b"bob"])
    assert cert.extensions == {b"permit-pty": b""}
    # hvac always sends ttl (""): a requested 0, so the mount's default, not the role's.
    assert cert.valid_before - cert.valid_after == 2764800 + 30
    assert cert.signature_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    ).decode() + "\n" == ca["public_key"]
    with pytest.raises(InvalidRequest, match="carol is not a valid value for valid_principals"):
        ssh.sign_ssh_key("web", public_key=USER_KEY, valid_principals="carol",
                         mount_point=MOUNT)

    issued = client.write_data(f"{MOUNT}/issue/web", data={"key_type": "ed25519"})["data"]
    assert issued["private_key_type"] == "ed25519"
    assert certificate(issued["signed_key"]).valid_principals == [b"alice"]

    # Without the default issuer, signing stops; the roles stay.
    client.adapter.delete(f"/v1/{MOUNT}/config/ca")
    with pytest.raises(InvalidRequest, match="no default issuer currently configured"):
        ssh.sign_ssh_key("web", public_key=USER_KEY, valid_principals="alice",
                         mount_point=MOUNT)
    # hvac always sends valid_principals: "" asks for none, which the role refuses.
    with pytest.raises(InvalidRequest, match="refusing to issue unsafe, globally-valid"):
        ssh.sign_ssh_key("web", public_key=USER_KEY, mount_point=MOUNT)
    ssh.delete_role("web", mount_point=MOUNT)
    assert client.adapter.get(f"/v1/{MOUNT}/public_key", raise_exception=False).status_code \
        == 400
