"""The expiration manager: register leases, renew them, revoke them through their engine.

Every function takes the container's Runtime; engines are reached through the mount the
lease was issued by (its uuid survives tuning), and only through their SecretType.
"""

from __future__ import annotations

import time
from contextlib import suppress
from typing import TYPE_CHECKING, NamedTuple

from chalicelib.core import awsfaults
from chalicelib.core.errors import BadRequest, InternalError, VaultError
from chalicelib.engines.registry import backend_of
from chalicelib.leases import layout
from chalicelib.leases.entry import MAX_REVOKE_ATTEMPTS, LeaseEntry
from chalicelib.leases.secret import SecretType
from chalicelib.leases.store import LeaseStore
from chalicelib.observability import logger
from chalicelib.storage.physical import ConditionFailed
from chalicelib.storage.view import StorageView
from chalicelib.system.mount_config import effective_ttls
from chalicelib.tokens import ids
from chalicelib.tokens.clock import NANOS, now_ns
from chalicelib.tokens.context import token_store
from chalicelib.tokens.entry import BATCH
from chalicelib.tokens.revoke import revoke_tree
from chalicelib.tokens.store import open_entry, token_lease
from chalicelib.tokens.ttl import TTLLimits, calculate_ttl

if TYPE_CHECKING:
    from chalicelib.core.mounts import MountEntry
    from chalicelib.core.request import Request, Response
    from chalicelib.core.runtime import Runtime
    from chalicelib.tokens.entry import TokenEntry

RETRY_BASE = 10  # seconds; the n-th failed attempt waits RETRY_BASE * 2**n, as Vault
# A revocation in progress is claimed for this long: a crashed sweeper's claim lapses.
CLAIM_SECONDS = 120


def store(rt: Runtime) -> LeaseStore:
    return LeaseStore(rt.barrier)


# -- registration ---------------------------------------------------------------------


def register(rt: Runtime, request: Request, response: Response) -> None:
    """Turn `response.secret` into a stored lease and the envelope's lease fields."""
    secret = response.secret
    mount = request.mount
    token = request.token
    if secret is None or mount is None:
        return
    if token is None:
        raise InternalError()  # an engine handed out a secret on an unauthenticated path
    default_ttl, mount_max = effective_ttls(mount)
    max_ttl = min(mount_max, secret.max_ttl) if secret.max_ttl else mount_max
    ttl = min(secret.ttl or default_ttl, max_ttl)
    now = now_ns()
    if token.type == BATCH and token.expires_ns:
        # A batch token has no storage to revoke from: its leases may not outlive it.
        ttl = min(ttl, max((token.expires_ns - now) // NANOS, 0))
    lease_id = layout.new_lease_id(request.path)
    expires = now + ttl * NANOS
    lease = LeaseEntry(
        lease_id=lease_id,
        path=request.path,
        mount_uuid=mount.uuid,
        secret_type=secret.type,
        internal=dict(secret.internal),
        renewable=secret.renewable,
        issued_ns=now,
        expires_ns=expires,
        max_ttl=secret.max_ttl,
        token="" if token.type == BATCH else token.salted_id,
        due_at=layout.due_second(expires),
    )
    try:
        store(rt).create(lease)
    except Exception:
        # No lease, no secret: undo what the engine created before failing the request.
        _revoke_quietly(rt, lease)
        raise
    response.lease_id = lease_id
    response.lease_duration = ttl
    response.renewable = secret.renewable


def _revoke_quietly(rt: Runtime, lease: LeaseEntry) -> None:
    try:
        _call_revoke(rt, lease)
    except Exception:
        logger.exception("revoking a secret whose lease could not be stored failed")


# -- the engine side --------------------------------------------------------------------


# A NamedTuple: defined on every cold start, where a frozen dataclass costs ~7x more.
class _Owner(NamedTuple):
    mount: MountEntry
    kind: SecretType

    def view(self, rt: Runtime) -> StorageView:
        return StorageView(rt.barrier, self.mount.storage_prefix)


def _owner(rt: Runtime, lease: LeaseEntry) -> _Owner:
    mount = next((m for m in rt.mounts.entries if m.uuid == lease.mount_uuid), None)
    if mount is None:
        raise BadRequest("the mount that issued this lease no longer exists")
    kind = backend_of(mount).secret_type(lease.secret_type)
    if kind is None:
        raise BadRequest(f"secret type {lease.secret_type!r} is unknown to its engine")
    return _Owner(mount, kind)


def _call_revoke(rt: Runtime, lease: LeaseEntry) -> None:
    if lease.is_token:
        revoke_tree(token_store(rt), lease.token)
        return
    owner = _owner(rt, lease)
    owner.kind.revoke(owner.view(rt), lease.info())


# -- lookup -----------------------------------------------------------------------------


def lookup(rt: Runtime, lease_id: str) -> LeaseEntry | None:
    """A lease as lookup shows it; a token's lease takes its times from the live token."""
    lease = store(rt).load(lease_id)
    if lease is None or not lease.is_token:
        return lease
    found = rt.barrier.get(ids.salted_key(lease.token))
    if found is None:
        return None
    token = open_entry(found)
    return lease.evolve(
        issued_ns=token.issued_ns,
        expires_ns=token.expires_ns,
        last_renewal_ns=token.last_renewal_ns,
        renewable=token.lease_renewable(now_ns()),
    )


# -- renewal ----------------------------------------------------------------------------


def renew(rt: Runtime, lease_id: str, increment: int) -> tuple[LeaseEntry, int, list[str]]:
    """Extend a lease; returns the stored lease, the TTL granted and Vault's warnings."""
    lease = store(rt).load(lease_id)
    if lease is not None and lease.is_token:
        raise BadRequest("tokens cannot be renewed through this endpoint")
    now = now_ns()
    _check_renewable(lease, now)
    assert lease is not None
    owner = _owner(rt, lease)
    if owner.kind.renew is None:
        raise BadRequest("lease is not renewable")
    wanted = owner.kind.renew(owner.view(rt), lease.info(increment))
    default_ttl, mount_max = effective_ttls(owner.mount)
    ttl, warnings = calculate_ttl(
        TTLLimits(default_ttl, mount_max),
        start_ns=lease.issued_ns,
        now_ns=now,
        increment=increment,
        backend_ttl=wanted.ttl,
        explicit_max_ttl=wanted.max_ttl or lease.max_ttl,
    )
    expires = now + ttl * NANOS
    renewed = lease.evolve(
        expires_ns=expires, last_renewal_ns=now, due_at=layout.due_second(expires)
    )
    try:
        renewed = store(rt).save(renewed)
    except ConditionFailed:
        raise BadRequest("lease is being changed concurrently; retry") from None
    return renewed, ttl, warnings


def _check_renewable(lease: LeaseEntry | None, now: int) -> None:
    """Vault's ``leaseEntry.renewable`` checks, in its order and words."""
    if lease is None:
        raise BadRequest("lease not found")
    if lease.irrevocable:
        raise BadRequest("lease is expired and has failed previous revocation attempts")
    if lease.expired(now):
        raise BadRequest("lease expired")
    if not lease.renewable:
        raise BadRequest("lease is not renewable")


# -- revocation -------------------------------------------------------------------------


def revoke(rt: Runtime, lease_id: str, *, force: bool = False) -> bool:
    """Revoke one lease now; False when there was none. Engine failures raise unless
    `force`, which drops the lease anyway (sys/leases/revoke-force)."""
    lease = store(rt).load(lease_id)
    if lease is None:
        return False
    revoke_entry(rt, lease, force=force)
    return True


def revoke_entry(rt: Runtime, lease: LeaseEntry, *, force: bool = False) -> None:
    try:
        _call_revoke(rt, lease)
    except Exception as error:
        if not force:
            raise _revoke_failed(error) from None
        logger.warning("revoke-force dropped a lease its engine failed to revoke")
    _forget(rt, lease)


def _forget(rt: Runtime, lease: LeaseEntry) -> None:
    try:
        store(rt).delete(lease)
    except ConditionFailed:
        # Renewed or claimed meanwhile: the secret is gone all the same, so drop the
        # lease as it is now.
        current = store(rt).load(lease.lease_id)
        if current is not None:
            store(rt).delete(current)


def _revoke_failed(error: Exception) -> VaultError:
    unavailable = awsfaults.unavailable(error)
    if unavailable is not None:
        return unavailable  # nothing is lost: the lease stays, to be revoked again
    if isinstance(error, VaultError):
        return BadRequest(f"failed to revoke lease: {error.message}")
    return InternalError()


def attempt(rt: Runtime, lease: LeaseEntry, now: int | None = None) -> bool:
    """One revocation attempt for a queued or orphaned lease: True when revoked and gone."""
    if not revoke_secret(rt, lease, now):
        return False
    _forget(rt, lease)
    return True


def revoke_secret(rt: Runtime, lease: LeaseEntry, now: int | None = None) -> bool:
    """Call the engine; on failure reschedule with backoff, or keep the lease as irrevocable
    after the last attempt. `now` (Unix seconds) is the sweep's clock. The lease itself is
    left for the caller to forget."""
    try:
        _call_revoke(rt, lease)
    except Exception as error:
        failed(rt, lease, error, int(time.time()) if now is None else now)
        return False
    return True


def forget_many(rt: Runtime, leases: list[LeaseEntry]) -> None:
    """Drop leases the sweeper claimed and revoked, without conditions: an expired lease can
    no longer be renewed, and one queued by `revoke sync=false` and renewed meanwhile goes
    anyway, as asked. Batched deletes cost 1 WRU each (a transaction 2), plus one folder
    check per folder."""
    store(rt).drop(leases)


def failed(rt: Runtime, lease: LeaseEntry, error: Exception, now: int) -> None:
    attempts = lease.revoke_attempts + 1
    reason = error.message if isinstance(error, VaultError) else type(error).__name__
    if attempts >= MAX_REVOKE_ATTEMPTS:
        reason = f"failed to revoke after {attempts} attempts: {reason}"
    logger.warning("lease revocation failed", extra={"attempts": attempts})
    retry_at = now + RETRY_BASE * 2**attempts
    # If it changed meanwhile (renewed, revoked), its new state stands.
    with suppress(ConditionFailed):
        store(rt).save(
            lease.evolve(revoke_attempts=attempts, revoke_error=reason, due_at=retry_at)
        )


def queue(rt: Runtime, lease: LeaseEntry) -> None:
    """Due now, so the next sweep revokes it."""
    with suppress(ConditionFailed):  # being revoked or renewed right now
        store(rt).save(lease.evolve(due_at=int(time.time())))


# OpenBao's lazy revoke (sync=false, which `bao lease revoke` sends unless -sync) revokes
# within moments of the answer; only its outcome is not waited for. Here the request does
# the work itself for this long (well inside API Gateway's 29 s), and queues the rest.
LAZY_REVOKE_BUDGET = 10.0


def revoke_lazily(rt: Runtime, leases: list[LeaseEntry]) -> None:
    """Revoke now as far as the time budget goes; an engine failure or the leases past the
    budget are left to the sweeper, which retries with backoff."""
    deadline = time.monotonic() + LAZY_REVOKE_BUDGET
    for lease in leases:
        if time.monotonic() < deadline:
            attempt(rt, lease)
        else:
            queue(rt, lease)


def leases_under(rt: Runtime, prefix: str) -> list[LeaseEntry]:
    """Every lease under `prefix`; like Vault, a prefix without a trailing "/" that names
    a lease means that lease alone."""
    prefix = prefix.lstrip("/")
    leases = store(rt)
    if prefix and not prefix.endswith("/"):
        lease = leases.load(prefix)
        if lease is not None:
            return [lease]
        prefix += "/"
    return leases.load_ids(list(leases.walk(prefix)))


def revoke_prefix(rt: Runtime, prefix: str, *, force: bool = False) -> int:
    """Revoke every lease under `prefix` (or the single lease it names); returns the count."""
    found = leases_under(rt, prefix)
    for lease in found:
        revoke_entry(rt, lease, force=force)
    return len(found)


def revoke_by_token(rt: Runtime, token: TokenEntry) -> None:
    """A token's death takes its leases: each is revoked now, or queued if that fails."""
    leases = store(rt)
    for lease in leases.load_ids(leases.by_token(token.salted_id)):
        attempt(rt, lease)
    rt.barrier.delete(layout.entry_key(token_lease(token.salted_id, token).lease_id))
