"""groups/:name and users/:name: local policies for directory groups and users.

Names are matched in lowercase unless the config sets ``case_sensitive_names`` (as
OpenBao). A user entry may also add groups the directory does not know of.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from chalicelib.core import jsonio
from chalicelib.core.errors import BadRequest
from chalicelib.storage.physical import check_key
from chalicelib.storage.view import StorageView

GROUP_PREFIX = "group/"
USER_PREFIX = "user/"


class LocalMapping(NamedTuple):
    policies: tuple[str, ...] = ()
    # Only users have these: groups added to what the directory reports.
    groups: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, raw: dict) -> LocalMapping:
        return cls(tuple(raw.get("policies") or ()), tuple(raw.get("groups") or ()))


def canonical(name: str, case_sensitive: bool) -> str:
    return name if case_sensitive else name.lower()


def storage_key(prefix: str, name: str) -> str | None:
    """The entry's key, or None for a name no entry can have (an empty path segment)."""
    try:
        check_key(prefix + name)
    except BadRequest:
        return None
    return prefix + name


def load(view: StorageView, prefix: str, name: str) -> LocalMapping | None:
    key = storage_key(prefix, name)
    raw = view.get_json(key) if key else None
    return None if raw is None else LocalMapping.from_json(raw)


def save(view: StorageView, prefix: str, name: str, mapping: LocalMapping) -> None:
    key = storage_key(prefix, name)
    if key is None:
        raise BadRequest("invalid name: empty path segment")
    view.put_json(key, mapping._asdict())


class Mapped(NamedTuple):
    """What a login's groups and user map to."""

    policies: tuple[str, ...]
    # The user's local groups, then the directory's (they become group aliases too).
    groups: tuple[str, ...]


def mapped_policies(
    view: StorageView, username: str, directory_groups: Iterable[str], case_sensitive: bool
) -> Mapped:
    """OpenBao's policy lookup at login: the user entry's groups and the directory's, each
    group's policies (one batch read), then the user's own."""
    user = load(view, USER_PREFIX, canonical(username, case_sensitive))
    groups = (*(user.groups if user else ()), *directory_groups)
    keys = {
        key for name in groups
        if (key := storage_key(GROUP_PREFIX, canonical(name, case_sensitive)))
    }  # fmt: skip
    found = view.get_many(sorted(keys)) if keys else {}
    policies = [
        policy
        for entry in found.values()
        for policy in LocalMapping.from_json(jsonio.loads(entry.value)).policies
    ]
    if user is not None:
        policies.extend(user.policies)
    return Mapped(tuple(dict.fromkeys(policies)), groups)
