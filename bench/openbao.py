"""The real OpenBao server in dev mode (in-memory storage), as the CPU reference.

`.venv/bin/bao` is a Python launcher that execs the bundled Go binary, so the pid we start is
the server's pid and /proc/<pid>/stat gives the server's CPU (all its threads).
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

from bench.common import (
    LOOPBACK,
    PYTHON,
    ROOT_TOKEN,
    LoopbackServer,
    free_port,
    port_is_free,
)

PREFERRED_PORT = 8480
BAO = Path(PYTHON).parent / "bao"


class OpenBaoDev(LoopbackServer):
    ready_path = "/v1/sys/health"
    ready_timeout = 60.0

    def __init__(self, extra_args: Sequence[str] = (), binary: Path = BAO) -> None:
        """``binary``: another OpenBao release's server (the ldap section's 2.6.2)."""
        port = PREFERRED_PORT if port_is_free(PREFERRED_PORT) else free_port()
        self._home = tempfile.TemporaryDirectory()  # dev mode writes a token helper file
        command = [
            str(binary), "server", "-dev",
            f"-dev-root-token-id={ROOT_TOKEN}",
            f"-dev-listen-address={LOOPBACK}:{port}",
            *extra_args,
        ]  # fmt: skip
        super().__init__(command, port, {"HOME": self._home.name, "PATH": "/usr/bin:/bin"})

    def version(self) -> str:
        for line in self.output().splitlines():
            if line.strip().startswith("Version:"):  # not "Go Version:"
                # "OpenBao v2.7.2, committed …": callers print their own "OpenBao".
                return line.partition("Version:")[2].strip().removeprefix("OpenBao ")
        return "unknown"

    def close(self) -> None:
        super().close()
        self._home.cleanup()
