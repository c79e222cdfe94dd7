"""Response wrapping, as OpenBao's ``wrapping.go``: a response kept in the cubbyhole of a
single-use token, handed to the client in its place.

A wrapping token is an orphan service token with only the ``response-wrapping`` policy,
one use, and the wrap TTL as both its TTL and its explicit max (OpenBao caps it no
further). Its cubbyhole holds OpenBao's two entries: ``response`` (``{"response": <the
JSON body, as a string>}``) and ``wrapinfo`` (creation TTL, time and path). The token, its
accessor and both entries are written in one transaction: a wrapping token never exists
without its response, and a response too big for one DynamoDB item is refused with a 400
before anything is written.

The pipeline calls :func:`prefetch` and :func:`validate` before authentication (OpenBao
checks the presented wrapping token first, with its own errors) and :func:`respond` last.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from chalicelib.core import authz, jsonio
from chalicelib.core.errors import (
    BadRequest,
    EntryTooLarge,
    InternalError,
    NotFound,
    PermissionDenied,
)
from chalicelib.core.operation import Operation
from chalicelib.core.render import render
from chalicelib.core.request import HttpReply, Request, Response
from chalicelib.core.runtime import Runtime
from chalicelib.storage.physical import Entry, Put
from chalicelib.tokens import ids
from chalicelib.tokens.acl_cache import RESPONSE_WRAPPING
from chalicelib.tokens.clock import NANOS, now_ns, rfc3339
from chalicelib.tokens.context import token_store
from chalicelib.tokens.cubbyhole import cubbyhole_folder, cubbyhole_view
from chalicelib.tokens.entry import TokenEntry
from chalicelib.tokens.store import service_token_writes

UNWRAP_PATH = "sys/wrapping/unwrap"
# The paths whose wrapping token OpenBao validates before anything else.
TOKEN_PATHS = frozenset({"sys/wrapping/lookup", "sys/wrapping/rewrap", UNWRAP_PATH})
RESPONSE_ENTRY = "response"
WRAPINFO_ENTRY = "wrapinfo"
INVALID_WRAPPING = "wrapping token is not valid or does not exist"
_VALIDATION_FAILED = "error validating wrapping token"
_DEPRECATED_READ = (
    "Reading from 'cubbyhole/response' is deprecated. Please use sys/wrapping/unwrap to "
    "unwrap responses, as it provides additional security checks and other benefits."
)


def is_wrapping_token(entry: TokenEntry | None) -> bool:
    """OpenBao's ``IsWrappingToken``: exactly the response-wrapping policy."""
    return entry is not None and entry.policies == (RESPONSE_WRAPPING,)


# -- before authentication: the wrapping token a sys/wrapping request presents -----------


def _body_token(request: Request) -> object:
    """The ``token`` field; JSON null counts as absent, as in OpenBao."""
    return request.data.get("token") if request.path in TOKEN_PATHS else None


def prefetch(rt: Runtime, request: Request) -> list[str]:
    """The storage key of a wrapping token given in the body, for the pipeline's first read."""
    token = _body_token(request)
    if not isinstance(token, str) or not token or token == request.client_token:
        return []  # nothing to read, or read already as the client token
    return authz.identify(rt, token).prefetch


def _presented(request: Request) -> str:
    token = _body_token(request)
    if token is None:
        token = request.client_token
        if not token:
            raise PermissionDenied(f"{_VALIDATION_FAILED}: token is empty")
    elif not isinstance(token, str):
        raise PermissionDenied(f"{_VALIDATION_FAILED}: could not decode token in request body")
    elif not token:
        raise PermissionDenied(f"{_VALIDATION_FAILED}: empty token in request body")
    return token


def validate(rt: Runtime, request: Request, values: Mapping[str, Entry]) -> None:
    """OpenBao's ``validateWrappingToken`` for lookup, unwrap and rewrap.

    The token in the body, else the client token, must be a live wrapping token; its entry
    was read with the request's cluster state (see :func:`prefetch`).
    """
    credential = authz.identify(rt, _presented(request))
    entry = authz.resolve(rt, credential, values, request.remote_address)
    if not is_wrapping_token(entry):
        raise BadRequest(INVALID_WRAPPING)


def unwraps_itself(request: Request) -> bool:
    """A wrapping token unwrapping itself: its handler spends the use once the response is read."""
    return request.path == UNWRAP_PATH and _body_token(request) is None


# -- after the handler: the envelope, wrapped when asked ----------------------------------


def respond(rt: Runtime, request: Request, response: Response | None) -> HttpReply:
    """The pipeline's last step: render ``response``, wrapping it if the client asked to.

    As OpenBao, only a response with a body is wrapped: not a 204, not a 404, not the raw
    bodies of seal-status, health and the like; an empty LIST is refused instead.
    """
    if response is not None and response.wrap_info is not None:
        return envelope(request, response.wrap_info)  # a sys/wrapping handler wrapped it
    if request.wrap_ttl and request.operation is Operation.LIST:
        _check_listing(response)
    if response is not None and _reads_own_response(request):
        response.warnings.append(_DEPRECATED_READ)
    reply = render(request, response)
    if not request.wrap_ttl or response is None or response.raw is not None or reply.body is None:
        return reply
    accessor = (response.auth or {}).get("accessor", "")
    info = wrap(
        rt,
        request,
        stored_body(request, response),
        ttl=request.wrap_ttl,
        creation_path=request.path,
        wrapped_accessor=accessor,
    )
    return envelope(request, info)


def _reads_own_response(request: Request) -> bool:
    return request.path == "cubbyhole/response" and is_wrapping_token(request.token)


def _check_listing(response: Response | None) -> None:
    """OpenBao will not wrap a listing with nothing in it: 404 rather than an empty secret."""
    if response is None or not (response.data or response.warnings):
        raise NotFound("unsupported path")
    keys = (response.data or {}).get("keys")
    if keys is not None and not (isinstance(keys, list) and keys):
        raise NotFound("unsupported path")


def stored_body(request: Request, response: Response) -> str:
    """The response as OpenBao stores it: the plain envelope (no legacy top-level copy)."""
    plain = copy.copy(response)  # a shallow copy, as dataclasses.replace made
    plain.legacy_top_level, plain.wrap_info = False, None
    body = render(request, plain).body
    return _compact(body)


def envelope(request: Request, wrap_info: dict[str, Any]) -> HttpReply:
    """What the client gets instead: only ``wrap_info``, no request ID, no warnings."""
    reply = render(request, Response(wrap_info=wrap_info))
    return reply._replace(body={**reply.body, "request_id": ""})


def wrap(
    rt: Runtime,
    request: Request,
    body: str,
    *,
    ttl: int,
    creation_path: str,
    wrapped_accessor: str = "",
) -> dict[str, Any]:
    """Create a wrapping token holding ``body``; returns the ``wrap_info`` for the client."""
    now = now_ns()
    entry = TokenEntry(
        accessor=ids.new_accessor(),
        policies=(RESPONSE_WRAPPING,),
        path=request.path,
        display_name=request.token.display_name if request.token else "",
        creation_time=now // NANOS,
        ttl=ttl,
        explicit_max_ttl=ttl,
        num_uses=1,
        issued_ns=now,
        expires_ns=now + ttl * NANOS,
        lease_ttl=ttl,
        cubbyhole_id=ids.random_base62(),
    )
    token_id = ids.new_token_id()
    created = rfc3339(now)
    details = {"creation_path": creation_path, "creation_time": created, "creation_ttl": ttl}
    _persist(rt, token_id, entry, {RESPONSE_ENTRY: {"response": body}, WRAPINFO_ENTRY: details})
    info: dict[str, Any] = {
        "token": token_id,
        "accessor": entry.accessor,
        "ttl": ttl,
        "creation_time": created,
        "creation_path": creation_path,
    }
    if wrapped_accessor:
        info["wrapped_accessor"] = wrapped_accessor
    return info


def _persist(
    rt: Runtime, token_id: str, entry: TokenEntry, contents: Mapping[str, dict[str, Any]]
) -> None:
    view = cubbyhole_view(rt.barrier, rt.mounts)
    if view is None:
        raise InternalError()  # the cubbyhole mount is created at init and cannot be removed
    folder = view.prefix + cubbyhole_folder(entry)
    writes = [
        *service_token_writes(token_store(rt).salt, token_id, entry),
        *(Put(folder + name, _compact(value).encode(), 0) for name, value in contents.items()),
    ]
    try:
        rt.barrier.transact(writes)
    except EntryTooLarge as error:
        raise EntryTooLarge(f"response is too large to wrap: {error.message}") from None


def _compact(value: object) -> str:
    # As StorageView.put_json: every byte counts against the 400 KB item limit.
    return jsonio.dumps(value)
