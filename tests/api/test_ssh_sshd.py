"""The ssh engine's CA mode proven on a real OpenSSH server (tests/sshd_support.py).

Each test runs twice, against us (the app behind the dev HTTP adapter) and against a real
`bao server -dev`: the same requests, and sshd must let in or turn away the same
certificates. What a certificate is worth is sshd's verdict, not our own reading of it:
a signed user key logs in, a certificate for another principal, an expired one or one
from an untrusted CA does not; a signed host key is trusted through `@cert-authority`.
"""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.serialization import (
    SSHCertificate,
    SSHCertificateType,
    load_ssh_public_identity,
)

from tests import sshd_support
from tests.compat.conftest import Server, start_openbao, stop_server
from tests.sshd_support import (
    LOGIN_USER,
    Sshd,
    certificate_path,
    fingerprint,
    new_key,
    public_key,
    running_sshd,
    save_certificate,
)
from tests.support import ROOT_TOKEN, VaultHTTP

sshd = sshd_support.sshd

HOST_DOMAIN = "lambdavault.test"
HOST_NAME = f"sshd.{HOST_DOMAIN}"


@pytest.fixture(scope="module")
def openbao(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A real OpenBao dev server for the module: the reference for every answer here."""
    server = start_openbao(tmp_path_factory.mktemp("openbao-ssh"))
    try:
        yield server
    finally:
        stop_server(server)


@pytest.fixture(params=["lambdavault", "openbao"])
def api(request: pytest.FixtureRequest) -> VaultHTTP:
    """A root client of our server or of OpenBao's (its mounts live for the module, so
    every test mounts its own)."""
    if request.param == "lambdavault":
        ours: VaultHTTP = request.getfixturevalue("vault")
        return ours
    server: Server = request.getfixturevalue("openbao")
    return VaultHTTP(server.address, ROOT_TOKEN)


def ssh_mount(api: VaultHTTP) -> str:
    """A new ssh mount, without a CA yet: its path."""
    mount = f"ssh-{uuid.uuid4().hex[:8]}"
    reply = api.post(f"sys/mounts/{mount}", {"type": "ssh"})
    assert reply.status_code == 204, reply.text
    return mount


def ca_mount(api: VaultHTTP, key_type: str | None = "ssh-ed25519",
             **config: Any) -> tuple[str, str]:  # fmt: skip
    """A new ssh mount with a CA key pair it generated: (mount path, CA public key).
    ed25519 (instant to generate) unless ``key_type`` is another or None (the default)."""
    mount = ssh_mount(api)
    body: dict[str, Any] = {"generate_signing_key": True, **config}
    if key_type:
        body["key_type"] = key_type
    reply = api.post(f"{mount}/config/ca", body)
    assert reply.status_code == 200, reply.text
    key: str = reply.json()["data"]["public_key"]
    return mount, key


def user_role(api: VaultHTTP, mount: str, name: str = "user", **overrides: Any) -> None:
    role = {
        "key_type": "ca", "allow_user_certificates": True, "allowed_users": LOGIN_USER,
        "default_extensions": {"permit-pty": ""}, "ttl": "5m", **overrides,
    }  # fmt: skip
    reply = api.post(f"{mount}/roles/{name}", role)
    assert reply.status_code in (200, 204), reply.text


def host_role(api: VaultHTTP, mount: str, name: str = "host") -> None:
    role = {
        "key_type": "ca", "allow_host_certificates": True, "allowed_domains": HOST_DOMAIN,
        "allow_subdomains": True, "ttl": "1h",
    }  # fmt: skip
    reply = api.post(f"{mount}/roles/{name}", role)
    assert reply.status_code in (200, 204), reply.text


def sign(api: VaultHTTP, mount: str, role: str, key: str, **body: Any) -> str:
    """``<mount>/sign/<role>`` for the public key ``key``: the signed certificate."""
    reply = api.post(f"{mount}/sign/{role}", {"public_key": key, **body})
    assert reply.status_code == 200, reply.text
    data = reply.json()["data"]
    assert data["serial_number"] and data["signed_key"].startswith(
        key.split()[0] + "-cert-v01@openssh.com "), data
    signed: str = data["signed_key"]
    return signed


def parsed(signed_key: str) -> SSHCertificate:
    certificate = load_ssh_public_identity(signed_key.strip().encode())
    assert isinstance(certificate, SSHCertificate), certificate
    return certificate


def signed_user_key(api: VaultHTTP, mount: str, directory: Path, role: str = "user",
                    principals: str = LOGIN_USER, kind: tuple[str, ...] = ("ed25519",),
                    **body: Any) -> Path:  # fmt: skip
    """A fresh key pair in ``directory`` and its certificate from ``<mount>/sign/<role>``
    (saved beside it, where ssh looks): the private key's path."""
    identity = new_key(directory, f"id-{uuid.uuid4().hex[:6]}", kind)
    signed = sign(api, mount, role, public_key(identity), valid_principals=principals, **body)
    save_certificate(identity, signed)
    return identity


def test_a_key_signed_by_the_default_ca_logs_in(api: VaultHTTP, sshd: Sshd, tmp_path: Path):
    """The CA key's default type (RSA, signing with SHA-2: OpenSSH 9 refuses ssh-rsa
    SHA-1 signatures) and its public half from the unauthenticated public_key."""
    mount, ca_key = ca_mount(api, key_type=None)
    assert ca_key.startswith("ssh-rsa ")
    reply = api.get(f"{mount}/public_key", token="")
    assert (reply.status_code, reply.text) == (200, ca_key)
    sshd.trust(reply.text)
    user_role(api, mount)
    identity = signed_user_key(api, mount, tmp_path)
    sshd.assert_logs_in(identity)
    certificate = parsed(certificate_path(identity).read_text())
    assert certificate.type == SSHCertificateType.USER
    assert certificate.valid_principals == [LOGIN_USER.encode()]
    assert certificate.extensions == {b"permit-pty": b""}


# (CA key type given to config/ca, user key type for ssh-keygen): each CA signature
# algorithm once, and each user key type once.
KEY_TYPES = [
    ("ssh-ed25519", ("rsa", "2048")),
    ("ecdsa-sha2-nistp256", ("ecdsa", "256")),
    ("ecdsa-sha2-nistp521", ("ed25519",)),
    ("ec", ("ecdsa", "384")),
]


@pytest.mark.parametrize(("ca_type", "user_kind"), KEY_TYPES,
                         ids=[f"{ca}-ca-{kind[0]}-user" for ca, kind in KEY_TYPES])
def test_every_ca_key_type_signs_what_sshd_accepts(api: VaultHTTP, sshd: Sshd, tmp_path: Path,
                                                   ca_type: str, user_kind: tuple[str, ...]):
    mount, ca_key = ca_mount(api, ca_type)
    sshd.trust(ca_key)
    user_role(api, mount)
    sshd.assert_logs_in(signed_user_key(api, mount, tmp_path, kind=user_kind))


# ssh-keygen's arguments for an operator's own CA key, in each private key format it writes.
IMPORTED = {
    "rsa-pkcs1": ("-t", "rsa", "-b", "2048", "-m", "PEM"),
    "rsa-pkcs8": ("-t", "rsa", "-b", "2048", "-m", "PKCS8"),
    "ecdsa-sec1": ("-t", "ecdsa", "-b", "256", "-m", "PEM"),
    "ecdsa-openssh": ("-t", "ecdsa", "-b", "384"),
    "ed25519-openssh": ("-t", "ed25519"),
}


def operator_ca(directory: Path, name: str) -> Path:
    path = directory / name
    subprocess.run(["ssh-keygen", "-q", *IMPORTED[name], "-N", "", "-f", str(path)],
                   check=True, capture_output=True, timeout=30)  # fmt: skip
    return path


@pytest.mark.parametrize("ca_format", list(IMPORTED))
def test_an_imported_ca_key_signs_what_sshd_accepts(api: VaultHTTP, sshd: Sshd, tmp_path: Path,
                                                    ca_format: str):
    """config/ca with the operator's key pair from ssh-keygen; sshd trusts ssh-keygen's
    public key file, not anything the server says."""
    mount = ssh_mount(api)
    ca = operator_ca(tmp_path, ca_format)
    reply = api.post(f"{mount}/config/ca", {"private_key": ca.read_text(),
                                            "public_key": public_key(ca)})  # fmt: skip
    assert reply.status_code == 200, reply.text
    sshd.trust(public_key(ca))
    user_role(api, mount)
    sshd.assert_logs_in(signed_user_key(api, mount, tmp_path))


def test_a_mismatched_imported_pair_is_kept_as_given(api: VaultHTTP, sshd: Sshd,
                                                    tmp_path: Path):
    """config/ca does not check that the two halves belong together (nor does OpenBao):
    public_key then serves a key that did not sign, and sshd trusting it refuses."""
    mount = ssh_mount(api)
    signer, served = operator_ca(tmp_path, "ed25519-openssh"), operator_ca(tmp_path, "ecdsa-sec1")
    reply = api.post(f"{mount}/config/ca", {"private_key": signer.read_text(),
                                            "public_key": public_key(served)})  # fmt: skip
    assert reply.status_code == 200, reply.text
    assert api.get(f"{mount}/public_key").text == public_key(served)
    user_role(api, mount)
    identity = signed_user_key(api, mount, tmp_path)
    sshd.trust(public_key(served))
    sshd.assert_refused(identity, f"CA ED25519 {fingerprint(public_key(signer))}")
    sshd.trust(public_key(signer))
    sshd.assert_logs_in(identity)


@pytest.mark.parametrize(("signer", "accepted"), [
    ("default", True), ("rsa-sha2-512", True), ("ssh-rsa", False),
])
def test_sshd_takes_sha2_rsa_signatures_and_refuses_sha1(api: VaultHTTP, sshd: Sshd,
                                                        tmp_path: Path, signer: str,
                                                        accepted: bool):
    """A role's algorithm_signer for an RSA CA: OpenSSH 8.8+ no longer accepts a CA
    signature made with ssh-rsa (SHA-1); the engine signs what it is told to."""
    mount, ca_key = ca_mount(api, "ssh-rsa", key_bits=2048)
    sshd.trust(ca_key)
    user_role(api, mount, algorithm_signer=signer)
    identity = signed_user_key(api, mount, tmp_path)
    if accepted:
        sshd.assert_logs_in(identity)
    else:
        sshd.assert_refused(
            identity, "certificate signature algorithm ssh-rsa: signature algorithm not supported")


def test_an_issued_key_pair_logs_in(api: VaultHTTP, sshd: Sshd, tmp_path: Path):
    """issue/<role>: the engine makes the key pair too; its private key is OpenSSH's."""
    mount, ca_key = ca_mount(api)
    sshd.trust(ca_key)
    user_role(api, mount)
    for key_type, key_bits, certificate_type in (
        ("ed25519", 0, "ssh-ed25519"), ("rsa", 2048, "ssh-rsa"),
        ("ec", 384, "ecdsa-sha2-nistp384"),
    ):  # fmt: skip
        reply = api.post(f"{mount}/issue/user", {"key_type": key_type, "key_bits": key_bits,
                                                 "valid_principals": LOGIN_USER})  # fmt: skip
        assert reply.status_code == 200, reply.text
        data = reply.json()["data"]
        assert data["private_key_type"] == key_type
        assert data["signed_key"].startswith(f"{certificate_type}-cert-v01@openssh.com ")
        identity = tmp_path / f"issued-{key_type}"
        identity.write_text(data["private_key"])
        identity.chmod(0o600)  # ssh ignores a private key others can read
        save_certificate(identity, data["signed_key"])
        sshd.assert_logs_in(identity)


def test_sshd_enforces_the_certificates_critical_options(api: VaultHTTP, sshd: Sshd,
                                                        tmp_path: Path):
    mount, ca_key = ca_mount(api)
    sshd.trust(ca_key)
    user_role(api, mount, allowed_critical_options="force-command,source-address")
    forced = signed_user_key(api, mount, tmp_path,
                             critical_options={"force-command": "echo forced"})  # fmt: skip
    done = sshd.login(forced)
    assert (done.returncode, done.stdout) == (0, "forced\n"), (done, sshd.log_text())
    elsewhere = signed_user_key(api, mount, tmp_path,
                                critical_options={"source-address": "192.0.2.0/24"})  # fmt: skip
    sshd.assert_refused(elsewhere, "not from a permitted source address")
    here = signed_user_key(api, mount, tmp_path,
                           critical_options={"source-address": "127.0.0.1/32,::1/128"})  # fmt: skip
    sshd.assert_logs_in(here)


def test_a_roles_issuer_is_the_ca_sshd_must_trust(api: VaultHTTP, sshd: Sshd, tmp_path: Path):
    """Several issuers in one mount: a role signs with its issuer_ref (the default issuer
    unless it names another), whose key is served without a token at
    issuer/<ref>/public_key; moving config/issuers' default moves the roles that follow it."""
    mount, _ = ca_mount(api)
    reply = api.post(f"{mount}/issuers/import/second",
                     {"generate_signing_key": True, "key_type": "ssh-ed25519"})  # fmt: skip
    assert reply.status_code == 200, reply.text
    reply = api.get(f"{mount}/issuer/second/public_key", token="")
    assert reply.status_code == 200, reply.text
    sshd.trust(reply.text)
    user_role(api, mount)
    user_role(api, mount, "pinned", issuer_ref="second")
    sshd.assert_logs_in(signed_user_key(api, mount, tmp_path, role="pinned"))
    sshd.assert_refused(signed_user_key(api, mount, tmp_path), "Failed publickey for lvssh")
    reply = api.post(f"{mount}/config/issuers", {"default": "second"})
    assert reply.status_code == 200, reply.text
    sshd.assert_logs_in(signed_user_key(api, mount, tmp_path))


def test_a_principal_outside_the_role_is_refused_at_signing(api: VaultHTTP, tmp_path: Path):
    mount, _ = ca_mount(api)
    user_role(api, mount)
    key = public_key(new_key(tmp_path))
    reply = api.post(f"{mount}/sign/user", {"public_key": key, "valid_principals": "mallory"})
    assert (reply.status_code, reply.json()) == (
        400, {"errors": ["mallory is not a valid value for valid_principals"]})
    reply = api.post(f"{mount}/sign/user", {"public_key": key})
    assert (reply.status_code, reply.json()) == (400, {"errors": [
        "refusing to issue unsafe, globally-valid certificate with no principals specified; "
        "set valid_principals or default_user"]})  # fmt: skip


def test_sshd_refuses_a_certificate_for_another_principal(api: VaultHTTP, sshd: Sshd,
                                                         tmp_path: Path):
    mount, ca_key = ca_mount(api)
    sshd.trust(ca_key)
    user_role(api, mount, allowed_users="*")
    sshd.assert_refused(signed_user_key(api, mount, tmp_path, principals="mallory"),
                        "Certificate invalid: name is not a listed principal")
    # The same role and CA, for the login user: in.
    sshd.assert_logs_in(signed_user_key(api, mount, tmp_path))


def test_sshd_refuses_a_certificate_without_principals(api: VaultHTTP, sshd: Sshd,
                                                      tmp_path: Path):
    """allowed_users="*" signs a key with no principals at all when none are asked for;
    sshd lets no such certificate in through TrustedUserCAKeys."""
    mount, ca_key = ca_mount(api)
    sshd.trust(ca_key)
    user_role(api, mount, allowed_users="*")
    identity = new_key(tmp_path)
    save_certificate(identity, sign(api, mount, "user", public_key(identity)))
    assert parsed(certificate_path(identity).read_text()).valid_principals == []
    sshd.assert_refused(identity, "Certificate lacks principal list")


def test_sshd_refuses_an_expired_certificate(api: VaultHTTP, sshd: Sshd, tmp_path: Path):
    mount, ca_key = ca_mount(api)
    sshd.trust(ca_key)
    user_role(api, mount, not_before_duration="1s")
    identity = signed_user_key(api, mount, tmp_path, ttl="1s")
    certificate = parsed(certificate_path(identity).read_text())
    assert certificate.valid_before - certificate.valid_after == 2  # 1 s back, 1 s ahead
    # sshd counts whole seconds: from valid_before on, the certificate has expired.
    time.sleep(max(0.0, certificate.valid_before - time.time()) + 0.1)
    sshd.assert_refused(identity, "Certificate invalid: expired")


def test_sshd_refuses_a_certificate_from_another_ca(api: VaultHTTP, sshd: Sshd, tmp_path: Path):
    _, ca_key = ca_mount(api)
    other, other_key = ca_mount(api)
    user_role(api, other)
    identity = signed_user_key(api, other, tmp_path)
    sshd.trust(ca_key)
    said = sshd.assert_refused(identity, "Failed publickey for lvssh")
    assert f"-CERT {fingerprint(public_key(identity))} " in said
    assert f" CA ED25519 {fingerprint(other_key)}" in said
    # Trusting the other mount's CA as well lets the same certificate in.
    sshd.trust(ca_key, other_key)
    sshd.assert_logs_in(identity)


def test_a_signed_host_key_is_trusted_through_cert_authority(api: VaultHTTP, tmp_path: Path):
    mount, ca_key = ca_mount(api)
    _, other_key = ca_mount(api)
    host_role(api, mount)
    user_role(api, mount)
    home = tmp_path / "sshd"
    home.mkdir()
    host_key = sshd_support.host_public_key(home)
    reply = api.post(f"{mount}/sign/host", {"public_key": host_key, "cert_type": "host",
                                            "valid_principals": "evil.example"})  # fmt: skip
    assert (reply.status_code, reply.json()) == (
        400, {"errors": ["evil.example is not a valid value for valid_principals"]})
    host_certificate = sign(api, mount, "host", host_key, cert_type="host",
                            valid_principals=HOST_NAME)  # fmt: skip
    assert parsed(host_certificate).type == SSHCertificateType.HOST
    trusting_ours = tmp_path / "known_hosts"
    trusting_ours.write_text(f"@cert-authority *.{HOST_DOMAIN} {ca_key.strip()}\n")
    trusting_other = tmp_path / "known_hosts_other"
    trusting_other.write_text(f"@cert-authority *.{HOST_DOMAIN} {other_key.strip()}\n")
    identity = signed_user_key(api, mount, tmp_path)
    with running_sshd(home, host_certificate) as server:
        server.trust(ca_key)
        server.assert_logs_in(identity, known_hosts=trusting_ours, host_alias=HOST_NAME)
        server.assert_refused(identity, "Host key verification failed.",
                              known_hosts=trusting_other, host_alias=HOST_NAME)
        # Our CA, but a name the certificate was not signed for.
        server.assert_refused(identity, "Host key verification failed.",
                              known_hosts=trusting_ours, host_alias=f"www.{HOST_DOMAIN}")
