"""The ``stdout`` device: one JSON line per record on standard output (CloudWatch Logs)."""

from __future__ import annotations

import sys

from chalicelib.audit import devices


def write_stdout(data: bytes) -> None:
    try:
        sys.stdout.flush()  # keep text already buffered by print() ahead of the record
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    except (OSError, ValueError) as error:
        raise devices.DeviceError(f"write to stdout: {error}") from None


class Device(devices.Device):
    def write(self, data: bytes) -> None:
        write_stdout(data)
