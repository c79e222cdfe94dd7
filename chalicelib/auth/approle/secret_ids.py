"""Secret IDs: kept only as an HMAC under their role's folder, found again by value or by
accessor, and used up atomically.

``secret_id/<role's folder ID>/<hmac(secret ID)>`` holds the secret ID's properties and
``accessor/<hmac(accessor)>`` the key of that entry; both are written and deleted in one
transaction, so neither is ever left without the other. The folder ID is random per role:
a role deleted and created again under its name starts with no secret ID, even one issued
while the old role was being deleted. A use-limited secret ID is spent
with a write conditional on the version the login read: of two logins racing for its last
use, exactly one wins.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from chalicelib.auth.approle.hashing import SECRET_ID_PREFIX, MountKeys
from chalicelib.core import jsonio
from chalicelib.core.errors import BadRequest, PreconditionFailed
from chalicelib.storage.physical import ConditionFailed, Delete, Put
from chalicelib.storage.view import StorageView
from chalicelib.tokens.clock import now_ns, rfc3339

# Go's zero time.Time, which OpenBao shows for a secret ID that never expires.
_NEVER = "0001-01-01T00:00:00Z"
_RETRIES = 8


class SecretID(NamedTuple):
    accessor: str
    num_uses: int  # 0: unlimited
    ttl: int  # seconds, as requested (the expiry honours the mount's max TTL)
    creation_ns: int
    expiration_ns: int  # 0: never
    last_updated_ns: int
    metadata: dict[str, str]
    cidr_list: tuple[str, ...]
    token_bound_cidrs: tuple[str, ...]

    def expired(self, now: int) -> bool:
        return 0 < self.expiration_ns <= now

    def to_storage(self) -> dict[str, Any]:
        return self._asdict()

    @classmethod
    def from_storage(cls, raw: dict[str, Any]) -> SecretID:
        return cls(**{
            **raw,
            "cidr_list": tuple(raw["cidr_list"]),
            "token_bound_cidrs": tuple(raw["token_bound_cidrs"]),
        })  # fmt: skip

    def to_api(self) -> dict[str, Any]:
        """What secret-id/lookup and secret-id-accessor/lookup return."""
        return {
            "secret_id_accessor": self.accessor,
            "secret_id_num_uses": self.num_uses,
            "secret_id_ttl": self.ttl,
            "creation_time": rfc3339(self.creation_ns),
            "expiration_time": rfc3339(self.expiration_ns) if self.expiration_ns else _NEVER,
            "last_updated_time": rfc3339(self.last_updated_ns),
            "metadata": self.metadata,
            "cidr_list": list(self.cidr_list),
            "token_bound_cidrs": list(self.token_bound_cidrs),
        }


class Located(NamedTuple):
    """A secret ID as read: its entry key and version (for a conditional write)."""

    key: str
    version: int
    secret: SecretID


def folder(folder_id: str) -> str:
    """The folder of one role's secret IDs (one Query lists them)."""
    return f"{SECRET_ID_PREFIX}{folder_id}/"


def secret_key(keys: MountKeys, folder_id: str, secret_id: str) -> str:
    return folder(folder_id) + keys.secret_id_hmac(secret_id)


def register(
    view: StorageView, keys: MountKeys, folder_id: str, secret_id: str, secret: SecretID
) -> None:
    """Store a new secret ID and its accessor; 400 if this role already has that secret ID."""
    key = secret_key(keys, folder_id, secret_id)
    try:
        view.transact([
            Put(keys.accessor(secret.accessor), jsonio.dumpb({"secret_key": key}), 0),
            Put(key, jsonio.dumpb(secret.to_storage()), 0),
        ])  # fmt: skip
    except ConditionFailed:
        raise BadRequest("failed to store secret_id: SecretID is already registered") from None


def read(view: StorageView, key: str, *, live_only: bool = True) -> Located | None:
    """The secret ID at ``key``; an expired one counts as absent unless ``live_only`` is off
    (a login or lookup never sees it, even before a tidy removes it)."""
    entry = view.get(key)
    if entry is None:
        return None
    secret = SecretID.from_storage(jsonio.loads(entry.value))
    if live_only and secret.expired(now_ns()):
        return None
    return Located(key, entry.version, secret)


def accessor_target(view: StorageView, keys: MountKeys, accessor: str) -> str | None:
    """The entry key an accessor points at (of whichever role), or None."""
    record = view.get_json(keys.accessor(accessor))
    return None if record is None else str(record["secret_key"])


def destroy(view: StorageView, keys: MountKeys, found: Located) -> None:
    view.transact([Delete(found.key), Delete(keys.accessor(found.secret.accessor))])


def in_folder(view: StorageView, folder_id: str) -> list[Located]:
    """Every secret ID of a role's folder, expired ones included."""
    prefix = folder(folder_id)
    names = [name for name in view.list(prefix) if not name.endswith("/")]
    entries = view.get_many([prefix + name for name in names])
    return [
        Located(key, entry.version, SecretID.from_storage(jsonio.loads(entry.value)))
        for key, entry in sorted(entries.items())
    ]


def use(
    view: StorageView, keys: MountKeys, key: str, check: Callable[[SecretID], None]
) -> SecretID | None:
    """Spend one use of the secret ID at ``key`` once ``check`` passes on it; None when it
    is absent, expired or was spent by a concurrent login. A failed check spends nothing."""
    for _ in range(_RETRIES):
        found = read(view, key)
        if found is None:
            return None
        secret = found.secret
        check(secret)
        try:
            if secret.num_uses == 1:
                view.transact([Delete(key, found.version), Delete(keys.accessor(secret.accessor))])
            elif secret.num_uses > 1:
                spent = secret._replace(num_uses=secret.num_uses - 1, last_updated_ns=now_ns())
                view.put_json(key, spent.to_storage(), expected_version=found.version)
            return secret
        except ConditionFailed:
            continue  # another login used it meanwhile: read it again
    raise PreconditionFailed("secret ID is in use by concurrent logins; try again")
