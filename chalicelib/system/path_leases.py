"""sys/leases/*: look up, list, renew and revoke leases; the irrevocable-lease report
(sys/leases/count, sys/leases?type=irrevocable); and the legacy sys/renew, sys/revoke.

Revocation is synchronous by default (OpenBao's `sync` defaults to true). With sync=false
(what `bao lease revoke` sends) the answer is 202, as OpenBao's lazy revoke, and the
revocation still happens before it; what does not fit the time budget waits for the sweeper.
"""

from __future__ import annotations

from http import HTTPStatus

from chalicelib.core.errors import BadRequest, multierror
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response, tidy_started
from chalicelib.core.runtime import runtime
from chalicelib.framework import Field, FieldData, FieldType, Path
from chalicelib.framework.fieldtypes import FieldError, go_atoi
from chalicelib.leases import irrevocable, manager
from chalicelib.leases.tidy import tidy_leases
from chalicelib.tokens.clock import now_ns

_LEASE_FIELDS = {"lease_id": Field(), "url_lease_id": Field()}


def _lease_id(data: FieldData) -> str:
    """The body's lease_id wins over the one in the URL, as OpenBao."""
    lease_id = data["lease_id"] or data["url_lease_id"] or ""
    if not lease_id:
        raise BadRequest("lease_id must be specified")
    return lease_id


def _lookup(request: Request, data: FieldData) -> Response:
    lease_id = data["lease_id"] or ""
    if not lease_id:
        raise BadRequest("lease_id must be specified")
    lease = manager.lookup(runtime(), lease_id)
    if lease is None:
        raise BadRequest("invalid lease")
    return Response(data=lease.lookup_view(now_ns()))


def _list(request: Request, data: FieldData) -> Response | None:
    prefix = data["prefix"] or ""
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    keys = manager.store(runtime()).list(prefix)
    return Response(data={"keys": keys}) if keys else None  # none: 404, as every LIST


def _renew(request: Request, data: FieldData) -> Response:
    lease, ttl, warnings = manager.renew(runtime(), _lease_id(data), data["increment"])
    return Response(
        lease_id=lease.lease_id, lease_duration=ttl, renewable=True, warnings=warnings
    )


def _revoke(request: Request, data: FieldData) -> Response | None:
    rt = runtime()
    lease_id = _lease_id(data)
    if data["sync"]:
        manager.revoke(rt, lease_id)
        return None
    lease = manager.store(rt).load(lease_id)
    manager.revoke_lazily(rt, [lease] if lease is not None else [])
    return Response(status=HTTPStatus.ACCEPTED)


def _revoke_prefix(request: Request, data: FieldData) -> Response | None:
    rt = runtime()
    if data["sync"]:
        manager.revoke_prefix(rt, data["prefix"])
        return None
    manager.revoke_lazily(rt, manager.leases_under(rt, data["prefix"]))
    return Response(status=HTTPStatus.ACCEPTED)


def _revoke_force(request: Request, data: FieldData) -> Response | None:
    manager.revoke_prefix(runtime(), data["prefix"], force=True)
    return None


def _tidy(request: Request, data: FieldData) -> Response:
    """Runs within the request (OpenBao runs it in the background)."""
    tidy_leases(runtime())
    return tidy_started()


_REPORT_FIELDS = {
    "type": Field(FieldType.LOWERCASE_STRING, ""),
    "include_child_namespaces": Field(FieldType.BOOL, False),  # no namespaces here
}


def _report_limit(text: str) -> int | None:
    """OpenBao's `limit`: "" is its default cap, "none" means all (None)."""
    if not text:
        return irrevocable.DEFAULT_LIMIT
    if text.lower() == "none":
        return None
    try:
        limit = go_atoi(text)
    except FieldError as error:
        raise BadRequest(multierror(f"invalid 'limit' provided: {error}")) from None
    if limit < 1:
        raise BadRequest(multierror("limit must be 'none' or a positive integer"))
    return limit


def _count(request: Request, data: FieldData) -> Response | None:
    """Only type=irrevocable is known; any other type finds nothing (404), as OpenBao."""
    if data["type"] != "irrevocable":
        return None
    return Response(data=irrevocable.counts(runtime()))


def _irrevocable_list(request: Request, data: FieldData) -> Response | None:
    if data["type"] != "irrevocable":
        return None
    report, warnings = irrevocable.listing(runtime(), _report_limit(data["limit"]))
    return Response(data=report, warnings=warnings)


def _renew_path(pattern: str) -> Path:
    fields = {**_LEASE_FIELDS, "increment": Field(FieldType.DURATION, default=0)}
    return Path(pattern, {Operation.UPDATE: _renew}, fields, synopsis="Renew a lease.")


def _revoke_path(pattern: str) -> Path:
    fields = {**_LEASE_FIELDS, "sync": Field(FieldType.BOOL, default=True)}
    return Path(pattern, {Operation.UPDATE: _revoke}, fields, synopsis="Revoke a lease.")


def _prefix_paths(name: str) -> list[Path]:
    """revoke-prefix or revoke-force, under sys/leases/ and at sys/ (legacy)."""
    handler = _revoke_force if name == "revoke-force" else _revoke_prefix
    fields = {"prefix": Field(), "sync": Field(FieldType.BOOL, default=True)}
    synopsis = (
        "Revoke every lease under a prefix, dropping those whose revocation fails."
        if name == "revoke-force"
        else "Revoke every lease under a prefix."
    )
    return [
        Path(f"{base}{name}/{{prefix:path}}", {Operation.UPDATE: handler}, fields,
             synopsis=synopsis)
        for base in ("leases/", "")
    ]


def paths() -> list[Path]:
    return [
        Path(
            "leases/lookup",
            {Operation.UPDATE: _lookup},
            {"lease_id": Field()},
            synopsis="Read a lease's properties.",
            computes=True,
        ),
        Path(
            "leases/lookup/{prefix:any}",
            {Operation.LIST: _list},
            {"prefix": Field()},
            synopsis="List the leases under a prefix.",
        ),
        _renew_path("leases/renew"),
        _renew_path("leases/renew/{url_lease_id:path}"),
        _renew_path("renew"),
        _renew_path("renew/{url_lease_id:path}"),
        _revoke_path("leases/revoke"),
        _revoke_path("leases/revoke/{url_lease_id:path}"),
        _revoke_path("revoke"),
        _revoke_path("revoke/{url_lease_id:path}"),
        *_prefix_paths("revoke-prefix"),
        *_prefix_paths("revoke-force"),
        Path(
            "leases/tidy",
            {Operation.UPDATE: _tidy},
            synopsis="Clean up the lease index's leftovers.",
        ),
        Path(
            "leases/count",
            {Operation.READ: _count},
            _REPORT_FIELDS,
            synopsis="Count the irrevocable leases.",
        ),
        Path(
            "leases",
            {Operation.READ: _irrevocable_list},
            {**_REPORT_FIELDS, "limit": Field(FieldType.STRING, "")},
            synopsis="List the irrevocable leases.",
        ),
    ]
