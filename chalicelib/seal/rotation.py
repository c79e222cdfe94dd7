"""Automatic keyring rotation (OpenBao's sys/rotate/keyring/config), by count and by age.

By count: containers add their encryption tallies to the active term's shared counter
(chalicelib.storage.encryptions); the flush that takes the total past `max_operations`
rotates. By age: the scheduled `rotate-keyring` job rotates once the active term is older
than `interval`; it also makes a count-due rotation that a container failed to make. Both
rotate only the term they looked at (`Runtime.rotate_keyring(only_term=...)`), so a due
rotation happens once however many containers see it; the new term's counter starts at
zero, and the old terms stay in the keyring, so everything written before still opens.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, NamedTuple

from chalicelib.core import jsonio
from chalicelib.core.errors import BadRequest
from chalicelib.framework.fieldtypes import go_duration
from chalicelib.observability import logger

if TYPE_CHECKING:
    from chalicelib.core.runtime import Runtime
    from chalicelib.storage.barrier import Barrier

# OpenBao's bounds (internal/vault/barrier/keyring.go): the default is just under 2^32
# encryptions (NIST SP 800-38D's limit for random 96-bit nonces).
MAX_OPERATIONS = 3_865_470_566
MIN_OPERATIONS = 1_000_000
MIN_INTERVAL = 24 * 3600
CONFIG_KEY = "core/keyring-rotation"


class RotationConfig(NamedTuple):
    enabled: bool = True
    max_operations: int = MAX_OPERATIONS
    interval: int = 0  # seconds; 0: never by age

    def view(self) -> dict[str, object]:
        """sys/rotate/keyring/config's data: an unset interval reads as the number 0."""
        return {
            "enabled": self.enabled,
            "interval": go_duration(self.interval) if self.interval else 0,
            "max_operations": self.max_operations,
        }

    def check(self) -> None:
        """OpenBao's range checks, on the merged configuration, in its order and words."""
        if self.interval and self.interval < MIN_INTERVAL:
            raise BadRequest(f"interval must be greater or equal to {go_duration(MIN_INTERVAL)}")
        if not MIN_OPERATIONS <= self.max_operations <= MAX_OPERATIONS:
            raise BadRequest(
                f"max_operations must be in the range [{MIN_OPERATIONS},{MAX_OPERATIONS}]"
            )


def load_config(barrier: Barrier) -> RotationConfig:
    entry = barrier.get(CONFIG_KEY)
    return RotationConfig(**jsonio.loads(entry.value)) if entry else RotationConfig()


def save_config(barrier: Barrier, config: RotationConfig) -> None:
    barrier.put(CONFIG_KEY, jsonio.dumpb(config._asdict()))


def utcnow() -> datetime:
    return datetime.now(UTC)


def due_reason(
    config: RotationConfig, encryptions: int, installed: datetime | None, now: datetime
) -> str:
    """Why the active term must go ("" while it may stay), as OpenBao's auto-rotate check."""
    if not config.enabled:
        return ""
    if encryptions > config.max_operations:
        return "reached max operations"
    if config.interval and installed and now - installed > timedelta(seconds=config.interval):
        return "rotation interval reached"
    return ""


def encryptions(rt: Runtime, term: int) -> int:
    """`term`'s encryptions across the cluster, as far as they are known here."""
    tally = rt.barrier.tally
    return rt.physical.encryptions(term) + (tally.unflushed(term) if tally else 0)


def installed_at(rt: Runtime, term: int) -> datetime | None:
    record = rt.keyring_record
    when = record.installed.get(term) if record else None
    return datetime.fromisoformat(when) if when else None


def after_flush(rt: Runtime, term: int, total: int) -> None:
    """A container added its tally and the term's total is now `total`: rotate if due.

    Below the lowest max_operations nothing can be due, so the configuration is not even
    read. Never raises: the flush came from a write that is already stored.
    """
    if total <= MIN_OPERATIONS:
        return
    try:
        _rotate_if_due(rt, term, total)
    except Exception:
        logger.exception("automatic keyring rotation failed")


def rotate_if_due() -> None:
    """The `rotate-keyring` job: rotate the active term if it is too old or too used."""
    from chalicelib.core.runtime import runtime

    rt = runtime()
    assert rt.keyring_record is not None  # jobs.run runs jobs only while unsealed
    term = rt.keyring_record.keyring.active_term
    _rotate_if_due(rt, term, encryptions(rt, term))


def _rotate_if_due(rt: Runtime, term: int, total: int) -> None:
    reason = due_reason(load_config(rt.barrier), total, installed_at(rt, term), utcnow())
    if reason and rt.rotate_keyring(only_term=term) is not None:
        logger.info("keyring rotated automatically", extra={"reason": reason, "term": term})
