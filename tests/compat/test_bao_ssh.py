"""`bao ssh -mode=ca` and `bao write .../sign/...` logging in to a real sshd, against
`lambdavault server -dev` and a real `bao server -dev` alike (tests/sshd_support.py).

The CLI finds the server through VAULT_ADDR/VAULT_TOKEN, as a Vault user's shell has
them; `bao ssh` signs the key, writes the certificate to a temporary file and runs the
machine's `ssh` with it.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import (
    SSHCertificate,
    load_ssh_public_identity,
)

from tests import sshd_support
from tests.compat.conftest import BAO, ROOT_TOKEN, Server
from tests.sshd_support import (
    LOGIN_USER,
    Sshd,
    client_env,
    host_public_key,
    new_key,
    running_sshd,
    save_certificate,
)

pytestmark = pytest.mark.compat

sshd = sshd_support.sshd

HOST_DOMAIN = "lambdavault.test"
HOST_NAME = f"sshd.{HOST_DOMAIN}"
# What `bao ssh -mode=ca` asks to have in every certificate (internal/command/ssh.go).
BAO_SSH_EXTENSIONS = ("permit-X11-forwarding", "permit-agent-forwarding",
                      "permit-port-forwarding", "permit-pty", "permit-user-rc")  # fmt: skip


@pytest.fixture(params=["lambdavault", "openbao"])
def server(request: pytest.FixtureRequest) -> Server:
    chosen: Server = request.getfixturevalue(
        "module_dev_server" if request.param == "lambdavault" else "openbao_dev")
    return chosen


def bao(server: Server, home: Path, *args: str, token: str = ROOT_TOKEN,
        ) -> subprocess.CompletedProcess[str]:  # fmt: skip
    """The real CLI with VAULT_ADDR and VAULT_TOKEN set, HOME at ``home``, no agent."""
    env = {**client_env(home), "VAULT_ADDR": server.address, "VAULT_TOKEN": token}
    return subprocess.run([str(BAO), *args], env=env, capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL, check=False)  # fmt: skip


def ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, done
    return done.stdout


def ca_mount(server: Server, home: Path, mount: str = "") -> tuple[str, str]:
    """A new ssh mount (``mount``, else a new name) with a generated ed25519 CA, and a
    role "user" fit for `bao ssh` (the login user, the extensions it asks for): (mount
    path, CA public key)."""
    mount = mount or f"ssh-{uuid.uuid4().hex[:8]}"
    ok(bao(server, home, "secrets", "enable", f"-path={mount}", "ssh"))
    ca_key = ok(bao(server, home, "write", "-field=public_key", f"{mount}/config/ca",
                    "generate_signing_key=true", "key_type=ssh-ed25519"))  # fmt: skip
    role = home / f"{mount}-role.json"
    role.write_text(json.dumps({
        "key_type": "ca", "allow_user_certificates": True, "allowed_users": LOGIN_USER,
        "allowed_extensions": ",".join(BAO_SSH_EXTENSIONS),
        "default_extensions": {"permit-pty": ""}, "ttl": "5m",
    }))  # fmt: skip
    ok(bao(server, home, "write", f"{mount}/roles/user", f"@{role}"))
    return mount, ca_key


def bao_ssh(server: Server, home: Path, sshd: Sshd, mount: str, identity: Path,
            *options: str, ssh_options: tuple[str, ...] = (), token: str = ROOT_TOKEN,
            ) -> subprocess.CompletedProcess[str]:  # fmt: skip
    """`bao ssh -mode=ca` as the login user, running `echo ok`: ``options`` are bao's,
    ``ssh_options`` go to ssh (after the destination: bao stops reading flags there)."""
    return bao(
        server, home, "ssh", "-mode=ca", "-role=user", f"-mount-point={mount}",
        f"-public-key-path={identity}.pub", f"-private-key-path={identity}", *options,
        f"{LOGIN_USER}@127.0.0.1", "-p", str(sshd.port), "-o", "BatchMode=yes",
        "-o", "IdentitiesOnly=yes", "-o", "GlobalKnownHostsFile=/dev/null", *ssh_options,
        "echo", "ok", token=token,
    )  # fmt: skip


UNCHECKED = ("-strict-host-key-checking=no", "-user-known-hosts-file=/dev/null")


def test_bao_write_signs_a_key_that_logs_in(server: Server, sshd: Sshd, tmp_path: Path):
    mount, ca_key = ca_mount(server, tmp_path)
    sshd.trust(ca_key)
    identity = new_key(tmp_path)
    signed = ok(bao(server, tmp_path, "write", "-field=signed_key", f"{mount}/sign/user",
                    f"public_key=@{identity}.pub", f"valid_principals={LOGIN_USER}"))  # fmt: skip
    save_certificate(identity, signed)
    sshd.assert_logs_in(identity)


def test_bao_ssh_logs_in_and_runs_a_command(server: Server, sshd: Sshd, tmp_path: Path):
    mount, ca_key = ca_mount(server, tmp_path)
    sshd.trust(ca_key)
    done = bao_ssh(server, tmp_path, sshd, mount, new_key(tmp_path), *UNCHECKED)
    assert (done.returncode, done.stdout) == (0, "ok\n"), (done, sshd.log_text())


def test_bao_ssh_needs_only_update_on_sign(server: Server, sshd: Sshd, tmp_path: Path):
    """A user's token, not root: `update` on sign/<role> is enough (a path without an
    existence check is always an update), `create` alone is not."""
    mount, ca_key = ca_mount(server, tmp_path)
    sshd.trust(ca_key)
    tokens = {}
    for capability in ("update", "create"):
        policy = tmp_path / f"{capability}.hcl"
        policy.write_text(f'path "{mount}/sign/user" {{ capabilities = ["{capability}"] }}\n')
        ok(bao(server, tmp_path, "policy", "write", f"{mount}-{capability}", str(policy)))
        tokens[capability] = ok(bao(server, tmp_path, "token", "create", "-field=token",
                                    f"-policy={mount}-{capability}")).strip()  # fmt: skip
    identity = new_key(tmp_path)
    done = bao_ssh(server, tmp_path, sshd, mount, identity, *UNCHECKED, token=tokens["update"])
    assert (done.returncode, done.stdout) == (0, "ok\n"), done
    done = bao_ssh(server, tmp_path, sshd, mount, identity, *UNCHECKED, token=tokens["create"])
    assert done.returncode == 2 and "Code: 403" in done.stderr, done
    assert "* permission denied" in done.stderr


def test_bao_ssh_uses_the_mount_at_ssh_by_default(server: Server, sshd: Sshd, tmp_path: Path):
    """No -mount-point: the CLI's default, "ssh/" (its client joins it to /sign/user
    as a clean path)."""
    _, ca_key = ca_mount(server, tmp_path, "ssh")
    try:
        sshd.trust(ca_key)
        identity = new_key(tmp_path)
        done = bao(server, tmp_path, "ssh", "-mode=ca", "-role=user",
                   f"-private-key-path={identity}", *UNCHECKED, f"{LOGIN_USER}@127.0.0.1",
                   "-p", str(sshd.port), "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
                   "echo", "ok")  # fmt: skip
        assert (done.returncode, done.stdout) == (0, "ok\n"), done
    finally:
        ok(bao(server, tmp_path, "secrets", "disable", "ssh"))  # the next test's "ssh" is new


def test_bao_ssh_no_exec_shows_the_certificate_it_would_use(server: Server, tmp_path: Path):
    """The principal is the user of user@host; the extensions are the five it asks for."""
    mount, _ = ca_mount(server, tmp_path)
    identity = new_key(tmp_path)
    signed = ok(bao(server, tmp_path, "ssh", "-mode=ca", "-role=user", f"-mount-point={mount}",
                    f"-private-key-path={identity}", "-no-exec", "-field=signed_key",
                    f"{LOGIN_USER}@127.0.0.1"))  # fmt: skip
    certificate = load_ssh_public_identity(signed.encode())
    assert isinstance(certificate, SSHCertificate)
    assert certificate.valid_principals == [LOGIN_USER.encode()]
    assert certificate.extensions == {name.encode(): b"" for name in BAO_SSH_EXTENSIONS}


def test_bao_ssh_checks_the_host_certificate_against_the_mounts_ca(server: Server,
                                                                  tmp_path: Path):
    """-host-key-mount-point: the known_hosts bao writes holds only `@cert-authority` for
    that mount's CA, and host key checking is strict."""
    mount, ca_key = ca_mount(server, tmp_path)
    other, _ = ca_mount(server, tmp_path)
    ok(bao(server, tmp_path, "write", f"{mount}/roles/host", "key_type=ca",
           "allow_host_certificates=true", f"allowed_domains={HOST_DOMAIN}",
           "allow_subdomains=true"))  # fmt: skip
    home = tmp_path / "sshd"
    home.mkdir()
    (tmp_path / "host.pub").write_text(host_public_key(home))
    host_certificate = ok(bao(server, tmp_path, "write", "-field=signed_key",
                              f"{mount}/sign/host", f"public_key=@{tmp_path / 'host.pub'}",
                              "cert_type=host", f"valid_principals={HOST_NAME}"))  # fmt: skip
    identity = new_key(tmp_path)
    alias = ("-o", f"HostKeyAlias={HOST_NAME}")
    with running_sshd(home, host_certificate) as server_sshd:
        server_sshd.trust(ca_key)
        done = bao_ssh(server, tmp_path, server_sshd, mount, identity,
                       f"-host-key-mount-point={mount}", f"-host-key-hostnames=*.{HOST_DOMAIN}",
                       ssh_options=alias)  # fmt: skip
        assert (done.returncode, done.stdout) == (0, "ok\n"), (done, server_sshd.log_text())
        done = bao_ssh(server, tmp_path, server_sshd, mount, identity,
                       f"-host-key-mount-point={other}", f"-host-key-hostnames=*.{HOST_DOMAIN}",
                       ssh_options=alias)  # fmt: skip
        assert done.returncode == 255 and done.stdout == "", done
        assert "Host key verification failed." in done.stderr


def test_refusals_read_the_same_as_openbao(module_dev_server: Server, openbao_dev: Server,
                                           sshd: Sshd, tmp_path: Path):
    """A principal the role does not allow: the same error from both CLIs, at signing;
    a certificate for another CA's mount: sshd's refusal, through `bao ssh`."""
    said = []
    for server in (module_dev_server, openbao_dev):
        home = tmp_path / server.address.rsplit(":", 1)[1]
        home.mkdir()
        mount, _ = ca_mount(server, home)
        identity = new_key(home)
        refused = bao_ssh(server, home, sshd, mount, identity, *UNCHECKED,
                          "-valid-principals=mallory")  # fmt: skip
        written = bao(server, home, "write", f"{mount}/sign/user",
                      f"public_key=@{identity}.pub", "valid_principals=mallory")  # fmt: skip
        sshd.trust()  # no CA at all
        untrusted = bao_ssh(server, home, sshd, mount, identity, *UNCHECKED)
        said.append([
            (done.returncode, done.stdout, done.stderr.replace(server.address, "ADDR")
             .replace(str(home), "HOME").replace(mount, "MOUNT"))
            for done in (refused, written)
        ] + [(untrusted.returncode, untrusted.stdout)])  # fmt: skip
    assert said[0] == said[1]
    (refused_code, _, refused_text), (written_code, _, written_text), untrusted = said[0]
    assert refused_code == 2 and "* mallory is not a valid value for valid_principals" in (
        refused_text)
    assert written_code == 2 and "* mallory is not a valid value for valid_principals" in (
        written_text)
    assert untrusted == (255, "")
