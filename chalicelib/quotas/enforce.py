"""The pipeline's quota hook: 429 for a client over its rate-limit quota.

As OpenBao's HTTP layer, the check runs before authentication (a flood of bad tokens is
limited too) and once the mount is known. Its cost while no rule governs the request is
the in-memory lookup only: the rules ride on the cluster-state generation the request
reads anyway (chalicelib.quotas.table).
"""

from __future__ import annotations

import hashlib
import time
from contextvars import ContextVar
from functools import cache
from http import HTTPStatus
from typing import TYPE_CHECKING

from chalicelib.core.errors import VaultError
from chalicelib.core.render import render_error
from chalicelib.core.request import HttpReply
from chalicelib.quotas import table
from chalicelib.quotas.counter import Decision, Limiter
from chalicelib.quotas.model import RateLimitQuota

if TYPE_CHECKING:
    from chalicelib.core.request import Request
    from chalicelib.core.runtime import Runtime
    from chalicelib.storage.physical import Physical

# The rate-limit headers of the request being served (when the config enables them).
_HEADERS: ContextVar[dict[str, str] | None] = ContextVar("quota_headers", default=None)


class RateLimited(VaultError):
    """429 with OpenBao's words; ``audited`` as the quota config asks."""

    status = HTTPStatus.TOO_MANY_REQUESTS

    def __init__(self, path: str, headers: dict[str, str], audited: bool) -> None:
        super().__init__(f"request path {_go_quote(path)}: rate limit quota exceeded")
        self.headers = headers
        self.audited = audited


def _go_quote(text: str) -> str:
    from chalicelib.policy.errors import go_quote

    return go_quote(text)


@cache
def _limiter(physical: Physical) -> Limiter:
    return Limiter(physical)


def enforce(rt: Runtime, request: Request) -> None:
    """Count the request against the one quota governing it, if any; RateLimited if over."""
    if rt.sealed:
        return  # as OpenBao, whose quota manager holds no rules while sealed
    quotas = table.current(rt)
    if not quotas.quotas or request.mount is None or quotas.config.is_exempt(request.path):
        return
    mount = request.mount.router_path
    role = ""
    if mount in quotas.role_mounts:
        from chalicelib.quotas.roles import login_role

        role = login_role(rt, request)
    quota = quotas.match(request.path, mount, role)
    if quota is None:
        return
    decision = _limiter(rt.physical).take(
        _budget_key(quota, request.remote_address),
        quota.tokens,
        quota.interval,
        quota.block_interval,
        time.time(),
    )
    headers = _headers(decision) if quotas.config.response_headers else {}
    if not decision.allowed:
        headers["Retry-After"] = str(decision.retry_after)
        raise RateLimited(request.path, headers, quotas.config.audit_logging)
    if headers:
        _HEADERS.set(headers)


def refusal(error: RateLimited) -> HttpReply:
    """The 429 reply, with its Retry-After (and rate-limit headers when enabled)."""
    reply = render_error(error)
    return reply._replace(headers={**reply.headers, **error.headers})


def with_headers(reply: HttpReply) -> HttpReply:
    """The reply with the request's rate-limit headers, if it has any."""
    headers = _HEADERS.get()
    if headers is None:
        return reply
    _HEADERS.set(None)
    return reply._replace(headers={**reply.headers, **headers})


def _headers(decision: Decision) -> dict[str, str]:
    if decision.blocked:
        return {}  # OpenBao: a blocked client is told when to come back, nothing more
    return {
        "X-Ratelimit-Limit": str(decision.limit),
        "X-Ratelimit-Remaining": str(decision.remaining),
        "X-Ratelimit-Reset": str(decision.reset),
    }


def _budget_key(quota: RateLimitQuota, client: str) -> str:
    """The counter of one client under one version of a rule: a changed rule starts afresh
    (as OpenBao's new limiter), and no address is stored in plaintext."""
    digest = hashlib.blake2b(digest_size=12)
    digest.update(repr(tuple(quota)).encode())
    digest.update(b"\0" + client.encode())
    return digest.hexdigest()
