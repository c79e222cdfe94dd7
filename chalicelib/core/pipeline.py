"""The one request pipeline every transport calls.

seal check -> route -> token -> ACL -> engine -> lease -> envelope (wrapped when asked).
(Audit: a request record before the engine runs, a response record on the way out; both
together on the way out when the operation changes nothing.)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from functools import cache, partial
from typing import Any

from chalicelib import audit, observability
from chalicelib.core import authz, awsfaults, lockout, login, wrapping
from chalicelib.core.errors import NotFound, PermissionDenied, RateLimited, Sealed, VaultError
from chalicelib.core.mounts import SYSTEM_MOUNT, MountEntry
from chalicelib.core.operation import Operation
from chalicelib.core.render import render_error
from chalicelib.core.request import HttpReply, Request
from chalicelib.core.runtime import Runtime, runtime
from chalicelib.engines.registry import backend_of
from chalicelib.framework import Backend, Path, PathMatch
from chalicelib.leases import manager as leases
from chalicelib.observability import logger
from chalicelib.quotas import QUOTAS_GENERATION
from chalicelib.storage import writeguard
from chalicelib.storage.view import StorageView
from chalicelib.system.mount_config import LOCKOUT_TYPES
from chalicelib.tokens.cubbyhole import CUBBYHOLE_TYPE, require_service_token

# Operations that change nothing unless their path declares ``side_effects``.
_ANSWER_ONLY = frozenset({Operation.READ, Operation.LIST})
# Served while sealed or uninitialised (Vault's unauthenticated seal/health endpoints).
SEAL_EXEMPT = frozenset({"sys/seal-status", "sys/health", "sys/init", "sys/unseal", "sys/leader"})


def handle(request: Request) -> HttpReply:
    """Run one request through the pipeline; never raises."""
    started = time.perf_counter()
    logger.set_correlation_id(request.request_id)
    reply = _traced_handle(request)
    elapsed = time.perf_counter() - started
    # The Operation itself: a StrEnum is its value, without the enum property lookup.
    observability.record_request(request.operation, request.path, reply.status, elapsed)
    return reply


def _safe_handle(request: Request) -> HttpReply:
    try:
        reply = _handle(request, runtime())
    except RateLimited as error:
        reply = render_error(error)  # with its Retry-After and rate-limit headers
        if error.audited:  # only when the quota config asks; OpenBao only warns on failure
            audit.log_response(request, reply)
        return reply
    except VaultError as error:
        reply = render_error(error)
    except Exception as error:
        # An AWS outage is a 503; anything else a 500, its traceback (no request data) logged.
        reply = render_error(awsfaults.client_error(error, request.path))
    if request.reply_headers:
        reply = reply._replace(headers={**reply.headers, **request.reply_headers})
    return audit.log_response(request, reply)


@cache
def _tracer_wrapped() -> Callable[[Request], HttpReply]:
    return observability.traced(_safe_handle)


def _traced_handle(request: Request) -> HttpReply:
    return _tracer_wrapped()(request)


def _route(rt: Runtime, request: Request, exempt: bool) -> MountEntry | None:
    if exempt:
        return SYSTEM_MOUNT
    return rt.auth.longest_prefix(request.path) or rt.mounts.longest_prefix(request.path)


def _guess_route(rt: Runtime, request: Request) -> tuple[MountEntry, PathMatch] | None:
    """Route on this container's tables before the request's read refreshes them, so the
    keys the target path declares (``prefetch``) can ride in that first round trip."""
    mount = None if rt.sealed else _route(rt, request, exempt=False)
    if mount is None:
        return None
    try:
        backend = backend_of(mount)
        return mount, backend.match(request.path[len(mount.router_path):])
    except VaultError:
        return None


def _prefetch_keys(
    rt: Runtime, request: Request, guess: tuple[MountEntry, PathMatch] | None
) -> list[str]:
    if guess is None:
        return []
    mount, (path, captures) = guess
    declared = path.prefetch(_lookahead(captures, request.data)) if path.prefetch else ()
    return [
        *(mount.storage_prefix + key for key in declared),
        *login.prefetch(rt, mount, path, captures, request.data),
    ]


def _lookahead(captures: Mapping[str, str], body: Mapping[str, Any]) -> Mapping[str, str]:
    """What a path's prefetch sees: its captures over the body's string fields (a login's
    role named in the body rides in the first read too). Unvalidated: a bad value names
    a key nobody reads, and the handler then refuses it."""
    strings = {name: value for name, value in body.items() if isinstance(value, str)}
    return {**strings, **captures} if strings else captures


def _handle(request: Request, rt: Runtime) -> HttpReply:
    rt.ensure_loaded()
    credential = authz.identify(rt, request.client_token)
    guess = _guess_route(rt, request)
    path_keys = _prefetch_keys(rt, request, guess)
    identity_keys = authz.identity_prefetch(rt, credential)
    mounts, auth = rt.mounts, rt.auth
    values = rt.begin(
        [*credential.prefetch, *identity_keys, *wrapping.prefetch(rt, request), *path_keys]
    )
    exempt = request.path.rstrip("/") in SEAL_EXEMPT
    unchanged = mounts is rt.mounts and auth is rt.auth  # new tables are new objects
    # Route again only if the read brought new mount tables (routing costs ~4 lookups).
    mount = None if rt.sealed and not exempt else (
        guess[0] if guess is not None and unchanged and not exempt else _route(rt, request, exempt)
    )
    if mount is not None:
        request.mount = mount
        request.mount_path = mount.router_path
    if not rt.sealed and rt.state.generation(QUOTAS_GENERATION):
        # As OpenBao's HTTP layer: before any other answer, token or route (a global rule
        # counts paths no mount serves). Imported only once a rule was ever written.
        from chalicelib.quotas.enforce import enforce

        enforce(rt, request)
    if (
        request.path.rstrip("/") == "sys/seal"
        and request.operation is not Operation.HELP  # OpenBao's help handler comes first
        and (rt.sealed or request.operation not in (Operation.CREATE, Operation.UPDATE))
    ):
        # OpenBao answers these in its HTTP layer, before any token or seal check.
        from chalicelib.system.path_seal import http_layer_reply

        return http_layer_reply(request)
    if rt.sealed and not exempt:
        raise rt.unseal_error or Sealed()
    if request.path in wrapping.TOKEN_PATHS:
        wrapping.validate(rt, request, values)

    if mount is None:
        # Without a valid token Vault says nothing about which paths exist.
        if authz.resolve(rt, credential, values, request.remote_address) is None:
            raise PermissionDenied()
        raise NotFound(f'no handler for route "{request.path}". route entry not found.')
    backend = backend_of(mount)
    relative = request.relative_path
    if request.operation is Operation.HELP:
        from chalicelib.core import helprequest  # only help requests import the generator

        return helprequest.reply(rt, request, backend, credential, values, identity_keys)
    # The refresh rarely changes the route; when it does, the guess is simply not used.
    same_route = guess is not None and guess[0] == mount
    match = guess[1] if guess is not None and same_route else backend.match(relative)
    if not rt.sealed:
        prefetched = {key: values.get(key) for key in path_keys} if same_route else {}
        request.storage = StorageView(rt.barrier, mount.storage_prefix, prefetched)
    if backend.is_unauthenticated(relative):
        # A token is optional here, but a valid one may show more (e.g. internal/ui/mounts).
        request.token = authz.resolve(rt, credential, values, request.remote_address)
        _resolve_write(request, backend, match, exempt)
        return _dispatch(request, rt, backend, match)
    request.token = authz.authenticate(rt, request, credential, values, identity_keys)
    _resolve_write(request, backend, match, exempt)
    with _spending_a_use(rt, request):
        authz.authorize(rt, request, request.token, sudo_path=backend.is_sudo(relative))
        if mount.type == CUBBYHOLE_TYPE:
            require_service_token(request)
        return _dispatch(request, rt, backend, match)


def _changes_something(request: Request, path: Path) -> bool:
    """Whether the operation may change anything but its answer, decided from declarations
    before it runs: a write unless its path declares that its UPDATE ``computes``, a read its
    path declares (``side_effects``: dynamic credentials, a login by GET), a wrapped
    response, a use-limited token's use."""
    token = request.token
    operation = request.operation
    if operation in _ANSWER_ONLY:
        declared = path.side_effects
    else:
        declared = not (path.computes and operation is Operation.UPDATE)
    return declared or bool(request.wrap_ttl) or (token is not None and token.num_uses != 0)


def _resolve_write(request: Request, backend: Backend, match: PathMatch, exempt: bool) -> None:
    """CREATE or UPDATE, decided once the token is known (an existence check may need it,
    e.g. a cubbyhole's) and before the ACL, which grants the two separately."""
    if request.operation in (Operation.CREATE, Operation.UPDATE) and not exempt:
        request.operation = backend.resolve_write(request, match)


_NO_USE_SPENT = nullcontext()
_NO_GUARD = nullcontext()


def _spending_a_use(rt: Runtime, request: Request) -> AbstractContextManager[None]:
    # A wrapping token unwrapping itself is spent by the handler, after the response is
    # read: spending it first would lose the response to any failure in between. Most
    # tokens have no use limit: nothing to spend, nothing to set up.
    assert request.token is not None
    if request.token.num_uses == 0 or wrapping.unwraps_itself(request):
        return _NO_USE_SPENT
    return authz.counted_use(rt, request)


def _dispatch(request: Request, rt: Runtime, backend: Backend, match: PathMatch) -> HttpReply:
    assert request.mount is not None
    # Fail closed: no request record, no operation (for an operation that only answers,
    # no answer: its request record goes out with the response record, in one call).
    changes = _changes_something(request, match.path)
    audit.log_request(rt, request, changes=changes)
    # An operation audited after it runs must not write; one that does anyway sends its
    # request record first (storage/writeguard).
    waiting: AbstractContextManager[None] = _NO_GUARD
    if not changes:
        waiting = writeguard.request_record_waiting(
            match.path.pattern, partial(audit.log_waiting_request, rt, request)
        )
    with waiting:
        if match.path.lockout_alias is not None and request.mount.type in LOCKOUT_TYPES:
            alias = match.path.lockout_alias(match.path.parse(match.captures, request.data))
            assert request.storage is not None
            response = lockout.guarded(
                request.storage, request.mount, alias, lambda: backend.handle(request, match)
            )
        else:
            response = backend.handle(request, match)
        if response is not None and response.login is not None:
            response = login.complete(rt, request, response)
        if response is not None and response.secret is not None:
            leases.register(rt, request, response)  # before wrapping: the wrapped copy has it
    return wrapping.respond(rt, request, response)
