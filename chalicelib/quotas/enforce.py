"""The pipeline's quota hook: 429 for a client over its rate-limit quota.

As OpenBao's HTTP layer, the check runs for every request, before authentication (a flood
of bad tokens is limited too) and whether or not a mount serves its path (a global rule
counts those). The pipeline imports this module only once the cluster has had a rule or
a config (its ``quotas`` generation is past 0); even then, a request no rule governs
costs the in-memory lookup only: the rules ride on the cluster-state generation the
request reads anyway (chalicelib.quotas.table).
"""

from __future__ import annotations

import hashlib
import time
from functools import cache
from typing import TYPE_CHECKING

from chalicelib.core.errors import RateLimited
from chalicelib.quotas import table
from chalicelib.quotas.counter import Decision, Limiter
from chalicelib.quotas.model import RateLimitQuota

if TYPE_CHECKING:
    from chalicelib.core.request import Request
    from chalicelib.core.runtime import Runtime
    from chalicelib.storage.physical import Physical


def _go_quote(text: str) -> str:
    from chalicelib.policy.errors import go_quote

    return go_quote(text)


@cache
def _limiter(physical: Physical) -> Limiter:
    return Limiter(physical)


def enforce(rt: Runtime, request: Request) -> None:
    """Count the request against the one quota governing it, if any; RateLimited if over.
    A request no mount serves (``request.mount`` None) can only fall under a global rule."""
    if rt.sealed:
        return  # as OpenBao, whose quota manager holds no rules while sealed
    quotas = table.current(rt)
    if not quotas.quotas or quotas.config.is_exempt(request.path):
        return
    mount = request.mount.router_path if request.mount is not None else ""
    role = ""
    if mount in quotas.role_mounts:
        from chalicelib.quotas.roles import login_role

        role = login_role(rt, request)
    quota = quotas.match(request.path, mount, role)
    if quota is None:
        return
    assert rt.token_salt is not None  # unsealed
    decision = _limiter(rt.physical).take(
        _budget_key(rt.token_salt, quota, request.remote_address),
        quota.tokens,
        quota.interval,
        quota.block_interval,
        time.time(),
    )
    headers = _headers(decision) if quotas.config.response_headers else {}
    if not decision.allowed:
        headers["Retry-After"] = str(decision.retry_after)
        message = f"request path {_go_quote(request.path)}: rate limit quota exceeded"
        raise RateLimited(message, headers, audited=quotas.config.audit_logging)
    if headers:
        request.reply_headers = headers


def _headers(decision: Decision) -> dict[str, str]:
    if decision.blocked:
        return {}  # OpenBao: a blocked client is told when to come back, nothing more
    return {
        "X-Ratelimit-Limit": str(decision.limit),
        "X-Ratelimit-Remaining": str(decision.remaining),
        "X-Ratelimit-Reset": str(decision.reset),
    }


def _budget_key(salt: bytes, quota: RateLimitQuota, client: str) -> str:
    """The counter of one client under one version of a rule: a changed rule starts afresh
    (as OpenBao's new limiter). Keyed with the cluster's token salt (a barrier secret): an
    unkeyed hash of an IPv4 address is reversed by trying all 2^32 of them."""
    digest = hashlib.blake2b(digest_size=12, key=salt[:64], person=b"rate-limit")
    digest.update(repr(tuple(quota)).encode())
    digest.update(b"\0" + client.encode())
    return digest.hexdigest()
