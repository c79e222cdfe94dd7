"""The ssh engine's CA mode through hvac's ``client.secrets.ssh``, its certificates
checked by a real sshd (tests/sshd_support.py), against `lambdavault server -dev` and a
real `bao server -dev` alike.

hvac sends every parameter it knows, unset ones as "" or null (``allow_user_certificates``
as "" when not given, ``critical_options`` as null ...): the server must read those as
absent, as Vault does.
"""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import hvac
import pytest
from hvac.exceptions import InvalidRequest

from tests import sshd_support
from tests.compat.conftest import ROOT_TOKEN, Server
from tests.sshd_support import LOGIN_USER, Sshd, new_key, public_key, save_certificate

pytestmark = pytest.mark.compat

sshd = sshd_support.sshd


@pytest.fixture(params=["lambdavault", "openbao"])
def client(request: pytest.FixtureRequest) -> hvac.Client:
    server: Server = request.getfixturevalue(
        "module_dev_server" if request.param == "lambdavault" else "openbao_dev")
    return hvac.Client(url=server.address, token=ROOT_TOKEN)


@pytest.fixture
def mount(client: hvac.Client) -> str:
    path = f"ssh-{uuid.uuid4().hex[:8]}"
    client.sys.enable_secrets_engine("ssh", path=path)
    return path


def test_a_ca_key_made_by_ssh_keygen_signs_what_sshd_accepts(client: hvac.Client, mount: str,
                                                             sshd: Sshd, tmp_path: Path):
    """config/ca with the operator's own key pair (OpenSSH's private key format)."""
    ssh = client.secrets.ssh
    ca = tmp_path / "ca"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(ca)], check=True,
                   capture_output=True, timeout=30)  # fmt: skip
    ssh.submit_ca_information(private_key=ca.read_text(), public_key=public_key(ca),
                              generate_signing_key=False, mount_point=mount)  # fmt: skip
    ca_key = ssh.read_public_key(mount_point=mount)["data"]["public_key"]
    assert ca_key.split()[:2] == public_key(ca).split()[:2]
    sshd.trust(public_key(ca))  # ssh-keygen's file, not the server's answer
    ssh.create_role("user", key_type="ca", allow_user_certificates=True,
                    allowed_users=LOGIN_USER, default_extensions={"permit-pty": ""},
                    ttl="5m", mount_point=mount)  # fmt: skip
    role = ssh.read_role("user", mount_point=mount)["data"]
    assert (role["key_type"], role["allowed_users"], role["ttl"]) == ("ca", LOGIN_USER, 300)
    assert ssh.list_roles(mount_point=mount)["data"]["keys"] == ["user"]
    identity = new_key(tmp_path)
    signed = ssh.sign_ssh_key("user", public_key(identity), valid_principals=LOGIN_USER,
                              mount_point=mount)["data"]["signed_key"]  # fmt: skip
    save_certificate(identity, signed)
    sshd.assert_logs_in(identity)
    with pytest.raises(InvalidRequest, match="mallory is not a valid value for valid_principals"):
        ssh.sign_ssh_key("user", public_key(identity), valid_principals="mallory",
                         mount_point=mount)  # fmt: skip


def test_hvac_defaults_leave_user_certificates_off(client: hvac.Client, mount: str,
                                                  tmp_path: Path):
    """create_role's allow_user_certificates defaults to "": off, as in Vault, so a CA role
    needs one of the two kinds turned on, and a host-only role signs no user key."""
    ssh = client.secrets.ssh
    ssh.submit_ca_information(key_type="ssh-ed25519", mount_point=mount)
    with pytest.raises(InvalidRequest, match="Either 'allow_user_certificates' or "
                       "'allow_host_certificates' must be set to 'true'"):  # fmt: skip
        ssh.create_role("plain", key_type="ca", allowed_users=LOGIN_USER, mount_point=mount)
    ssh.create_role("hosts", key_type="ca", allowed_users=LOGIN_USER,
                    allow_host_certificates=True, mount_point=mount)  # fmt: skip
    assert ssh.read_role("hosts", mount_point=mount)["data"]["allow_user_certificates"] is False
    with pytest.raises(InvalidRequest, match="cert_type 'user' is not allowed by role"):
        ssh.sign_ssh_key("hosts", public_key(new_key(tmp_path)), valid_principals=LOGIN_USER,
                         mount_point=mount)  # fmt: skip
