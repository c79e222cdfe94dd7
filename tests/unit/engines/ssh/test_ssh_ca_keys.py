"""CA-mode helpers of the ssh engine without a server: key generation and parsing as
OpenBao's Go code words its results, certificates re-signed with the role's RSA hash,
and the role-field conversions Go's decoders make."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import SSHCertificate

from chalicelib.core.errors import BadRequest
from chalicelib.engines.ssh import ca, certificates
from chalicelib.engines.ssh.role import go_text, key_lengths

USER_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJpWc2t2yj5s9NqGfI+lrhvO47hT74syrPNddSyYDc9U"


@pytest.mark.parametrize(("text", "message"), [
    ("abc", "illegal base64 data at input byte 0"),
    ("abcde", "illegal base64 data at input byte 4"),
    ("ab!d", "illegal base64 data at input byte 2"),
    ("ssh-ed25519 AAAA", "ssh: short read"),
    ("ssh-foo " + base64.b64encode(b"\x00\x00\x00\x07ssh-foo").decode(),
     "ssh: unknown key algorithm: ssh-foo"),
])
def test_public_keys_that_do_not_parse(text: str, message: str):
    with pytest.raises(ca.CAError) as caught:
        ca.parse_public_key(text)
    assert caught.value.message == message


def test_a_public_key_parses_bare_with_a_comment_or_a_line_break():
    blob = base64.b64decode(USER_KEY.split()[1])
    for text in (USER_KEY, USER_KEY.split()[1], USER_KEY + " me@host", USER_KEY + "\n"):
        key_type, parsed, key = ca.parse_public_key(text)
        assert (key_type, parsed) == ("ssh-ed25519", blob)
        assert isinstance(key, ed25519.Ed25519PublicKey)


@pytest.mark.parametrize(("key_type", "bits", "kind", "size", "header"), [
    ("rsa", 2048, rsa.RSAPrivateKey, 2048, "RSA PRIVATE KEY"),
    ("ec", 0, ec.EllipticCurvePrivateKey, 256, "EC PRIVATE KEY"),
    ("ecdsa-sha2-nistp521", 0, ec.EllipticCurvePrivateKey, 521, "EC PRIVATE KEY"),
    ("ed25519", 0, ed25519.Ed25519PrivateKey, 256, "OPENSSH PRIVATE KEY"),
])
def test_generated_pairs_load_back(key_type: str, bits: int, kind: type, size: int,
                                   header: str):
    public, private = ca.generate_key_pair(key_type, bits)
    assert private.startswith(f"-----BEGIN {header}-----")
    key = ca.load_private_key(private)
    assert isinstance(key, kind)
    assert getattr(key, "key_size", getattr(getattr(key, "curve", None), "key_size", 256)) \
        == size
    assert ca.authorized_key(key.public_key()) == public


def test_key_material_keeps_what_it_was_given_and_never_echoes_it():
    public, private = ca.generate_key_pair("ed25519", 0)
    assert ca.key_material(public, private, None, "ssh-rsa", 0) == (public, private, False)
    with pytest.raises(ca.CAError) as caught:
        ca.key_material("x", private, False, "ssh-rsa", 0)
    assert private not in caught.value.message and not caught.value.internal
    with pytest.raises(ca.CAError) as caught:
        ca.key_material("", "", None, "dsa", 0)
    assert caught.value.internal


def _certificate(ca_key: ca.PrivateKey, signer: str = "default") -> SSHCertificate:
    public = serialization.load_ssh_public_key(USER_KEY.encode())
    assert isinstance(public, ed25519.Ed25519PublicKey)
    line, serial = certificates.sign(certificates.CertificateRequest(
        public_key=public, key_id="k", principals=["a"], cert_type=certificates.USER_CERT,
        ttl=60, not_before=30, algorithm_signer=signer), ca_key)
    cert = serialization.load_ssh_public_identity(line.encode())
    assert isinstance(cert, SSHCertificate) and cert.serial == serial
    return cert


@pytest.mark.parametrize(("signer", "name"), [
    ("default", b"rsa-sha2-256"), ("rsa-sha2-256", b"rsa-sha2-256"),
    ("rsa-sha2-512", b"rsa-sha2-512"), ("ssh-rsa", b"ssh-rsa"),
])
def test_rsa_certificates_carry_the_requested_signature(signer: str, name: bytes):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = _certificate(key, signer)
    cert.verify_cert_signature()
    blob = base64.b64decode(cert.public_bytes().split()[1])
    # The last string is string(algorithm) + string(a 256-byte signature).
    signature = blob[-(4 + len(name) + 4 + 256):]
    assert signature[:4 + len(name)] == len(name).to_bytes(4, "big") + name
    assert cert.valid_before - cert.valid_after == 90


def test_other_cas_refuse_an_rsa_algorithm():
    with pytest.raises(certificates.SigningError, match='for key format "ecdsa-sha2-nistp384"'):
        _certificate(ec.generate_private_key(ec.SECP384R1()), "rsa-sha2-512")
    _certificate(ed25519.Ed25519PrivateKey.generate()).verify_cert_signature()


@pytest.mark.parametrize(("allowed", "key", "message"), [
    ({"rsa": [2048]}, "ed25519", "key of type ed25519 is not allowed"),
    ({"ssh-rsa": [4096]}, "rsa", "key is of an invalid size: 2048"),
    ({"ec": [384]}, "ec", "key is of an invalid size: 256"),
    ({"rsa": None}, "rsa", "key is of an invalid size: 2048"),
    ({"rsa": [2048]}, "rsa", ""),
    ({"ecdsa-sha2-nistp256": [256]}, "ec", ""),
    ({"ed25519": []}, "ed25519", "key is of an invalid size: 0"),
    ({"ssh-ed25519": [7]}, "ed25519", ""),
])
def test_user_key_lengths(allowed: dict[str, Any], key: str, message: str):
    private: Any = {"rsa": lambda: rsa.generate_private_key(65537, 2048),
                    "ec": lambda: ec.generate_private_key(ec.SECP256R1()),
                    "ed25519": ed25519.Ed25519PrivateKey.generate}[key]()
    if not message:
        certificates.check_key_lengths(private.public_key(), allowed)
        return
    with pytest.raises(ValueError, match=message):
        certificates.check_key_lengths(private.public_key(), allowed)


@pytest.mark.parametrize(("value", "text"), [
    ("s", "s"), (True, "true"), (None, "<nil>"), (3, "3"), (2.5, "2.5"),
    ([1, "a"], "[1 a]"), ({"b": 1, "a": [2]}, "map[a:[2] b:1]"),
])
def test_map_values_print_as_gos_fmt(value: Any, text: str):
    assert go_text(value) == text


def test_key_lengths_decode_as_gos_parseutil():
    assert key_lengths({"a": "1, 2,", "b": [" 3", ""], "c": False, "d": "", "e": None}) == {
        "a": [1, 2], "b": [3], "c": [0], "d": [0], "e": None}
    with pytest.raises(BadRequest, match=r'parsing "\+x": invalid syntax'):
        key_lengths({"a": "+x"})
