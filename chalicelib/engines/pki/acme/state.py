"""ACME state in the mount's storage view: one item per nonce, account, order,
authorization and EAB key, so any container can serve any step and nothing grows.

    acme/nonce/<hour>/<nonce>       an unused nonce; redeemed by a conditional delete
    acme/accounts/<kid>             an account: its JWK, status, contact, directory, EAB id
    acme/thumbprints/<thumbprint>   the kid of the account holding a key (one lookup);
                                    created with the account in one transaction
    acme/orders/<kid>/<order id>    an order (listed per account for ``orders``)
    acme/authz/<kid>/<authz id>     an authorization with its (at most three) challenges
    acme/cert-account/<serial>      the account an ACME certificate was issued to
    acme/eab/<key id>               an unused EAB key; deleted when an account binds it

Tidy (tidy_acme, see acme/tidy.py) revokes and then deletes unused accounts, deletes
expired orders with their authorizations, old EAB keys and dead nonce folders.

Nonces live in hourly folders named in the nonce itself, so a redemption is one
conditional delete and an expired hour is one prefix delete."""

from __future__ import annotations

import secrets
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from chalicelib.core import jsonio
from chalicelib.core.records import build
from chalicelib.engines.pki.acme.jws import b64decode, b64encode
from chalicelib.engines.pki.acme.problems import AcmeProblem
from chalicelib.storage import ConditionFailed
from chalicelib.storage.physical import Delete, Put

if TYPE_CHECKING:
    from chalicelib.storage.view import StorageView

NONCE_PREFIX = "acme/nonce/"
ACCOUNT_PREFIX = "acme/accounts/"
THUMBPRINT_PREFIX = "acme/thumbprints/"
ORDER_PREFIX = "acme/orders/"
AUTHZ_PREFIX = "acme/authz/"
CERT_ACCOUNT_PREFIX = "acme/cert-account/"
EAB_PREFIX = "acme/eab/"
ORDER_LIFETIME = 24 * 3600
_HOUR = 3600
_NONCE_BYTES = 16
_NONCE_VERSION = 1  # new_nonce's put (expected version 0) creates version 1

_Record = TypeVar("_Record")


def now() -> int:
    return int(time.time())


def rfc3339(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_id() -> str:
    return str(uuid.uuid4())


def load_record(cls: type[_Record], raw: dict[str, Any] | None) -> _Record | None:
    if raw is None:
        return None
    return build(cls, raw)


# Nonces ---------------------------------------------------------------------------------

def new_nonce(view: StorageView) -> str:
    """A fresh nonce, stored (expected version 0) in the current hour's folder. Clients
    decode nonces as base64url, so the hour rides inside the encoded bytes."""
    hour = now() // _HOUR
    token = secrets.token_bytes(_NONCE_BYTES)
    view.put(f"{NONCE_PREFIX}{hour}/{token.hex()}", b"", expected_version=0)
    return b64encode(hour.to_bytes(4, "big") + token)


def redeem_nonce(view: StorageView, nonce: Any) -> None:
    """Consume ``nonce`` exactly once: of racing containers only one delete succeeds."""
    try:
        raw = b64decode(nonce)
    except (TypeError, ValueError):
        raw = b""
    # A nonce of this hour or the last one: it lives between one and two hours.
    hour = int.from_bytes(raw[:4], "big")
    if len(raw) != 4 + _NONCE_BYTES or hour < now() // _HOUR - 1:
        raise AcmeProblem("badNonce", "invalid or reused nonce")
    try:
        view.delete(f"{NONCE_PREFIX}{hour}/{raw[4:].hex()}", expected_version=_NONCE_VERSION)
    except ConditionFailed:
        raise AcmeProblem("badNonce", "invalid or reused nonce") from None


def drop_expired_nonces(view: StorageView) -> None:
    """Delete the folders of hours whose nonces can no longer be redeemed."""
    oldest_live = now() // _HOUR - 1
    for folder in view.list(NONCE_PREFIX):
        hour = folder.rstrip("/")
        if hour.isdigit() and int(hour) < oldest_live:
            view.delete_prefix(f"{NONCE_PREFIX}{hour}/")


# Accounts -------------------------------------------------------------------------------

@dataclass(slots=True)
class Account:
    kid: str
    jwk: dict[str, str]
    thumbprint: str
    directory: str
    status: str = "valid"
    contact: list[str] = field(default_factory=list)
    terms_of_service_agreed: bool = False
    eab_id: str = ""
    created: int = field(default_factory=now)
    deactivated: int = 0  # when deactivated or revoked (OpenBao's AccountRevokedDate)
    max_cert_expiry: int = 0  # the latest order or certificate expiry tidy has seen


def load_account(view: StorageView, kid: str) -> Account | None:
    if not kid or "/" in kid:
        return None
    return load_record(Account, view.get_json(ACCOUNT_PREFIX + kid))


def account_by_thumbprint(view: StorageView, thumb: str) -> Account | None:
    pointer = view.get_json(THUMBPRINT_PREFIX + thumb)
    return None if pointer is None else load_account(view, pointer["kid"])


def create_account(view: StorageView, account: Account) -> Account:
    """The account and its thumbprint pointer, both new, in one transaction; a racing
    creation with the same key loses and gets the winner's account."""
    try:
        view.transact([
            Put(ACCOUNT_PREFIX + account.kid, jsonio.dumpb(asdict(account)), 0),
            Put(THUMBPRINT_PREFIX + account.thumbprint,
                jsonio.dumpb({"kid": account.kid}), 0),
        ])
    except ConditionFailed:
        existing = account_by_thumbprint(view, account.thumbprint)
        if existing is None:
            raise
        return existing
    return account


def save_account(view: StorageView, account: Account,
                 expected_version: int | None = None) -> None:
    """Write ``account``; with ``expected_version``, only over that version (tidy)."""
    view.put_json(ACCOUNT_PREFIX + account.kid, asdict(account),
                  expected_version=expected_version)


def change_account_key(view: StorageView, account: Account, jwk: dict[str, str],
                       thumb: str) -> None:
    """Move the thumbprint pointer to the new key; refused when that key has an account."""
    old = account.thumbprint
    account.jwk, account.thumbprint = jwk, thumb
    view.transact([
        Put(THUMBPRINT_PREFIX + thumb, jsonio.dumpb({"kid": account.kid}), 0),
        Delete(THUMBPRINT_PREFIX + old),
        Put(ACCOUNT_PREFIX + account.kid, jsonio.dumpb(asdict(account))),
    ])


# Orders and authorizations --------------------------------------------------------------

@dataclass(slots=True)
class Order:
    id: str
    kid: str
    status: str
    expires: int
    identifiers: list[dict[str, str]]
    authorizations: list[str]
    certificate_serial: str = ""
    issuer_id: str = ""
    certificate_expiry: int = 0  # notAfter of the certificate, once issued


@dataclass(slots=True)
class Authorization:
    id: str
    kid: str
    identifier: dict[str, str]
    status: str
    expires: int
    challenges: list[dict[str, Any]]
    wildcard: bool = False


def save_order(view: StorageView, order: Order, expected_version: int | None = None) -> None:
    """Write ``order``; with ``expected_version``, only over that version (ConditionFailed
    otherwise): finalize claims an order this way so racing containers issue once."""
    view.put_json(f"{ORDER_PREFIX}{order.kid}/{order.id}", asdict(order),
                  expected_version=expected_version)


def load_order(view: StorageView, kid: str, order_id: str) -> tuple[Order, int]:
    """The account's order and its storage version."""
    entry = view.get(f"{ORDER_PREFIX}{kid}/{order_id}") if "/" not in order_id else None
    if entry is None:
        raise AcmeProblem("malformed", "order does not exist")
    order = load_record(Order, jsonio.loads(entry.value))
    assert order is not None
    return order, entry.version


def order_ids(view: StorageView, kid: str) -> list[str]:
    return [name for name in view.list(f"{ORDER_PREFIX}{kid}/") if not name.endswith("/")]


def account_orders(view: StorageView, kid: str) -> list[Order]:
    """The account's orders in listing order, read in one batch."""
    keys = [f"{ORDER_PREFIX}{kid}/{order_id}" for order_id in order_ids(view, kid)]
    found = view.get_many(keys)
    return [build(Order, jsonio.loads(found[key].value)) for key in keys if key in found]


def save_authorization(view: StorageView, authz: Authorization) -> None:
    view.put_json(f"{AUTHZ_PREFIX}{authz.kid}/{authz.id}", asdict(authz))


def load_authorization(view: StorageView, kid: str, authz_id: str) -> Authorization:
    authz = None if "/" in authz_id else load_record(
        Authorization, view.get_json(f"{AUTHZ_PREFIX}{kid}/{authz_id}"))
    if authz is None:
        raise AcmeProblem("malformed", "authorization does not exist")
    return authz


def load_authorizations(view: StorageView, kid: str, authz_ids: list[str]) -> list[Authorization]:
    """An order's authorizations, read in one batch."""
    keys = [f"{AUTHZ_PREFIX}{kid}/{authz_id}" for authz_id in authz_ids if "/" not in authz_id]
    found = view.get_many(keys)
    if len(found) != len(authz_ids):
        raise AcmeProblem("malformed", "authorization does not exist")
    return [build(Authorization, jsonio.loads(found[key].value)) for key in keys]


def track_certificate(view: StorageView, serial: str, kid: str, order_id: str) -> None:
    view.put_json(CERT_ACCOUNT_PREFIX + serial, {"kid": kid, "order_id": order_id})


def certificate_account(view: StorageView, serial: str) -> str:
    raw = view.get_json(CERT_ACCOUNT_PREFIX + serial)
    return "" if raw is None else str(raw["kid"])


# External account binding keys ----------------------------------------------------------

@dataclass(slots=True)
class EabKey:
    id: str
    key_type: str
    key: str  # base64url of the HMAC key; only ever shown once, by new-eab
    directory: str
    created_on: int


def save_eab(view: StorageView, eab: EabKey) -> None:
    view.put_json(EAB_PREFIX + eab.id, asdict(eab), expected_version=0)


def load_eab(view: StorageView, key_id: str) -> EabKey | None:
    if not key_id or "/" in key_id:
        return None
    return load_record(EabKey, view.get_json(EAB_PREFIX + key_id))


def load_eabs(view: StorageView, key_ids: list[str]) -> list[EabKey]:
    """The unused EAB keys of ``key_ids``, in that order, read in one batch."""
    keys = [EAB_PREFIX + key_id for key_id in key_ids]
    found = view.get_many(keys)
    return [build(EabKey, jsonio.loads(found[key].value)) for key in keys if key in found]


def consume_eab(view: StorageView, key_id: str) -> bool:
    """Delete an EAB key exactly once: False when it was already used (or deleted)."""
    entry = view.get(EAB_PREFIX + key_id)
    if entry is None:
        return False
    try:
        view.delete(EAB_PREFIX + key_id, expected_version=entry.version)
    except ConditionFailed:
        return False
    return True


def eab_ids(view: StorageView) -> list[str]:
    return [name for name in view.list(EAB_PREFIX) if not name.endswith("/")]
