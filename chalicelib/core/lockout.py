"""Vault's user lockout: too many failed logins lock an alias out of its auth mount.

After ``threshold`` failed logins, each within ``counter_reset`` of the one before, the
alias is refused for ``duration`` after its last failure (defaults: 5, 15 m, 15 m). The
counter is a storage entry in the auth mount's own view, ``lockout/<sha256(alias)>``,
updated with conditional writes, so every Lambda container counts the same failures; the
login framework prefetches it (:func:`lockout_key`) with the login's first read. The alias
name is kept inside the sealed value only, for sys/locked-users.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

from chalicelib.core import jsonio
from chalicelib.core.errors import PermissionDenied
from chalicelib.core.mounts import MountEntry
from chalicelib.storage.physical import ConditionFailed, Entry
from chalicelib.storage.view import StorageView

LOCKOUT_FOLDER = "lockout/"
DEFAULT_THRESHOLD = 5
DEFAULT_DURATION = 15 * 60
DEFAULT_COUNTER_RESET = 15 * 60
_RETRIES = 5


def lockout_key(alias: str) -> str:
    """The counter's key in the auth mount's view (names may hold any character)."""
    return LOCKOUT_FOLDER + hashlib.sha256(alias.encode()).hexdigest()


class LockoutPolicy(NamedTuple):
    threshold: int
    duration: int
    counter_reset: int
    disabled: bool

    @classmethod
    def of(cls, mount: MountEntry) -> LockoutPolicy:
        """The defaults, each overridden where the mount's tune sets a non-zero value."""
        tuned = mount.config.user_lockout_config or {}
        return cls(
            threshold=tuned.get("threshold") or DEFAULT_THRESHOLD,
            duration=tuned.get("duration") or DEFAULT_DURATION,
            counter_reset=tuned.get("counter_reset") or DEFAULT_COUNTER_RESET,
            disabled=bool(tuned.get("disable")),
        )


class FailedLogins(NamedTuple):
    alias: str
    count: int
    last_failed: int  # Unix seconds

    def locked(self, policy: LockoutPolicy, now: int) -> bool:
        return self.count >= policy.threshold and now - self.last_failed < policy.duration

    def after_failure(self, policy: LockoutPolicy, now: int) -> FailedLogins:
        restarted = now > self.last_failed + policy.counter_reset
        return FailedLogins(self.alias, 1 if restarted else self.count + 1, now)

    @classmethod
    def open(cls, entry: Entry) -> FailedLogins:
        raw: dict[str, Any] = jsonio.loads(entry.value)
        return cls(raw["alias"], raw["count"], raw["last_failed"])


def guarded(
    view: StorageView, mount: MountEntry, alias: str, login: Callable[[], Any]
) -> Any:
    """Run ``login`` unless ``alias`` is locked out; count its failure, clear on success.

    A locked alias gets Vault's 403 whether or not it exists, and before any check of its
    secret, so the lock cannot be used to probe passwords.
    """
    from chalicelib.framework.login import InvalidCredentials

    policy = LockoutPolicy.of(mount)
    if policy.disabled or not alias:
        return login()
    key = lockout_key(alias)
    entry = view.get(key)
    if entry is not None and FailedLogins.open(entry).locked(policy, int(time.time())):
        raise PermissionDenied()
    try:
        result = login()
    except InvalidCredentials:
        _count_failure(view, key, alias, policy)
        raise
    if entry is not None:
        view.delete(key)  # a success forgets earlier failures, as Vault
    return result


def _count_failure(view: StorageView, key: str, alias: str, policy: LockoutPolicy) -> None:
    for _ in range(_RETRIES):
        entry = view.get(key)
        now = int(time.time())
        if entry is None:
            updated = FailedLogins(alias, 1, now)
        else:
            updated = FailedLogins.open(entry).after_failure(policy, now)
        try:
            view.put_json(key, updated._asdict(), expected_version=entry.version if entry else 0)
            return
        except ConditionFailed:
            continue  # another container counted a failure at the same moment: count again


def locked_aliases(view: StorageView, mount: MountEntry) -> Iterator[tuple[str, str]]:
    """(alias name, storage key) of every alias of ``mount`` locked out now."""
    policy = LockoutPolicy.of(mount)
    now = int(time.time())
    keys = [LOCKOUT_FOLDER + name for name in view.list(LOCKOUT_FOLDER)]
    for key, entry in sorted(view.get_many(keys).items()):
        failed = FailedLogins.open(entry)
        if failed.locked(policy, now):
            yield failed.alias, key


def unlock(view: StorageView, alias: str) -> None:
    view.delete(lockout_key(alias))
