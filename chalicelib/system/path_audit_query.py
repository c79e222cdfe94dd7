"""sys/audit-query and sys/audit-verify (Lambdavault extensions): a device's recent records.

What ``lambdavault audit query`` and ``audit verify`` answer from a workstation, answered by
the server for operators and its web UI: the requests of a time window (filtered by path,
identity and accessor) and the check of the window's hash chains, read back from an s3
device's bucket or a file device's log within :mod:`chalicelib.audit.readback`'s bounds.
Reading the audit log is as privileged as configuring it: both paths need sudo, as
sys/audit does (see the system backend's SUDO).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from chalicelib.audit.broker import broker_for
from chalicelib.audit.devices import UnusableDevice
from chalicelib.audit.table import normalize_path
from chalicelib.core.errors import BadRequest, VaultError
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.core.runtime import runtime
from chalicelib.framework import Field, FieldData, FieldType, Path

if TYPE_CHECKING:
    from chalicelib.audit.devices import Device
    from chalicelib.audit.readback import Extent, Window
    from chalicelib.audit.verify import Line

UNAUTHENTICATED: tuple[str, ...] = ()
SUDO = ("audit-query/*", "audit-verify/*")

LIMIT_DEFAULT, LIMIT_MAX = 100, 1000
_LATEST = 253_370_764_800 * 1_000_000_000  # 9999-01-01: a window's slack stays in datetime's range
DEFAULT_SINCE = "24h"
# Vault's entity ids are UUIDs; anything else names the login (an alias, see query.has_alias).
_ENTITY_ID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
# Reading the log: short connects, and room for an object of a few MiB.
_S3_CLIENT_CONFIG = {
    "connect_timeout": 2,
    "read_timeout": 10,
    "retries": {"max_attempts": 3, "mode": "standard"},
}

_WINDOW_FIELDS = {
    "since": Field(FieldType.STRING, DEFAULT_SINCE,
                   "records at or after: RFC 3339, a date, or a duration ago (24h, 7d)"),
    "until": Field(FieldType.STRING, "", "records at or before (same forms); now when empty"),
}
_QUERY_FIELDS = {
    **_WINDOW_FIELDS,
    "path_prefix": Field(FieldType.STRING, "", "requests to API paths starting with this"),
    "entity": Field(FieldType.STRING, "", "an entity id, or the name a token logged in as"),
    "accessor": Field(FieldType.STRING, "", "a token accessor, plain or as sys/audit-hash gives"),
    "limit": Field(FieldType.INT, LIMIT_DEFAULT, f"most recent requests returned (1-{LIMIT_MAX})"),
}


def _device(name: str) -> Device:
    """The enabled device at ``name``; 400 with sys/audit-hash's words when there is none."""
    path = normalize_path(name)
    rt = runtime()
    device = {d.entry.path: d for d in broker_for(rt).current(rt)}.get(path)
    if device is None:
        raise BadRequest(f'unknown audit backend "{path}"')
    return device


def _window(data: FieldData) -> Window:
    from chalicelib.audit.query import parse_moment
    from chalicelib.audit.readback import Window
    from chalicelib.tokens.clock import now_ns

    now = now_ns()
    try:
        since = parse_moment(data["since"] or DEFAULT_SINCE, now)
        until = parse_moment(data["until"], now) if data["until"] else now
    except ValueError as error:
        raise BadRequest(str(error)) from None
    if since > until:
        raise BadRequest('"since" is later than "until"')
    if since < 0 or until > _LATEST:
        raise BadRequest('"since" and "until" must fall between 1970 and 9998')
    return Window(since, until)


def _read(device: Device, window: Window) -> tuple[list[Line], Extent]:
    """The device's lines in ``window``: the objects of an s3 device, a file device's log."""
    from botocore.exceptions import BotoCoreError, ClientError

    from chalicelib.audit import readback
    from chalicelib.audit.devices import file, s3

    path = device.entry.path
    if isinstance(device, UnusableDevice):
        raise VaultError(f'audit device "{path}" is unusable: {device.reason}', status=500)
    try:
        if isinstance(device, s3.Device):
            context = broker_for(runtime()).context
            firehose = context.client("firehose", **s3.CLIENT_CONFIG)
            destinations = readback.stream_destinations(firehose, device.streams)
            client = context.client("s3", **_S3_CLIENT_CONFIG)
            return readback.read_objects(client, destinations, window, readback.Limits())
        if isinstance(device, file.Device) and device.path not in file.SPECIAL:
            return readback.read_file_tail(device.path, readback.Limits())
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "Unknown")
        raise VaultError(f'reading the log of audit device "{path}": {code}', status=500) from None
    except BotoCoreError as error:
        message = f'reading the log of audit device "{path}": {type(error).__name__}'
        raise VaultError(message, status=500) from None
    except OSError as error:
        message = f'reading the log of audit device "{path}": {error.strerror or error}'
        raise VaultError(message, status=500) from None
    raise BadRequest(f'audit device "{path}" writes to {_destination(device)}, which this '
                     f"server cannot read back: only s3 and file devices can be queried")


def _destination(device: Device) -> str:
    return str(getattr(device, "path", "stdout")) if device.entry.type == "file" else "stdout"


def _about(device: Device, window: Window, extent: Extent) -> dict[str, Any]:
    return {"device": device.entry.path, "type": device.entry.type,
            "window": window.to_json(), "extent": extent.to_json()}


def _query(request: Request, data: FieldData) -> Response:
    """The requests of the window the filters select, newest first (at most ``limit``)."""
    from chalicelib.audit import query
    from chalicelib.audit.hashing import hmac_value

    limit = data["limit"]
    if not 1 <= limit <= LIMIT_MAX:
        raise BadRequest(f'"limit" must be between 1 and {LIMIT_MAX}')
    device, window = _device(data["device"]), _window(data)
    entity, accessor = data["entity"].strip(), data["accessor"].strip()
    if accessor and not query.is_hashed(accessor) and device.config.hmac_accessor:
        accessor = hmac_value(device.entry.salt, accessor)  # as this device records it
    by_id = bool(_ENTITY_ID.fullmatch(entity))
    selected = query.Filter(
        entity=entity if by_id else "", alias="" if by_id else entity,
        accessors=(accessor,) if accessor else (), path_prefix=data["path_prefix"],
        since=window.since, until=window.until,
    )
    lines, extent = _read(device, window)
    coverage = query.Coverage()
    found = [access for access in query.requests(query.read(lines, coverage), selected)
             if access.request_id != request.request_id]  # not this query itself
    newest = [access.to_json() for access in reversed(found[-limit:])]
    return Response(data={**_about(device, window, extent), "requests": newest,
                          "matched": len(found), "coverage": coverage.to_json()})


def _verify(request: Request, data: FieldData) -> Response:
    """The hash chains of the window's records: intact, or what was edited, moved or deleted."""
    from chalicelib.audit import verify
    from chalicelib.audit.readback import checkable

    device, window = _device(data["device"]), _window(data)
    lines, extent = _read(device, window)
    if extent.complete_from is not None:  # objects of a window: its records, those in hand
        lines = checkable(lines, extent.complete_from, window.until)
    # Chains that began before the records checked are expected; a file is whole unless cut.
    partial = extent.complete_from is not None or bool(extent.truncated)
    report = verify.verify(lines, partial=partial)
    summary = verify.verdict(report)
    if not report.records and extent.truncated:
        summary = f"FAILED: nothing to check in full ({extent.truncated}): narrow the window"
    return Response(data={**_about(device, window, extent), **report.to_json(),
                          "ok": report.ok, "summary": summary, "partial": partial})


def paths() -> list[Path]:
    return [
        Path("audit-query/{device:path}", {Operation.READ: _query}, _QUERY_FIELDS,
             synopsis="Recent requests in an audit device's log"),
        Path("audit-verify/{device:path}", {Operation.READ: _verify}, _WINDOW_FIELDS,
             synopsis="Check the hash chains of an audit device's recent records"),
    ]
