"""sys/audit and sys/audit-hash: list, enable and disable audit devices; hash a value.

Answers and error texts are OpenBao's. OpenBao 2.3.2+ refuses API-enabled devices unless
its server config sets ``unsafe_allow_api_audit_creation`` (and ``allow_audit_log_prefixing``
for ``prefix``); Lambdavault has no server config file, so sys/audit behaves as such a
server does, still behind root or sudo.
"""

from __future__ import annotations

import uuid

from chalicelib.audit import table
from chalicelib.audit.broker import broker_for
from chalicelib.audit.devices import Device, DeviceError
from chalicelib.audit.hashing import hmac_value
from chalicelib.audit.record import probe_entry
from chalicelib.audit.table import AuditEntry, Table, normalize_path
from chalicelib.core.errors import BadRequest
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.core.runtime import runtime
from chalicelib.framework import Field, FieldData, FieldType, Path

_ENABLE_FIELDS = {
    "type": Field(FieldType.STRING, ""),
    "description": Field(FieldType.STRING, ""),
    "options": Field(FieldType.KV_PAIRS, dict),
    "local": Field(FieldType.BOOL, False),
}
_HASH_FIELDS = {"input": Field(FieldType.STRING, "")}


def _current() -> dict[str, Device]:
    """The enabled devices as this container knows them after this request's state read."""
    rt = runtime()
    broker = broker_for(rt)
    broker.current(rt)
    return dict(broker.devices)


def _list(request: Request, data: FieldData) -> Response:
    devices = _current()
    listing = {path: devices[path].entry.to_api() for path in sorted(devices)}
    return Response(data=listing, legacy_top_level=True)


def _clash(entries: Table | list[AuditEntry], path: str) -> bool:
    return any(e.path.startswith(path) or path.startswith(e.path) for e in entries)


def _options(data: FieldData) -> dict[str, str]:
    """Options as strings; a JSON boolean becomes "1" or "0", as Go's weak decoding makes it."""
    options = dict(data["options"])
    raw = data.raw.get("options")
    if isinstance(raw, dict):
        options.update({k: "1" if v else "0" for k, v in raw.items() if isinstance(v, bool)})
    return options


def _enable(request: Request, data: FieldData) -> None:
    path = normalize_path(data["path"])
    if _clash([device.entry for device in _current().values()], path):
        raise BadRequest("path already in use")
    options = _options(data)
    entry = AuditEntry.new(
        path, data["type"], description=data["description"], options=options,
        local=data["local"],
    )
    rt = runtime()
    broker = broker_for(rt)
    try:
        device = broker.build(entry)
        device.check()
    except DeviceError as error:
        raise BadRequest(str(error)) from None
    if options.get("skip_test") != "true":
        try:
            device.log(probe_entry(str(uuid.uuid4())))
        except DeviceError as error:
            raise BadRequest(f"audit backend failed test message: {error}") from None

    def add(current: Table) -> Table:
        if _clash(current, path):
            raise BadRequest("path already in use")
        return (*current, entry)

    entries, generation = table.update(rt, add)
    # This container logs to the new device from this request's response record on.
    broker.install(entries, generation, adopted=device)


def _disable(request: Request, data: FieldData) -> None:
    path = normalize_path(data["path"])
    if path not in _current():
        return  # Vault answers 204 for a device that is not there

    def remove(current: Table) -> Table:
        return tuple(entry for entry in current if entry.path != path)

    rt = runtime()
    entries, generation = table.update(rt, remove)
    broker_for(rt).install(entries, generation)


def _hash(request: Request, data: FieldData) -> Response:
    """Vault's sys/audit-hash: the value as the device's records show it."""
    if not data["input"]:
        raise BadRequest('the "input" parameter is empty')
    path = normalize_path(data["path"])
    device = _current().get(path)
    if device is None:
        raise BadRequest(f'unknown audit backend "{path}"')
    return Response(
        data={"hash": hmac_value(device.entry.salt, data["input"])}, legacy_top_level=True
    )


def paths() -> list[Path]:
    op = Operation
    return [
        Path("audit", {op.READ: _list}, synopsis="List the enabled audit devices."),
        Path(
            "audit/{path:path}",
            {op.UPDATE: _enable, op.DELETE: _disable},
            _ENABLE_FIELDS,
            synopsis="Enable or disable an audit device.",
        ),
        Path(
            "audit-hash/{path:path}",
            {op.UPDATE: _hash},
            _HASH_FIELDS,
            synopsis="Hash a value with an audit device's HMAC key, as its log shows it.",
            computes=True,
        ),
    ]
