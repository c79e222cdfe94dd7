"""The ssh engine's CA over HTTP: config/ca (generate, import, read, delete) and the
unauthenticated public_key, with OpenBao 2.7.2's texts and statuses (each compared with
`bao server -dev`; tests/compat repeats the comparison live)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from tests.api.test_rabbitmq import table_dump
from tests.support import VaultHTTP


@pytest.fixture(scope="module", name="vault")
def module_cluster(module_vault: VaultHTTP) -> VaultHTTP:
    """One cluster for the module's tests (each mounts its engine afresh)."""
    return module_vault


# A user public key to sign (its private half is not needed).
USER_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJpWc2t2yj5s9NqGfI+lrhvO47hT74syrPNddSyYDc9U"

NO_CA = "no default issuer currently configured"


def errors(text: str) -> list[str]:
    """Go's multierror wording of a server error."""
    return ["1 error occurred:\n\t* " + text + "\n\n"]


@pytest.fixture(name="ssh")
def ssh_mount(vault: VaultHTTP) -> VaultHTTP:
    """The root client with the ssh engine mounted at ssh/ (other modules import this
    fixture by its function name), mounted afresh: the module's tests share a cluster."""
    vault.delete("sys/mounts/ssh")
    assert vault.post("sys/mounts/ssh", {"type": "ssh"}).status_code == 204
    return vault


def configure_ca(vault: VaultHTTP, **body: Any) -> dict[str, Any]:
    """config/ca written (a generated ssh-ed25519 key unless ``body`` says otherwise)."""
    reply = vault.post("ssh/config/ca", body or {"key_type": "ssh-ed25519"})
    assert reply.status_code == 200, reply.text
    return reply.json()["data"]


def key_pair(kind: str = "ed25519") -> tuple[str, str]:
    """(authorized-keys line, PEM private key) of a new key made here."""
    private: Any = {
        "ed25519": ed25519.Ed25519PrivateKey.generate,
        "rsa": lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048),
        "ec": lambda: ec.generate_private_key(ec.SECP256R1()),
    }[kind]()
    pem_format = (serialization.PrivateFormat.OpenSSH if kind == "ed25519"
                  else serialization.PrivateFormat.TraditionalOpenSSL)
    public = private.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                               serialization.PublicFormat.OpenSSH).decode()
    pem = private.private_bytes(serialization.Encoding.PEM, pem_format,
                                serialization.NoEncryption()).decode()
    return public, pem


def keygen_fingerprint(line: str, tmp_path: Path) -> str:
    path = tmp_path / "key.pub"
    path.write_text(line)
    done = subprocess.run(["ssh-keygen", "-l", "-f", str(path)], capture_output=True,
                          text=True, check=True)
    return done.stdout


@pytest.mark.parametrize(("body", "prefix", "size"), [
    ({}, "ssh-rsa ", 4096),
    ({"key_type": "rsa", "key_bits": 2048}, "ssh-rsa ", 2048),
    ({"key_type": "ssh-rsa", "key_bits": 3072}, "ssh-rsa ", 3072),
    ({"key_type": "ec"}, "ecdsa-sha2-nistp256 ", 256),
    ({"key_type": "ec", "key_bits": 384}, "ecdsa-sha2-nistp384 ", 384),
    ({"key_type": "ec", "key_bits": 521}, "ecdsa-sha2-nistp521 ", 521),
    ({"key_type": "ecdsa-sha2-nistp384"}, "ecdsa-sha2-nistp384 ", 384),
    ({"key_type": "ecdsa-sha2-nistp521", "key_bits": 256}, "ecdsa-sha2-nistp521 ", 521),
    ({"key_type": "ed25519"}, "ssh-ed25519 ", 256),
    ({"key_type": "ssh-ed25519", "generate_signing_key": True}, "ssh-ed25519 ", 256),
])
def test_generated_ca_keys_follow_key_type_and_key_bits(ssh: VaultHTTP, tmp_path: Path,
                                                        body: dict[str, Any], prefix: str,
                                                        size: int):
    data = configure_ca(ssh, **body) if body else ssh.post("ssh/config/ca").json()["data"]
    assert sorted(data) == ["issuer_id", "issuer_name", "public_key"]
    assert data["issuer_name"] == "" and len(data["issuer_id"]) == 36
    assert data["public_key"].startswith(prefix) and data["public_key"].endswith("\n")
    assert keygen_fingerprint(data["public_key"], tmp_path).startswith(f"{size} SHA256:")
    assert ssh.get("ssh/config/ca").json()["data"] == data


@pytest.mark.parametrize(("body", "status", "message"), [
    ({"key_type": "foo"}, 400, errors("unknown ssh key pair algorithm: foo")),
    ({"key_bits": 1024}, 400,
     errors("refusing to generate weak ssh-rsa key: 1024 bits < 2048 bits")),
    ({"key_type": "rsa", "key_bits": 2000}, 400,
     errors("refusing to generate weak rsa key: 2000 bits < 2048 bits")),
    ({"key_type": "ec", "key_bits": 100}, 400,
     errors("unknown ECDSA key pair algorithm and bits: ec / 100")),
    ({"generate_signing_key": False}, 400, ["missing public_key"]),
    ({"public_key": "x"}, 400, ["only one of public_key and private_key set; both must be "
                                "set to use, or both must be blank to auto-generate"]),
    ({"private_key": "x", "generate_signing_key": False}, 400, [
        "only one of public_key and private_key set; both must be set to use, or both "
        "must be blank to auto-generate"]),
    ({"generate_signing_key": True, "public_key": "x"}, 400, [
        "public_key and private_key must not be set when generate_signing_key is set to "
        "true"]),
    ({"public_key": "x", "private_key": "y"}, 400, [
        "could not parse public_key provided value: illegal base64 data at input byte 0"]),
    # Go's decoder stops at the quantum after padding (byte 4), as OpenBao answers.
    ({"public_key": "ssh-rsa QQ==QUJD", "private_key": "y"}, 400, [
        "could not parse public_key provided value: illegal base64 data at input byte 4"]),
    ({"public_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJpWc2t2yj5s9NqGfI+lrhvO47hT74syrPN"
                    "ddSyYDc9U", "private_key": "y"}, 400,
     ["could not parse private_key provided value: ssh: no key found"]),
])
def test_config_ca_refusals(ssh: VaultHTTP, body: dict[str, Any], status: int,
                            message: list[str]):
    reply = ssh.post("ssh/config/ca", body)
    assert (reply.status_code, reply.json()) == (status, {"errors": message})
    assert ssh.get("ssh/config/ca").json() == {"errors": [NO_CA]}


@pytest.mark.parametrize("kind", ["ed25519", "rsa", "ec"])
def test_an_imported_key_pair_is_kept_and_only_its_public_half_shown(ssh: VaultHTTP,
                                                                    kind: str):
    public, private = key_pair(kind)
    reply = ssh.post("ssh/config/ca", {"public_key": public, "private_key": private,
                                       "generate_signing_key": False})
    assert reply.status_code == 200, reply.text
    assert reply.json()["data"]["public_key"] == public
    assert reply.json()["warnings"] is None
    for path in ("ssh/config/ca", "ssh/public_key"):
        assert private not in ssh.get(path).text
    # The same public key again: the issuer already held, with OpenBao's warning.
    again = ssh.post("ssh/config/ca", {"public_key": public, "private_key": private})
    assert again.json()["data"] == reply.json()["data"]
    assert again.json()["warnings"] == [
        "An issuer with the provided public key already exists, returning the existing issuer"
    ]


def test_a_second_config_ca_replaces_the_default_and_delete_purges_all(ssh: VaultHTTP):
    first = configure_ca(ssh)
    second = configure_ca(ssh, key_type="ec")
    assert first["issuer_id"] != second["issuer_id"]
    assert ssh.get("ssh/config/ca").json()["data"] == second
    reply = ssh.delete("ssh/config/ca")
    assert reply.status_code == 200
    assert reply.json()["warnings"] == [
        "Deleted 2 issuers, including default issuer if configured."]
    assert reply.json()["data"] is None
    assert ssh.delete("ssh/config/ca").status_code == 204
    reply = ssh.get("ssh/config/ca")
    assert (reply.status_code, reply.json()) == (400, {"errors": [NO_CA]})


def test_public_key_is_a_bare_text_body_for_anyone(ssh: VaultHTTP):
    reply = ssh.get("ssh/public_key", token="")
    assert (reply.status_code, reply.json()) == (400, {"errors": [NO_CA]})
    data = configure_ca(ssh)
    reply = ssh.get("ssh/public_key", token="")
    assert reply.status_code == 200
    assert reply.headers["Content-Type"] == "text/plain"
    assert reply.text == data["public_key"]


def test_the_ca_private_key_never_leaves_the_barrier(ssh: VaultHTTP):
    public, private = key_pair("rsa")
    # A line from the middle of the PEM: secret material, not the format's header.
    secret = private.splitlines()[5]
    replies = [ssh.post("ssh/config/ca", {"public_key": public, "private_key": private})]
    replies += [ssh.get(path) for path in ("ssh/config/ca", "ssh/public_key")]
    assert all(secret not in reply.text for reply in replies)
    assert secret not in table_dump()
    # A refusal does not echo the key it was given either.
    reply = ssh.post("ssh/config/ca", {"public_key": "x", "private_key": private})
    assert reply.status_code == 400 and secret not in reply.text
