"""The mount's CA key pairs (OpenBao's SSH "issuers") and the key handling they need.

Each key pair lives at ``config/issuer/<id>`` and ``config/issuers`` names the default
one, OpenBao's layout: `config/ca` writes a new default issuer, `issuers/import` a named
one, a role's issuer_ref names one ("default", an id or a name). Every change of the set,
its names or the default is guarded by config/issuers' version (see ``Issuers``). The
private key is written through the barrier only; no function here puts it in a message.

Errors are ``CAError`` with OpenBao's texts; ``internal`` marks the ones OpenBao
returns as a server error (500) in Go's multierror wording; path_config_ca.refusal
answers them as 400s with that wording.
"""

from __future__ import annotations

import base64
import re
import uuid
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from chalicelib.core import jsonio
from chalicelib.core.errors import PreconditionFailed
from chalicelib.core.gobase64 import DecodeError, b64decode
from chalicelib.storage.physical import ConditionFailed, Delete, Put, WriteOp

if TYPE_CHECKING:
    from collections.abc import Callable

    from chalicelib.storage.view import StorageView

ISSUER_PREFIX = "config/issuer/"
ISSUERS_CONFIG_KEY = "config/issuers"
DEFAULT_REF = "default"
UUID_LENGTH = 36
EXISTING_ISSUER_WARNING = (
    "An issuer with the provided public key already exists, returning the existing issuer"
)
NO_DEFAULT = "no default issuer currently configured"
NAME_IN_USE = "issuer name already in use"
# OpenBao's GenericNameRegex: what its issuer routes match and what a name must be.
ISSUER_NAME = re.compile(r"\w(?:[\w\-.]*\w)?", re.ASCII)
_ATTEMPTS = 5
_PURGE_BATCH = 99  # DynamoDB's 100 items per transaction, less config/issuers
_T = TypeVar("_T")

PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey
PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey

_CURVES: dict[str, ec.EllipticCurve] = {
    "ecdsa-sha2-nistp256": ec.SECP256R1(),
    "ecdsa-sha2-nistp384": ec.SECP384R1(),
    "ecdsa-sha2-nistp521": ec.SECP521R1(),
}
_EC_BITS = {0: "ecdsa-sha2-nistp256", 256: "ecdsa-sha2-nistp256",
            384: "ecdsa-sha2-nistp384", 521: "ecdsa-sha2-nistp521"}


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


def parse_public_key(text: str) -> tuple[str, bytes, PublicKey]:
    """OpenBao's parsePublicSSHKey: a full "type base64 comment" line or the bare base64
    blob. Returns (key type, wire blob, key); CAError with Go's wording otherwise."""
    parts = text.split(" ")
    # Go's decoder skips line breaks (an authorized_keys line ends with one).
    encoded = (parts[1] if len(parts) > 1 else text).replace("\r", "").replace("\n", "")
    try:
        blob = b64decode(encoded)
    except DecodeError as error:
        raise CAError(str(error)) from None
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


def fetch_issuer(view: StorageView, issuer_id: str) -> Issuer:
    raw = view.get_json(ISSUER_PREFIX + issuer_id)
    if raw is None:
        raise CAError(f"ssh issuer id '{issuer_id}' does not exist")
    return _issuer(raw)


def _issuer(raw: dict[str, Any]) -> Issuer:
    return Issuer(**{key: raw[key] for key in ("id", "name", "public_key", "private_key",
                                                 "version") if key in raw})


class Issuers:
    """The mount's issuers as one read or change sees them, read lazily.

    config/issuers' version guards every change: a change reads it before anything else
    (``guard``) and commits in one transaction with a rewrite of config/issuers
    conditioned on that version. Of two racing changes (two first issuers both becoming
    the default, two renames to one name, a rename or a new default beside a delete) one
    commits and the other is retried on what the first left: OpenBao serializes them
    under its issuersLock.
    """

    def __init__(self, view: StorageView, *, guard: bool = False) -> None:
        self.view = view
        self._config: tuple[str, int] | None = None
        self._ids: list[str] | None = None
        if guard:
            self._read_config()

    def _read_config(self) -> tuple[str, int]:
        if self._config is None:
            entry = self.view.get(ISSUERS_CONFIG_KEY)
            default = "" if entry is None else jsonio.loads(entry.value).get("default")
            self._config = (str(default or ""), 0 if entry is None else entry.version)
        return self._config

    @property
    def default_id(self) -> str:
        return self._read_config()[0]

    @property
    def ids(self) -> list[str]:
        if self._ids is None:
            self._read_config()
            self._ids = self.view.list(ISSUER_PREFIX)
        return self._ids

    def fetch_many(self, ids: list[str]) -> list[Issuer]:
        """The issuers of ``ids`` that exist, in that order, in one batch read."""
        entries = self.view.get_many([ISSUER_PREFIX + issuer_id for issuer_id in ids])
        return [_issuer(jsonio.loads(entries[key].value))
                for key in (ISSUER_PREFIX + issuer_id for issuer_id in ids) if key in entries]

    def default(self) -> Issuer:
        """The default issuer; OpenBao's refusal when none is configured."""
        if not self.default_id:
            raise CAError(NO_DEFAULT)
        return fetch_issuer(self.view, self.default_id)

    def resolve(self, reference: str) -> Issuer:
        """OpenBao's resolveIssuerReference ("default", an issuer id, or an issuer name),
        returning the issuer it read on the way rather than reading it again."""
        if reference == DEFAULT_REF:
            return self.default()
        if len(reference) == UUID_LENGTH:
            raw = self.view.get_json(ISSUER_PREFIX + reference)
            if raw is not None:
                return _issuer(raw)
        for issuer in self.fetch_many(self.ids):
            if issuer.name == reference:
                return issuer
        raise CAError(f"unable to find issuer for reference: {reference}")

    def taken(self, name: str) -> bool:
        """Whether ``name`` already refers to an issuer (by name or as an id)."""
        try:
            self.resolve(name)
        except CAError:
            return False
        return True

    def commit(self, ops: list[WriteOp], default_id: str) -> None:
        """``ops`` with config/issuers naming ``default_id``, if nothing changed since
        config/issuers was read; ConditionFailed otherwise."""
        config = Put(ISSUERS_CONFIG_KEY, jsonio.dumpb({"default": default_id}),
                     self._read_config()[1])
        self.view.transact([*ops, config])


def _changed(view: StorageView, change: Callable[[Issuers], _T]) -> _T:
    """``change`` on a fresh look at the issuers until it commits without a race."""
    for _ in range(_ATTEMPTS):
        try:
            return change(Issuers(view, guard=True))
        except ConditionFailed:
            continue
    raise PreconditionFailed("too many concurrent changes to this mount's SSH issuers; retry")


def _put(issuer: Issuer, expected_version: int | None = None) -> Put:
    return Put(ISSUER_PREFIX + issuer.id, jsonio.dumpb(asdict(issuer)), expected_version)


def checked_name(text: str) -> str:
    """OpenBao's getIssuerName for a name that was given: trimmed, not blank, not
    "default" in any case, and a name its routes would match."""
    name = text.strip()
    if not name:
        raise CAError("expected non-empty issuer name")
    if name.lower() == DEFAULT_REF:
        raise CAError("reserved keyword 'default' can not be used as issuer name")
    if not ISSUER_NAME.fullmatch(name):
        raise CAError("issuer name contained invalid characters")
    return name


def fetch_default_issuer(view: StorageView) -> Issuer:
    return Issuers(view).default()


def resolve_issuer(view: StorageView, reference: str) -> Issuer:
    return Issuers(view).resolve(reference)


def import_issuer(view: StorageView, public_key: str, private_key: str, generated: bool,
                  name: str = "", set_default: bool = True) -> tuple[Issuer, bool]:
    """OpenBao's ImportIssuer behind config/ca and issuers/import: the existing issuer
    with the same public key (True) when the key pair was supplied, else a new issuer,
    the default when ``set_default`` or when it is the mount's first. ``name`` as given
    to issuers/import (blank: none)."""
    if name.strip():
        name = checked_name(name)
    blob = None if generated else parse_public_key(public_key)[:2]

    def change(issuers: Issuers) -> tuple[Issuer, bool]:
        if name and issuers.taken(name):
            raise CAError(NAME_IN_USE)
        known = issuers.fetch_many(issuers.ids)
        for existing in known:
            if blob is not None and parse_public_key(existing.public_key)[:2] == blob:
                return existing, True
        issuer = Issuer(id=str(uuid.uuid4()), name=name, public_key=public_key,
                        private_key=private_key)
        default = issuer.id if set_default or not issuers.ids else issuers.default_id
        issuers.commit([_put(issuer, 0)], default)
        return issuer, False

    return _changed(view, change)


def rename_issuer(view: StorageView, reference: str,
                  name: str | None) -> tuple[Issuer, str | None]:
    """OpenBao's issuer update: the issuer named ``name`` (None: not given, which clears
    the name) and its former name, None when nothing changed (the name it has already)."""

    def change(issuers: Issuers) -> tuple[Issuer, str | None]:
        issuer = issuers.resolve(reference)
        new_name = "" if name is None else checked_name(name)
        if new_name and issuers.taken(new_name):
            if issuer.name != new_name:
                raise CAError(NAME_IN_USE)
            return issuer, None
        old_name, issuer.name = issuer.name, new_name
        issuers.commit([_put(issuer)], issuers.default_id)
        return issuer, old_name

    return _changed(view, change)


def delete_issuer(view: StorageView, reference: str) -> tuple[Issuer, bool] | None:
    """OpenBao's issuer delete: the deleted issuer and whether it was the default (the
    mount then has none); None when ``reference`` finds no issuer."""

    def change(issuers: Issuers) -> tuple[Issuer, bool] | None:
        try:
            issuer = issuers.resolve(reference)
        except CAError:
            return None
        was_default = issuers.default_id == issuer.id
        issuers.commit([Delete(ISSUER_PREFIX + issuer.id)],
                       "" if was_default else issuers.default_id)
        return issuer, was_default

    return _changed(view, change)


def set_default_issuer(view: StorageView, reference: str) -> tuple[str, str]:
    """OpenBao's config/issuers write: (the new default's id, the previous default's id,
    the same when it was already the default)."""

    def change(issuers: Issuers) -> tuple[str, str]:
        try:
            issuer_id = issuers.resolve(reference).id
        except CAError as error:
            raise CAError(f"error resolving issuer reference: {error.message}",
                          internal=True) from None
        previous = issuers.default_id
        if issuer_id != previous:
            issuers.commit([], issuer_id)
        return issuer_id, previous

    return _changed(view, change)


def purge_issuers(view: StorageView) -> int:
    """Delete every issuer and the default pointer; the number deleted."""
    deleted = 0

    def change(issuers: Issuers) -> int:
        batch = issuers.ids[:_PURGE_BATCH]
        if batch:
            issuers.commit([Delete(ISSUER_PREFIX + issuer_id) for issuer_id in batch], "")
        return len(batch)

    while count := _changed(view, change):
        deleted += count
    return deleted


def issuer_view(issuer: Issuer) -> dict[str, Any]:
    """What config/ca and issuer/<ref> answer (never the private key)."""
    return {"issuer_id": issuer.id, "issuer_name": issuer.name, "public_key": issuer.public_key}
