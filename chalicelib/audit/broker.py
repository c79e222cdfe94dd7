"""The audit broker: this container's devices, and the rule that at least one must log.

Devices are cached per ``audit`` generation. The generation arrives with the cluster
state in every request's one BatchGetItem, so a warm request reads nothing more; the
table is reread (one GetItem) only after a device was enabled or disabled somewhere.
A device object lives as long as its entry: its chain continues across reloads.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from chalicelib.audit import table
from chalicelib.audit.devices import Context, Device, DeviceError, UnusableDevice, build_device
from chalicelib.observability import logger

if TYPE_CHECKING:
    from chalicelib.audit.table import AuditEntry, Table
    from chalicelib.core.runtime import Runtime

# A device's records for one write: a request's request record, its response record, or both.
RecordsFor = Callable[[Device], Sequence[Mapping[str, Any]]]


class Broker:
    """One container's audit devices (OpenBao's AuditBroker), for one Runtime."""

    def __init__(self) -> None:
        self.generation = 0
        self.devices: dict[str, Device] = {}  # by path
        self.context = Context()
        self._lock = threading.Lock()

    def current(self, rt: Runtime) -> list[Device]:
        """The enabled devices, reloaded first if another container changed the table."""
        wanted = rt.state.generation(table.AUDIT_GENERATION)
        if wanted > self.generation:
            self.install(table.load(rt.barrier), wanted)
        return list(self.devices.values())

    def install(self, entries: Table, generation: int, adopted: Device | None = None) -> None:
        """Use ``entries`` from now on, keeping the devices (and chains) that still exist."""
        with self._lock:
            if generation < self.generation:
                return  # a newer table is installed already
            known = {device.entry.uuid: device for device in self.devices.values()}
            if adopted is not None:
                known[adopted.entry.uuid] = adopted
            self.devices = {entry.path: known.get(entry.uuid) or self._build(entry)
                            for entry in entries}
            self.generation = generation

    def build(self, entry: AuditEntry) -> Device:
        """A device for ``entry`` in this container; DeviceError for bad options."""
        device = build_device(entry, self.context)
        # The chain id ties records to this container's logs.
        logger.info("audit chain started", extra={"device": entry.path, "chain": device.chain.id})
        return device

    def _build(self, entry: AuditEntry) -> Device:
        try:
            return self.build(entry)
        except DeviceError as error:
            logger.error("audit device unusable", extra={"device": entry.path, "error": str(error)})
            return UnusableDevice(entry, self.context, str(error))

    def log(self, kind: str, records_for: RecordsFor, devices: list[Device]) -> bool:
        """Give every device its records; True if at least one accepted (Vault's broker)."""
        accepted = False
        for device in devices:
            try:
                device.log(*records_for(device))
            except Exception as error:
                # A DeviceError's text is written to be safe; any other error shows its class
                # only, as its text could quote part of the record.
                reason = str(error) if isinstance(error, DeviceError) else type(error).__name__
                logger.error(
                    f"audit device failed to log the {kind}",
                    extra={"device": device.entry.path, "error": reason},
                )
            else:
                accepted = True
        return accepted


_CREATING = threading.Lock()


def broker_for(rt: Runtime) -> Broker:
    """The broker of ``rt``: one per container, kept on the runtime so that it goes with it
    (tests make many) and so that the per-request lookup is one attribute read."""
    found: Broker | None = rt.audit_broker
    if found is None:
        with _CREATING:
            found = rt.audit_broker
            if found is None:
                found = rt.audit_broker = Broker()
    return found


def forget(rt: Runtime) -> None:
    """Sealed: drop the devices and their salts, as Vault tears its audit broker down."""
    rt.audit_broker = None
