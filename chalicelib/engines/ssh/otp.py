"""One-time passwords as stored: only a salted hash of each OTP, consumed once.

Vault keeps ``otp/<SHA-256 of salt + OTP>`` holding the username, IP and role (its
sshOTP), with one salt per mount at ``salt``. The same layout here, made safe for many
containers at once: the salt is created by a conditional first write (the loser reads
the winner's), an OTP entry by a conditional create (a collision draws a new OTP), and
verification reads the entry's version and deletes it on that version, so of two
concurrent verifies exactly one gets the entry.

Every creds and verify needs the salt, so it is kept per container once read (it never
changes, and a mount's storage prefix, which keys the cache, is never reused): the salt
item is read once per container, not once per request (ARCHITECTURE §3, hot items).

The plain OTP exists only in the creds response and the verify request; it is never a
storage key, a stored value, lease data or a log line.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from chalicelib.core import jsonio
from chalicelib.core.errors import VaultError
from chalicelib.storage.physical import ConditionFailed

if TYPE_CHECKING:
    from chalicelib.storage.view import StorageView

SALT_KEY = "salt"
OTP_PREFIX = "otp/"
# Storage prefix of a mount -> its salt; cleared whole past the bound (mounts are few).
_SALTS: dict[str, str] = {}
_MAX_CACHED_SALTS = 256
# A fresh UUID colliding with a live one is a 2^-122 event; a few draws settle it.
MAX_DRAWS = 5


@dataclass(frozen=True, slots=True)
class OTPEntry:
    """What an OTP stands for (Vault's sshOTP, same JSON names)."""

    username: str
    ip: str
    role_name: str

    @classmethod
    def from_storage(cls, raw: dict[str, Any]) -> OTPEntry:
        return cls(raw.get("username", ""), raw.get("ip", ""), raw.get("role_name", ""))


def mount_salt(view: StorageView) -> str:
    """The mount's salt, created on first use; concurrent creators agree on one."""
    salt = _SALTS.get(view.prefix)
    if salt is None:
        salt = stored_salt(view)
        if len(_SALTS) >= _MAX_CACHED_SALTS:
            _SALTS.clear()
        _SALTS[view.prefix] = salt
    return salt


def stored_salt(view: StorageView) -> str:
    """The salt in storage, written first by whichever creator's conditional put wins."""
    entry = view.get(SALT_KEY)
    if entry is not None:
        return entry.value.decode()
    salt = str(uuid.uuid4())
    try:
        view.put(SALT_KEY, salt.encode(), expected_version=0)
    except ConditionFailed:
        return stored_salt(view)  # another container wrote it first: read theirs
    return salt


def salted_id(salt: str, otp: str) -> str:
    """Vault's salt.SaltID with SHA-256: hex(sha256(salt + otp))."""
    return hashlib.sha256((salt + otp).encode()).hexdigest()


def create_otp(
    view: StorageView, entry: OTPEntry, generate: Callable[[], str] = lambda: str(uuid.uuid4())
) -> tuple[str, str]:
    """A new OTP for ``entry`` and its salted id, stored under the salted id.

    Vault draws again while the salted id exists; the conditional create does the same
    check and write as one step, so two containers cannot claim the same id.
    """
    salt = mount_salt(view)
    value = jsonio.dumpb(asdict(entry))
    for _ in range(MAX_DRAWS):
        otp = generate()
        salted = salted_id(salt, otp)
        try:
            view.put(OTP_PREFIX + salted, value, expected_version=0)
        except ConditionFailed:
            continue
        return otp, salted
    raise VaultError("could not draw an unused OTP")


def consume_otp(view: StorageView, otp: str) -> OTPEntry | None:
    """The entry of ``otp``, deleted in the same step; None when it does not exist or a
    concurrent caller consumed it first (its delete on the version read won)."""
    key = OTP_PREFIX + salted_id(mount_salt(view), otp)
    stored = view.get(key)
    if stored is None:
        return None
    try:
        view.delete(key, expected_version=stored.version)
    except ConditionFailed:
        return None
    return OTPEntry.from_storage(jsonio.loads(stored.value))


def delete_otp(view: StorageView, salted: str) -> None:
    """Drop an OTP by its salted id (a lease's revocation); gone already is no error."""
    view.delete(OTP_PREFIX + salted)
