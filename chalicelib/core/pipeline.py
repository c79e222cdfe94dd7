"""The one request pipeline every transport calls.

seal check -> route -> token -> ACL -> engine -> envelope. (Lease registration, wrapping and
audit attach at the marked points as their issues land.)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import cache

from chalicelib import observability
from chalicelib.core import authz
from chalicelib.core.errors import InternalError, NotFound, PermissionDenied, Sealed, VaultError
from chalicelib.core.mounts import SYSTEM_MOUNT
from chalicelib.core.operation import Operation
from chalicelib.core.render import render, render_error
from chalicelib.core.request import HttpReply, Request
from chalicelib.core.runtime import Runtime, runtime
from chalicelib.engines.registry import backend_for
from chalicelib.observability import logger
from chalicelib.storage.view import StorageView
from chalicelib.tokens.ids import id_key

# Served while sealed or uninitialised (Vault's unauthenticated seal/health endpoints).
SEAL_EXEMPT = frozenset({"sys/seal-status", "sys/health", "sys/init", "sys/unseal", "sys/leader"})


def handle(request: Request) -> HttpReply:
    """Run one request through the pipeline; never raises."""
    started = time.perf_counter()
    logger.set_correlation_id(request.request_id)
    reply = _traced_handle(request)
    elapsed = time.perf_counter() - started
    logger.info(
        "request",
        extra={
            "operation": request.operation.value,
            "path": request.path,
            "status": reply.status,
            "duration_ms": round(elapsed * 1000, 3),
        },
    )
    observability.record_request(request.operation.value, reply.status, elapsed)
    return reply


def _safe_handle(request: Request) -> HttpReply:
    try:
        return _handle(request, runtime())
    except VaultError as error:
        return render_error(error)
    except Exception:
        # The traceback goes to the log (it holds no request data); the client sees 500 only.
        logger.exception("unhandled error", extra={"path": request.path})
        return render_error(InternalError())


@cache
def _tracer_wrapped() -> Callable[[Request], HttpReply]:
    return observability.traced(_safe_handle)


def _traced_handle(request: Request) -> HttpReply:
    return _tracer_wrapped()(request)


def _handle(request: Request, rt: Runtime) -> HttpReply:
    rt.ensure_loaded()
    token_key = (
        id_key(rt.token_salt, request.client_token)
        if request.client_token and rt.token_salt
        else None
    )
    values = rt.begin([token_key] if token_key else [])
    exempt = request.path.rstrip("/") in SEAL_EXEMPT
    if rt.sealed and not exempt:
        raise Sealed()

    mount = (
        SYSTEM_MOUNT
        if exempt
        else rt.auth.longest_prefix(request.path) or rt.mounts.longest_prefix(request.path)
    )
    if mount is None:
        # Without a valid token Vault says nothing about which paths exist.
        if authz.optional_token(values.get(token_key) if token_key else None) is None:
            raise PermissionDenied()
        raise NotFound(f'no handler for route "{request.path}". route entry not found.')
    request.mount = mount
    request.mount_path = mount.router_path
    backend = backend_for(mount.type)
    relative = request.relative_path
    match = backend.match(relative)
    if request.operation in (Operation.CREATE, Operation.UPDATE) and not exempt:
        request.storage = StorageView(rt.barrier, mount.storage_prefix)
        request.operation = backend.resolve_write(request, match)

    raw_token = values.get(token_key) if token_key else None
    if backend.is_unauthenticated(relative):
        # A token is optional here, but a valid one may show more (e.g. internal/ui/mounts).
        request.token = authz.optional_token(raw_token)
    else:
        request.token = authz.token_from_storage(raw_token)
        authz.authorize(request, request.token, sudo_path=backend.is_sudo(relative))

    if not rt.sealed:
        request.storage = StorageView(rt.barrier, mount.storage_prefix)
    response = backend.handle(request, match)
    return render(request, response)
