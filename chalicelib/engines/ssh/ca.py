"""The mount's CA key pairs (OpenBao's SSH "issuers") and the key handling they need.

Each key pair lives at ``config/issuer/<id>`` and ``config/issuers`` names the default
one, OpenBao's layout: `config/ca` writes a new default issuer, a role's issuer_ref
names one ("default", an id or a name). The private key is written through the
barrier only; no function here puts it in a message.

Errors are ``CAError`` with OpenBao's texts; ``internal`` marks the ones OpenBao
returns as a server error (500) in Go's multierror wording; path_config_ca.refusal
answers them as 400s with that wording.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

if TYPE_CHECKING:
    from chalicelib.storage.view import StorageView

ISSUER_PREFIX = "config/issuer/"
ISSUERS_CONFIG_KEY = "config/issuers"
DEFAULT_REF = "default"
UUID_LENGTH = 36
EXISTING_ISSUER_WARNING = (
    "An issuer with the provided public key already exists, returning the existing issuer"
)

PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey
PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey

_CURVES: dict[str, ec.EllipticCurve] = {
    "ecdsa-sha2-nistp256": ec.SECP256R1(),
    "ecdsa-sha2-nistp384": ec.SECP384R1(),
    "ecdsa-sha2-nistp521": ec.SECP521R1(),
}
_EC_BITS = {0: "ecdsa-sha2-nistp256", 256: "ecdsa-sha2-nistp256",
            384: "ecdsa-sha2-nistp384", 521: "ecdsa-sha2-nistp521"}
_BASE64 = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")


class CAError(Exception):
    """A refusal with OpenBao's text (never containing key material)."""

    def __init__(self, message: str, *, internal: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.internal = internal


@dataclass(slots=True)
class Issuer:
    id: str
    name: str = ""
    public_key: str = ""
    private_key: str = field(default="", repr=False)
    version: int = 1


# Keys -----------------------------------------------------------------------------------


def generate_key_pair(key_type: str, key_bits: int) -> tuple[str, str]:
    """OpenBao's generateSSHKeyPair: (authorized-keys line with its newline, PEM private
    key). RSA and ECDSA keys are PKCS#1 / SEC1 PEM, Ed25519 keys OpenSSH's format."""
    private: PrivateKey
    private_format = serialization.PrivateFormat.TraditionalOpenSSL
    if key_type in ("ssh-rsa", "rsa"):
        bits = key_bits or 4096
        if bits < 2048:
            raise CAError(
                f"refusing to generate weak {key_type} key: {bits} bits < 2048 bits"
            )
        private = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    elif key_type in _CURVES or key_type == "ec":
        name = key_type if key_type in _CURVES else _EC_BITS.get(key_bits, "")
        if not name:
            raise CAError(
                f"unknown ECDSA key pair algorithm and bits: {key_type} / {key_bits}"
            )
        private = ec.generate_private_key(_CURVES[name])
    elif key_type in ("ssh-ed25519", "ed25519"):
        private = ed25519.Ed25519PrivateKey.generate()
        private_format = serialization.PrivateFormat.OpenSSH
    else:
        raise CAError(f"unknown ssh key pair algorithm: {key_type}")
    pem = private.private_bytes(
        serialization.Encoding.PEM, private_format, serialization.NoEncryption()
    )
    return authorized_key(private.public_key()), pem.decode()


def authorized_key(key: PublicKey) -> str:
    """Go's ssh.MarshalAuthorizedKey: "<type> <base64>\\n"."""
    return key.public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    ).decode() + "\n"


def _illegal_base64(data: str) -> str:
    # Go's base64.CorruptInputError: the first unusable byte, or where the incomplete
    # last group of four starts.
    for index, char in enumerate(data):
        if ord(char) not in _BASE64 and char != "=":
            return f"illegal base64 data at input byte {index}"
    return f"illegal base64 data at input byte {len(data) - len(data) % 4}"


def parse_public_key(text: str) -> tuple[str, bytes, PublicKey]:
    """OpenBao's parsePublicSSHKey: a full "type base64 comment" line or the bare base64
    blob. Returns (key type, wire blob, key); CAError with Go's wording otherwise."""
    parts = text.split(" ")
    # Go's decoder skips line breaks (an authorized_keys line ends with one).
    encoded = (parts[1] if len(parts) > 1 else text).replace("\r", "").replace("\n", "")
    try:
        blob = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise CAError(_illegal_base64(encoded)) from None
    if len(blob) < 4 or len(blob) < 4 + int.from_bytes(blob[:4], "big"):
        raise CAError("ssh: short read")
    key_type = blob[4:4 + int.from_bytes(blob[:4], "big")].decode("latin-1")
    try:
        key = serialization.load_ssh_public_key(
            key_type.encode("latin-1") + b" " + base64.b64encode(blob)
        )
    except UnsupportedAlgorithm:
        raise CAError(f"ssh: unknown key algorithm: {key_type}") from None
    except ValueError:
        raise CAError("ssh: short read") from None
    if not isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey
                      | ed25519.Ed25519PublicKey):
        raise CAError(f"ssh: unknown key algorithm: {key_type}")
    return key_type, blob, key


def load_private_key(pem: str) -> PrivateKey:
    """Go's ssh.ParsePrivateKey over PKCS#1, SEC1, PKCS#8 and OpenSSH PEM blocks."""
    data = pem.encode()
    if b"-----BEGIN " not in data:
        raise CAError("ssh: no key found")
    try:
        if b"OPENSSH PRIVATE KEY" in data:
            key = serialization.load_ssh_private_key(data, password=None)
        else:
            key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise CAError("ssh: no key found") from None
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
                      | ed25519.Ed25519PrivateKey):
        raise CAError("ssh: unsupported key type")
    return key


def key_material(
    public_key: str, private_key: str, generate: bool | None, key_type: str, key_bits: int
) -> tuple[str, str, bool]:
    """OpenBao's handleKeyGeneration: (public, private, generated) from a config/ca write;
    ``generate`` is None when generate_signing_key was not sent."""
    if generate:
        if public_key or private_key:
            raise CAError("public_key and private_key must not be set when "
                          "generate_signing_key is set to true")
    elif public_key and private_key:
        try:
            parse_public_key(public_key)
        except CAError as error:
            raise CAError(f"could not parse public_key provided value: {error.message}") from None
        try:
            load_private_key(private_key)
        except CAError as error:
            raise CAError(
                f"could not parse private_key provided value: {error.message}"
            ) from None
        return public_key, private_key, False
    elif not public_key and not private_key:
        if generate is False:
            raise CAError("missing public_key")
    else:
        raise CAError("only one of public_key and private_key set; both must be set to use, "
                      "or both must be blank to auto-generate")
    try:
        public_key, private_key = generate_key_pair(key_type, key_bits)
    except CAError as error:
        raise CAError(error.message, internal=True) from None
    return public_key, private_key, True


# Storage -----------------------------------------------------------------------------


def _default_id(view: StorageView) -> str:
    raw = view.get_json(ISSUERS_CONFIG_KEY) or {}
    return str(raw.get("default") or "")


def _set_default_id(view: StorageView, issuer_id: str) -> None:
    view.put_json(ISSUERS_CONFIG_KEY, {"default": issuer_id})


def fetch_issuer(view: StorageView, issuer_id: str) -> Issuer:
    raw = view.get_json(ISSUER_PREFIX + issuer_id)
    if raw is None:
        raise CAError(f"ssh issuer id '{issuer_id}' does not exist")
    return Issuer(**{key: raw[key] for key in ("id", "name", "public_key", "private_key",
                                                 "version") if key in raw})


def fetch_default_issuer(view: StorageView) -> Issuer:
    """The default issuer; OpenBao's refusal when none is configured."""
    issuer_id = _default_id(view)
    if not issuer_id:
        raise CAError("no default issuer currently configured")
    return fetch_issuer(view, issuer_id)


def resolve_issuer(view: StorageView, reference: str) -> str:
    """OpenBao's resolveIssuerReference: "default", an issuer id, or an issuer name."""
    if reference == DEFAULT_REF:
        issuer_id = _default_id(view)
        if not issuer_id:
            raise CAError("no default issuer currently configured")
        return issuer_id
    ids = view.list(ISSUER_PREFIX)
    if len(reference) == UUID_LENGTH and reference in ids:
        return reference
    for issuer_id in ids:
        if fetch_issuer(view, issuer_id).name == reference:
            return issuer_id
    raise CAError(f"unable to find issuer for reference: {reference}")


def import_issuer(view: StorageView, public_key: str, private_key: str,
                  generated: bool) -> tuple[Issuer, bool]:
    """OpenBao's ImportIssuer for config/ca: a new default issuer, or the existing one
    with the same public key (True) when the key pair was supplied."""
    known = view.list(ISSUER_PREFIX)
    if not generated:
        key_type, blob, _ = parse_public_key(public_key)
        for issuer_id in known:
            existing = fetch_issuer(view, issuer_id)
            if parse_public_key(existing.public_key)[:2] == (key_type, blob):
                return existing, True
    issuer = Issuer(id=str(uuid.uuid4()), public_key=public_key, private_key=private_key)
    view.put_json(ISSUER_PREFIX + issuer.id, asdict(issuer))
    _set_default_id(view, issuer.id)
    return issuer, False


def purge_issuers(view: StorageView) -> int:
    """Delete every issuer and the default pointer; the number deleted."""
    ids = view.list(ISSUER_PREFIX)
    if _default_id(view):
        _set_default_id(view, "")
    for issuer_id in ids:
        view.delete(ISSUER_PREFIX + issuer_id)
    return len(ids)


def issuer_view(issuer: Issuer) -> dict[str, Any]:
    """What config/ca answers (never the private key)."""
    return {"issuer_id": issuer.id, "issuer_name": issuer.name, "public_key": issuer.public_key}
