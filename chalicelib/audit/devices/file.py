"""The ``file`` device: JSON lines appended to ``file_path`` (``stdout`` and ``discard`` too).

As OpenBao's file device: the file is created with ``mode`` (0600 by default, executable
bits dropped), and enabling fails if it cannot be opened. In Lambda only /tmp is writable
and it dies with the container, so this device is for development and tests; deployments
use ``s3``.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from chalicelib.audit import devices
from chalicelib.audit.devices.stdout import write_stdout

if TYPE_CHECKING:
    from chalicelib.audit.table import AuditEntry

SPECIAL = ("stdout", "discard")
_DEFAULT_MODE = 0o600


def _mode(raw: str | None) -> int:
    if raw is None:
        return _DEFAULT_MODE
    try:
        mode = int(raw, 8)
    except ValueError:
        raise devices.DeviceError(f'strconv.ParseUint: parsing "{raw}": invalid syntax') from None
    return mode & ~0o111  # never an executable file (OpenBao, CVE-2025-6000)


class Device(devices.Device):
    def __init__(self, entry: AuditEntry, context: devices.Context) -> None:
        super().__init__(entry, context)
        path = entry.options.get("file_path", entry.options.get("path"))
        if path is None:
            raise devices.DeviceError("file_path is required")
        self.path = path.lower() if path.lower() in SPECIAL else path
        self.mode = _mode(entry.options.get("mode"))

    def check(self) -> None:
        if self.path in SPECIAL:
            return
        try:
            os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
            os.close(self._open())
        except OSError as error:
            raise devices.DeviceError(
                f'sanity check failed; unable to open "{self.path}" for writing: {error.strerror}'
            ) from None

    def _open(self) -> int:
        # mode 0 (OpenBao's "0000") means: leave an existing file's mode alone.
        return os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, self.mode or 0o600)

    def write(self, data: bytes) -> None:
        if self.path == "discard":
            return
        if self.path == "stdout":
            write_stdout(data)
            return
        # Opened per write: O_APPEND makes each write (a request's records) one atomic
        # append, and a disabled device leaves no descriptor behind.
        try:
            handle = self._open()
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(handle, view):]
            finally:
                os.close(handle)
        except OSError as error:
            raise devices.DeviceError(f'write to "{self.path}": {error.strerror}') from None
