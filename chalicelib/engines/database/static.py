"""static-roles/:name: one existing database user whose password the engine rotates.

Rotation is write-ahead and claimed in storage, so any number of containers and
overlapping job runs rotate a role once: (1) a conditional write stores the new password
as *pending* with a claim deadline; (2) the database is told; (3) a conditional write makes
it current. The old password keeps working until step 2; a run that died after step 1
is finished by the next run once the claim has lapsed, with the same pending password
(setting it again is harmless), so a password the database took is never lost.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from chalicelib.core import jsonio
from chalicelib.core.errors import BadRequest
from chalicelib.engines.database import config as stored
from chalicelib.engines.database import cron
from chalicelib.engines.database.plugins import plugin_for
from chalicelib.generators.passwords import generate_password
from chalicelib.storage.physical import ConditionFailed

if TYPE_CHECKING:
    from chalicelib.storage.view import StorageView

STATIC_PREFIX = "static-role/"
CLAIM_SECONDS = 60  # longer than a rotation can take (connect + statement timeouts)


@dataclass(frozen=True, slots=True)
class StaticRole:
    db_name: str
    username: str
    rotation_period: int = 0  # seconds; 0 when rotation_schedule is used
    rotation_schedule: str = ""
    rotation_window: int = 0
    rotation_statements: list[str] = field(default_factory=list)
    credential_type: str = "password"
    password: str = field(default="", repr=False)
    last_vault_rotation: float = 0.0  # unix seconds; 0: never
    pending_password: str = field(default="", repr=False)
    claim_until: float = 0.0
    version: int = 0  # the storage entry's, for the conditional writes

    @classmethod
    def from_storage(cls, raw: dict[str, Any], version: int) -> StaticRole:
        return cls(**raw, version=version)

    def to_storage(self) -> dict[str, Any]:
        raw = asdict(self)
        del raw["version"]
        return raw

    def next_rotation(self) -> float:
        if self.rotation_schedule:
            last = datetime.fromtimestamp(self.last_vault_rotation, UTC)
            return cron.parse(self.rotation_schedule).next_after(last).timestamp()
        return self.last_vault_rotation + self.rotation_period

    def due(self, now: float) -> bool:
        """Vault: the period has passed, or a scheduled time has come and its window
        (if any) is still open; a lapsed claim (a run that died) is due at once."""
        if self.pending_password:
            return self.claim_until <= now
        upcoming = self.next_rotation()
        if upcoming > now:
            return False
        if not self.rotation_schedule or not self.rotation_window:
            return True
        schedule = cron.parse(self.rotation_schedule)
        latest = datetime.fromtimestamp(upcoming, UTC)
        while (following := schedule.next_after(latest)).timestamp() <= now:
            latest = following
        return now < latest.timestamp() + self.rotation_window

    def ttl(self, now: float) -> int:
        return max(int(self.next_rotation() - now), 0)

    def schedule_api(self) -> dict[str, Any]:
        if self.rotation_schedule:
            return {"rotation_schedule": self.rotation_schedule,
                    "rotation_window": self.rotation_window}
        return {"rotation_period": self.rotation_period}

    def to_api(self) -> dict[str, Any]:
        shown: dict[str, Any] = {
            "db_name": self.db_name,
            "username": self.username,
            "rotation_statements": self.rotation_statements,
            "credential_type": self.credential_type,
            **self.schedule_api(),
        }
        if self.last_vault_rotation:
            shown["last_vault_rotation"] = rfc3339(self.last_vault_rotation)
        return shown


def rfc3339(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")


def read_static(view: StorageView, name: str) -> StaticRole | None:
    entry = view.get(STATIC_PREFIX + name)
    if entry is None:
        return None
    return StaticRole.from_storage(jsonio.loads(entry.value), entry.version)


def read_all_static(view: StorageView) -> dict[str, StaticRole]:
    """Every static role of the mount: one LIST, then reads 100 at a time."""
    keys = [STATIC_PREFIX + name for name in view.list(STATIC_PREFIX)]
    return {
        entry.key[len(STATIC_PREFIX):]: StaticRole.from_storage(
            jsonio.loads(entry.value), entry.version
        )
        for entry in view.get_many(keys).values()
    }


def write_static(view: StorageView, name: str, role: StaticRole) -> StaticRole:
    """Conditional on the version read (0: must not exist yet)."""
    version = view.put_json(
        STATIC_PREFIX + name, role.to_storage(), expected_version=role.version
    )
    return replace(role, version=version)


def rotate(view: StorageView, name: str, role: StaticRole, now: float | None = None) -> bool:
    """Rotate ``role`` now; False when another run holds its claim. Raises BadRequest
    (the pending password stays, for the next run) when the database refuses."""
    now = time.time() if now is None else now
    if role.pending_password and role.claim_until > now:
        return False  # another run is on it
    config = stored.require_config(view, role.db_name)
    password = role.pending_password or generate_password(config.password_policy)
    try:
        claimed = write_static(view, name, replace(
            role, pending_password=password, claim_until=now + CLAIM_SECONDS
        ))
    except ConditionFailed:
        return False
    try:
        plugin_for(config.plugin_name).update_password(
            config.connection(role.db_name), role.username, password,
            tuple(role.rotation_statements),
        )
    except BadRequest as error:
        # Let the next job run retry (after the claim lapses) with the same password.
        raise BadRequest(f"error setting credentials: {error}") from None
    _finish(view, name, claimed, password, now)
    return True


def _finish(view: StorageView, name: str, claimed: StaticRole, password: str, now: float) -> None:
    """Make ``password`` current; a role rewritten meanwhile (its schedule changed) keeps
    its new settings and takes the password."""
    role = claimed
    while True:
        try:
            write_static(view, name, replace(
                role, password=password, pending_password="", claim_until=0.0,
                last_vault_rotation=now,
            ))
            return
        except ConditionFailed:
            current = read_static(view, name)
            if current is None:
                return  # deleted meanwhile: nothing to record
            role = current
