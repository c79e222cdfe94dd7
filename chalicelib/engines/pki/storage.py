"""The pki mount's storage layout and its records.

One item per thing, so no item grows with the mount's use and containers racing on one
mount touch different items:

    config/issuer/<id>        an issuer: certificate, name, key id, usage, chain (no key)
    config/key/<id>           a key pair: the private key PEM (barrier-sealed like all items)
    config/issuer-name/<name> the id an issuer name points at; created with the issuer in
    config/key-name/<name>    one transaction (expected version 0), so two containers can
                              never both give a name away; a name lookup is one read
    config/key-spki/<sha256>  the key holding a public key, and the issuer holding a
    config/issuer-der/<sha256> certificate: created with them (expected version 0), so
                              imports dedupe in one read and racing imports cannot both add
    config/issuers            the default issuer and default_follows_latest_issuer
    config/keys               the default key
    role/<name>               a role
    certs/<serial>            one issued certificate per item (serial as hex-with-hyphens)
    revoked/<serial>          one revoked serial: certificate, issuer id, time, the index
                              generation it got (see revocation.py)
    crl/index                 the revocation counter, moved with every revoked/ item
    crl/state, crl/der/…      the CRLs in force and their DER chunks (see crl.py)
    config/crl, config/urls   CRL/OCSP settings; URLs written into issued certificates
    config/auto-tidy          auto-tidy settings
    tidy/status               the current or last tidy, claimed by one runner (tidy.py)
    stats/unstored/<n>        the serial count of no_store roles, 16 shards (counts.py)
    config/cluster            the mount's public URL (ACME and AIA URLs are built from it)
    config/acme               ACME's configuration
    acme/…                    ACME nonces, accounts, orders, authorizations and EAB keys,
                              one item each: see acme/state.py
"""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from chalicelib.core import jsonio
from chalicelib.core.errors import BadRequest

if TYPE_CHECKING:
    from chalicelib.storage.view import StorageView

ISSUER_PREFIX = "config/issuer/"
KEY_PREFIX = "config/key/"
ISSUER_NAME_PREFIX = "config/issuer-name/"
KEY_NAME_PREFIX = "config/key-name/"
KEY_SPKI_PREFIX = "config/key-spki/"
ISSUER_DER_PREFIX = "config/issuer-der/"
ISSUERS_CONFIG = "config/issuers"
KEYS_CONFIG = "config/keys"
ROLE_PREFIX = "role/"
CERTS_PREFIX = "certs/"
# The revocation index: revoked/<serial>, one item per revoked serial.
REVOKED_PREFIX = "revoked/"

DEFAULT_REF = "default"
# Every usage an issuer can have, in the order OpenBao prints them.
ALL_USAGES = ("crl-signing", "issuing-certificates", "ocsp-signing", "read-only")
ISSUANCE_USAGE = "issuing-certificates"
_NAME = re.compile(r"\w(([\w.-]+)?\w)?\Z")
_UUID_LENGTH = 36


class RefNotFound(BadRequest):
    """A reference that names no issuer or key. OpenBao answers 500 on most paths; the
    caller named it, so here it is a 400 with OpenBao's words, as everywhere."""


@dataclass(slots=True)
class IssuerEntry:
    id: str
    name: str
    key_id: str
    certificate: str  # PEM, ending in a newline as OpenBao stores it
    serial_number: str
    ca_chain: list[str] = field(default_factory=list)
    manual_chain: list[str] = field(default_factory=list)
    usage: list[str] = field(default_factory=lambda: list(ALL_USAGES))
    leaf_not_after_behavior: str = "err"
    revocation_signature_algorithm: str = ""
    # OpenBao's AIAURIs: the issuer's own URLs, in config/urls' shape; None when it names
    # no issuing certificate, CRL distribution point or OCSP server.
    aia_urls: dict[str, Any] | None = None

    @classmethod
    def from_storage(cls, raw: dict[str, Any]) -> IssuerEntry:
        return cls(**raw)

    def to_storage(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class KeyEntry:
    id: str
    name: str
    private_key_type: str
    private_key: str  # PEM; never leaves the barrier except through an "exported" answer

    @classmethod
    def from_storage(cls, raw: dict[str, Any]) -> KeyEntry:
        return cls(**raw)

    def to_storage(self) -> dict[str, Any]:
        return asdict(self)


def new_id() -> str:
    return str(uuid.uuid4())


def normalize_serial(serial: str) -> str:
    """The storage form of a serial: lowercase hex pairs joined by hyphens."""
    return serial.strip().lower().replace(":", "-")


def fingerprint(der: bytes) -> str:
    """The index name of a public key (SPKI DER) or certificate (DER)."""
    return hashlib.sha256(der).hexdigest()


def colon_serial(serial: str) -> str:
    return serial.replace("-", ":")


def valid_name(name: str) -> bool:
    return bool(_NAME.match(name))


def check_name(kind: str, name: str) -> str:
    """An issuer or key name as OpenBao accepts it (trimmed; "default" is reserved)."""
    name = name.strip()
    if kind == "issuer" and not name:
        raise BadRequest("expected non-empty issuer name")
    if name.lower() == DEFAULT_REF:
        raise BadRequest(f"reserved keyword 'default' can not be used as {kind} name")
    if name and not _NAME.match(name):
        raise BadRequest(f"{kind} name contained invalid characters")
    return name


def read_issuer(view: StorageView, issuer_id: str) -> IssuerEntry | None:
    raw = view.get_json(ISSUER_PREFIX + issuer_id)
    return None if raw is None else IssuerEntry.from_storage(raw)


def read_key(view: StorageView, key_id: str) -> KeyEntry | None:
    raw = view.get_json(KEY_PREFIX + key_id)
    return None if raw is None else KeyEntry.from_storage(raw)


def read_config(view: StorageView, key: str) -> tuple[dict[str, Any], int]:
    """config/issuers or config/keys and its version (0: never written)."""
    entry = view.get(key)
    if entry is None:
        return {}, 0
    return jsonio.loads(entry.value), entry.version


def issuers_config(view: StorageView) -> dict[str, Any]:
    config, _ = read_config(view, ISSUERS_CONFIG)
    return {"default": config.get("default", ""),
            "default_follows_latest_issuer": config.get("default_follows_latest_issuer", False)}


def _resolve(view: StorageView, kind: str, reference: str) -> str | None:
    """The id ``reference`` names ("default", an id or a name), or None."""
    prefix, name_prefix, config = (
        (ISSUER_PREFIX, ISSUER_NAME_PREFIX, ISSUERS_CONFIG) if kind == "issuer"
        else (KEY_PREFIX, KEY_NAME_PREFIX, KEYS_CONFIG)
    )
    if reference == DEFAULT_REF:
        default = read_config(view, config)[0].get("default", "")
        if not default:
            raise RefNotFound(f"no default {kind} currently configured")
        return str(default)
    if not reference or "/" in reference:
        return None
    keys = [name_prefix + reference]
    if len(reference) == _UUID_LENGTH:
        keys.append(prefix + reference)
    found = view.get_many(keys)
    if prefix + reference in found:
        return reference
    by_name = found.get(name_prefix + reference)
    if by_name is None:
        return None
    return str(jsonio.loads(by_name.value)["id"])


def resolve_issuer_id(view: StorageView, reference: str) -> str:
    found = _resolve(view, "issuer", reference)
    if found is None:
        raise RefNotFound(f"unable to find PKI issuer for reference: {reference}")
    return found


def resolve_key_id(view: StorageView, reference: str) -> str:
    found = _resolve(view, "key", reference)
    if found is None:
        raise RefNotFound(f"unable to find PKI key for reference: {reference}")
    return found


def fetch_issuer(view: StorageView, reference: str) -> IssuerEntry:
    issuer_id = resolve_issuer_id(view, reference)
    issuer = read_issuer(view, issuer_id)
    if issuer is None:  # a name or default pointing at an issuer deleted meanwhile
        raise RefNotFound(f"unable to find PKI issuer for reference: {reference}")
    return issuer


def fetch_key(view: StorageView, reference: str) -> KeyEntry:
    key_id = resolve_key_id(view, reference)
    key = read_key(view, key_id)
    if key is None:
        raise RefNotFound(f"unable to find PKI key for reference: {reference}")
    return key


def name_taken(view: StorageView, kind: str, name: str) -> bool:
    try:
        return _resolve(view, kind, name) is not None
    except RefNotFound:
        return False
