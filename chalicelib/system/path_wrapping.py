"""sys/wrapping/wrap, lookup, unwrap and rewrap: OpenBao's response-wrapping endpoints.

The pipeline has already checked the wrapping token these requests present (the body's
``token``, else the client token; see :mod:`chalicelib.core.wrapping`). Unwrapping and
rewrapping never lose the wrapped response: it is read (and for a rewrap stored under the
new token) before the old token's single use is spent, and only a spent token is revoked.
A second unwrap, or one that loses a race with another, gets OpenBao's 400.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from chalicelib.core import jsonio, wrapping
from chalicelib.core.errors import BadRequest, VaultError
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.core.runtime import Runtime, runtime
from chalicelib.framework import Field, FieldData, FieldType, Path
from chalicelib.observability import logger
from chalicelib.tokens import ids
from chalicelib.tokens.context import token_store
from chalicelib.tokens.cubbyhole import cubbyhole_folder, cubbyhole_view
from chalicelib.tokens.entry import TokenEntry
from chalicelib.tokens.revoke import revoke_orphan

UNAUTHENTICATED = ("wrapping/lookup",)
_TOKEN = {"token": Field(FieldType.STRING, "")}
_NO_INFORMATION = "no information found; wrapping token may be from a previous OpenBao version"


def _wrap(request: Request, data: FieldData) -> Response:
    """Wrap the request's own data, exactly as sent (it must be a wrapped request)."""
    if not request.wrap_ttl:
        raise BadRequest("endpoint requires response wrapping to be used")
    # Wrapped here rather than by the pipeline: the data is arbitrary, so the framework's
    # "ignored parameters" warning must not end up inside the wrapped response.
    body = wrapping.stored_body(request, Response(data=data.raw))
    info = wrapping.wrap(runtime(), request, body, ttl=request.wrap_ttl, creation_path=request.path)
    return Response(wrap_info=info)


def _lookup(request: Request, data: FieldData) -> Response:
    [details] = _contents(runtime(), _wrapping_token(request, data), wrapping.WRAPINFO_ENTRY)
    return Response(data={name: details[name] for name in sorted(details)})


def _unwrap(request: Request, data: FieldData) -> Response:
    """The original response, byte for byte as OpenBao stored it (its request ID included)."""
    rt = runtime()
    entry = _wrapping_token(request, data)
    [stored] = _contents(
        rt, entry, wrapping.RESPONSE_ENTRY, status=HTTPStatus.INTERNAL_SERVER_ERROR
    )
    body = stored["response"]
    if request.wrap_ttl:  # unwrapped straight into a new wrapping token, as OpenBao allows
        info = wrapping.wrap(rt, request, body, ttl=request.wrap_ttl, creation_path=request.path)
        _hand_over(rt, entry, info)
        return Response(wrap_info=info)
    _spend(rt, entry)
    return Response(raw=jsonio.loads(body), status=HTTPStatus.OK)


def _rewrap(request: Request, data: FieldData) -> Response:
    """The same response under a new token, with the old creation TTL and path."""
    rt = runtime()
    entry = _wrapping_token(request, data)
    details, stored = _contents(rt, entry, wrapping.WRAPINFO_ENTRY, wrapping.RESPONSE_ENTRY)
    ttl = details["creation_ttl"]
    if request.wrap_ttl:  # the shorter of the two, as OpenBao
        ttl = min(ttl, request.wrap_ttl)
    info = wrapping.wrap(
        rt, request, stored["response"], ttl=ttl, creation_path=details["creation_path"]
    )
    _hand_over(rt, entry, info)
    return Response(wrap_info=info)


def _wrapping_token(request: Request, data: FieldData) -> TokenEntry:
    """The token the request names: the body's, else the caller's own (already checked)."""
    entry = token_store(runtime()).lookup(data["token"]) if data["token"] else request.token
    if not wrapping.is_wrapping_token(entry):  # spent by a concurrent unwrap since the check
        raise BadRequest(wrapping.INVALID_WRAPPING)
    assert entry is not None
    return entry


def _contents(
    rt: Runtime, entry: TokenEntry, *names: str, status: int = HTTPStatus.BAD_REQUEST
) -> list[dict[str, Any]]:
    """The wrapping token's cubbyhole entries ``names``, in one read (missing: an error)."""
    view = cubbyhole_view(rt.barrier, rt.mounts)
    keys = [cubbyhole_folder(entry) + name for name in names]
    found = view.get_many(keys) if view is not None else {}
    if any(key not in found for key in keys):
        raise VaultError(_NO_INFORMATION, status=status)
    return [jsonio.loads(found[key].value) for key in keys]


def _hand_over(rt: Runtime, old: TokenEntry, new_info: dict[str, Any]) -> None:
    """Retire ``old`` now that a new wrapping token holds its response.

    If another unwrap spent ``old`` first, the new token would be a copy of a response
    already handed out: it is revoked and the request refused.
    """
    try:
        _spend(rt, old)
    except BadRequest:
        tokens = token_store(rt)
        revoke_orphan(tokens, ids.salted_id(tokens.salt, new_info["token"]))
        raise


def _spend(rt: Runtime, entry: TokenEntry) -> None:
    """Use the token's single use (atomically: one unwrap wins a race), then revoke it."""
    tokens = token_store(rt)
    if tokens.use(entry) is None:
        raise BadRequest(wrapping.INVALID_WRAPPING)
    try:
        revoke_orphan(tokens, entry.salted_id)
    except Exception:
        # The token is already unusable and tidy revokes spent tokens; failing the request
        # now would lose a response that exists nowhere else any more.
        logger.exception("revoking a spent wrapping token failed; tidy will finish it")


def paths() -> list[Path]:
    op = Operation
    return [
        Path(
            "wrapping/wrap", {op.UPDATE: _wrap}, synopsis="Response-wraps an arbitrary JSON object."
        ),
        Path(
            "wrapping/lookup",
            {op.READ: _lookup, op.UPDATE: _lookup},
            _TOKEN,
            synopsis="Looks up the properties of a response-wrapped token.",
            computes=True,
        ),
        Path(
            "wrapping/unwrap",
            {op.UPDATE: _unwrap},
            _TOKEN,
            synopsis="Unwraps a response-wrapped token.",
        ),
        Path(
            "wrapping/rewrap",
            {op.UPDATE: _rewrap},
            _TOKEN,
            synopsis="Rotates a response-wrapped token.",
        ),
    ]
