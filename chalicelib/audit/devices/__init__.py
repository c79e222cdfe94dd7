"""Audit devices: where records go. One module per type, imported when first used.

A device turns a record into bytes on its destination and raises :class:`DeviceError`
when it cannot; the broker decides what a failure means (fail closed when none accepts).
"""

from __future__ import annotations

import importlib
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from chalicelib.audit.chain import Chain
from chalicelib.audit.record import FormatConfig
from chalicelib.settings import settings

if TYPE_CHECKING:
    from botocore.client import BaseClient

    from chalicelib.audit.table import AuditEntry

# Type name -> module defining ``Device`` for it.
DEVICE_TYPES = {
    "s3": "chalicelib.audit.devices.s3",
    "file": "chalicelib.audit.devices.file",
    "stdout": "chalicelib.audit.devices.stdout",
}
_GO_TRUE = {"1", "t", "T", "TRUE", "true", "True"}
_GO_FALSE = {"0", "f", "F", "FALSE", "false", "False"}


class DeviceError(Exception):
    """A device cannot be built or cannot take a record; the message names no secret.
    ``uncertain``: the destination may have taken the record all the same (its answer was
    lost), so the chain must not reuse its numbers."""

    def __init__(self, message: str, *, uncertain: bool = False) -> None:
        super().__init__(message)
        self.uncertain = uncertain


def parse_bool(value: str) -> bool:
    """Go's ``strconv.ParseBool``, with its error text (OpenBao shows it to the client)."""
    if value in _GO_TRUE:
        return True
    if value in _GO_FALSE:
        return False
    raise DeviceError(f'strconv.ParseBool: parsing "{value}": invalid syntax')


def format_config(options: Mapping[str, str]) -> FormatConfig:
    """The options every device type takes, checked as OpenBao's device factories do."""
    output = options.get("format", "json") or "json"
    if output == "jsonx":
        raise DeviceError(
            'jsonx formatting has been removed, consider switching to json by omitting '
            '"format" or setting it to "json"'
        )
    if output != "json":
        raise DeviceError(f'unknown format type "{output}"')

    def flag(name: str, default: bool) -> bool:
        return parse_bool(options[name]) if name in options else default

    return FormatConfig(
        raw=flag("log_raw", False),
        hmac_accessor=flag("hmac_accessor", True),
        elide_list_responses=flag("elide_list_responses", False),
        prefix=options.get("prefix", ""),
    )


class Context:
    """What devices share in one container: its id (for chain ids) and its AWS clients."""

    def __init__(self) -> None:
        self.container_id = uuid.uuid4().hex
        self._made: dict[str, BaseClient] = {}

    def client(self, service: str, **config: Any) -> BaseClient:
        """The container's client for ``service``, built once from the storage session."""
        client = self._made.get(service)
        if client is None:
            from botocore.config import Config

            from chalicelib.storage.dynamotable import botocore_session

            current = settings()
            # The storage connection's session: botocore's models are loaded once.
            client = botocore_session().create_client(
                service,
                region_name=current.region,
                endpoint_url=current.endpoint_url,
                config=Config(**config),
            )
            self._made[service] = client
        return client


class Device:
    """One enabled device in this container: its options, its chain, its destination."""

    def __init__(self, entry: AuditEntry, context: Context) -> None:
        self.entry = entry
        self.config = format_config(entry.options)
        self.chain = Chain(f"{context.container_id}/{entry.uuid}")

    def log(self, *records: Mapping[str, Any]) -> None:
        """Append ``records`` to this device's chain in one write (a request's request and
        response records together); raises if the destination refused them."""
        self.chain.append(records, self.config.prefix, self.write)

    def check(self) -> None:
        """Called once when the device is enabled: fail early on a bad destination."""

    def write(self, data: bytes) -> None:
        """Put ``data`` (whole lines) on the destination, all of it or nothing."""
        raise NotImplementedError


class UnusableDevice(Device):
    """A stored device this container cannot build: every write fails (audit fails closed)."""

    def __init__(self, entry: AuditEntry, context: Context, reason: str) -> None:
        self.entry = entry
        self.config = FormatConfig()
        self.chain = Chain(f"{context.container_id}/{entry.uuid}")
        self.reason = reason

    def write(self, data: bytes) -> None:
        raise DeviceError(self.reason)


def build_device(entry: AuditEntry, context: Context) -> Device:
    """The device for ``entry``; DeviceError for an unknown type or bad options."""
    module = DEVICE_TYPES.get(entry.type)
    if module is None:
        raise DeviceError(f'unknown backend type: "{entry.type}"')
    device: Device = importlib.import_module(module).Device(entry, context)
    return device
