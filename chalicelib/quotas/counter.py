"""Counting a rate-limit quota across every Lambda container, without a write per request.

Windows are fixed, aligned on multiples of the interval (Unix time), one budget of
``tokens`` requests per window per client address, as OpenBao's per-client limiter. The
budget lives in DynamoDB counter items; a container *claims* a batch of it with one
conditional UpdateItem (the claim never takes the item past its budget) and then serves
that batch from memory. The batch follows the container's own demand: what it used in
the previous window, doubling within a window, at most a quarter of the budget. So the
cluster never admits more than ``tokens`` per window and client; what it may refuse too
early is at most the batches other containers hold unspent (see the README's bound).

A budget over ~500 claims a second is split over shards (one item each, DynamoDB's hot
item limit is 1,000 writes a second); a container claims from its home shard and moves
on to the next ones only when that one is spent. A block (``block_interval``) is written
once on the counter items, and every claim is conditional on it: no container claims
from a blocked client's budget until the block ends.
"""

from __future__ import annotations

import math
import secrets
import threading
from typing import TYPE_CHECKING, NamedTuple

from chalicelib.storage.physical import QuotaClaim

if TYPE_CHECKING:
    from chalicelib.storage.physical import Physical

# Claims a second one counter item should take at most (DynamoDB: 1,000 writes/s/item).
_CLAIMS_PER_SHARD = 500
_MAX_SHARDS = 16
_ATTEMPTS = 4  # per shard and request: a lost race for a window's start is retried
_EXPIRY_MARGIN = 60  # seconds a counter outlives its window or block (TTL is lazy anyway)
_PRUNE_AT = 10_000  # allowances kept before stale ones are dropped (grows with live ones)


class Decision(NamedTuple):
    """The verdict on one request, and what OpenBao's rate-limit headers show."""

    allowed: bool
    limit: int
    remaining: int
    reset: int  # whole seconds until the window ends
    retry_after: int  # whole seconds until a refused client may come back
    blocked: bool = False


def shard_count(tokens: int, interval: int) -> int:
    return max(1, min(_MAX_SHARDS, math.ceil(tokens / interval / _CLAIMS_PER_SHARD)))


def shard_share(tokens: int, shards: int, shard: int) -> int:
    """Shard ``shard``'s part of the budget; the parts add up to ``tokens`` exactly."""
    return tokens // shards + (1 if shard < tokens % shards else 0)


class _Allowance:
    """What this container holds of one (quota, client) budget in the current window."""

    __slots__ = (
        "batch",
        "blocked_until",
        "demand",
        "left",
        "remaining",
        "shard",
        "spent",
        "stale_at",
        "used",
        "window",
    )

    def __init__(self, shard: int) -> None:
        self.window = -1
        self.left = 0  # claimed and not yet used
        self.used = 0  # served in this window
        self.demand = 0  # served in the previous window: the first batch's size
        self.batch = 0  # the last claim's size
        self.shard = shard
        self.spent: set[int] = set()  # shards found exhausted in this window
        self.remaining = 0  # the budget left cluster-wide when last seen (for the header)
        self.blocked_until = 0
        self.stale_at = 0.0  # when the window after this one ends: nothing left worth keeping

    def roll(self, window: int, interval: int, offset: int) -> None:
        self.demand = self.used if window == self.window + 1 else 0
        self.window, self.left, self.used, self.batch = window, 0, 0, 0
        self.spent = set()
        self.stale_at = (window + 2) * interval + offset


class Limiter:
    """The container's allowances; one per process, shared by its threads."""

    def __init__(self, physical: Physical) -> None:
        self.physical = physical
        self._home = secrets.randbelow(1 << 16)
        self._allowances: dict[str, _Allowance] = {}
        self._prune_at = _PRUNE_AT
        self._lock = threading.Lock()

    def take(self, key: str, tokens: int, interval: int, block: int, now: float) -> Decision:
        """One request against budget ``key`` (quota and client, hex) at time ``now``."""
        # Windows are aligned per budget (an offset from its key), so the clients' windows
        # do not all turn over at the same instant; every container computes the same.
        offset = int(key[:8], 16) % interval
        window = int((now - offset) // interval)
        reset = int((window + 1) * interval + offset - now)
        with self._lock:
            allowance = self._allowance(key, now)
            if allowance.blocked_until > now:
                return _blocked(tokens, allowance.blocked_until, now)
            if allowance.window != window:
                allowance.roll(window, interval, offset)
            if allowance.left == 0:
                self._claim(key, allowance, tokens, interval, now)
                if allowance.blocked_until > now:
                    return _blocked(tokens, allowance.blocked_until, now)
            if allowance.left > 0:
                allowance.left -= 1
                allowance.used += 1
                remaining = max(0, allowance.remaining + allowance.left)
                return Decision(True, tokens, remaining, reset, reset)
            if block > 0:
                until = self._block(key, tokens, interval, math.ceil(now) + block, now)
                allowance.blocked_until = until
                return _blocked(tokens, until, now)
            return Decision(False, tokens, 0, reset, reset)

    def _allowance(self, key: str, now: float) -> _Allowance:
        allowance = self._allowances.get(key)
        if allowance is None:
            if len(self._allowances) >= self._prune_at:
                self._prune(now)
            allowance = self._allowances[key] = _Allowance(self._home)
        return allowance

    def _prune(self, now: float) -> None:
        # A client not seen in this or the previous window has nothing worth keeping: what
        # it holds unspent belongs to a window gone, its demand no longer carries over.
        for key, allowance in list(self._allowances.items()):
            if allowance.stale_at <= now and allowance.blocked_until <= now:
                del self._allowances[key]
        # With that many clients live, the next sweep waits until there are twice as many.
        self._prune_at = max(_PRUNE_AT, 2 * len(self._allowances))

    def _claim(
        self, key: str, allowance: _Allowance, tokens: int, interval: int, now: float
    ) -> None:
        shards = shard_count(tokens, interval)
        wanted = max(1, allowance.demand, 2 * allowance.batch)
        for step in range(shards):
            shard = (allowance.shard + step) % shards
            if shard in allowance.spent:
                continue
            share = shard_share(tokens, shards, shard)
            amount = min(wanted, max(1, share // 4))
            granted = self._claim_shard(f"{key}/{shard}", allowance, share, amount, now, interval)
            if allowance.blocked_until > now:
                return
            if granted:
                allowance.shard, allowance.batch, allowance.left = shard, granted, granted
                return
            allowance.spent.add(shard)

    def _claim_shard(
        self, key: str, allowance: _Allowance, share: int, amount: int, now: float, interval: int
    ) -> int:
        """Requests granted from one shard: 0 when it is spent (or blocked: see allowance)."""
        window = allowance.window
        expires = int(now) + 2 * interval + _EXPIRY_MARGIN  # past this window, surely
        opens = False  # another container has usually started the window already
        for _ in range(_ATTEMPTS):
            if amount <= 0:
                return 0
            claim = QuotaClaim(window, amount, share, int(now), expires)
            total = self.physical.claim_quota(key, claim, opens=opens)
            if total is not None:
                allowance.remaining = share - total
                return amount
            counter = self.physical.quota_counter(key)
            if counter.blocked_until > now:
                allowance.blocked_until = counter.blocked_until
                return 0
            if counter.window > window:
                return 0  # our clock is behind the cluster's: wait for it
            opens = counter.window < window
            if not opens:
                amount = min(amount, share - counter.claimed)
                allowance.remaining = share - counter.claimed
        return 0

    def _block(self, key: str, tokens: int, interval: int, until: int, now: float) -> int:
        """Record the block on every shard (the first blocker's time stands)."""
        expires = until + _EXPIRY_MARGIN
        in_force = [
            self.physical.block_quota(f"{key}/{shard}", until, int(now), expires)
            for shard in range(shard_count(tokens, interval))
        ]
        return min(in_force)


def _blocked(tokens: int, until: int, now: float) -> Decision:
    return Decision(False, tokens, 0, 0, int(until - now), blocked=True)
