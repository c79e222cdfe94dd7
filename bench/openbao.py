"""The real OpenBao server in dev mode (in-memory storage), as the CPU reference.

`.venv/bin/bao` is a Python launcher that execs the bundled Go binary, so the pid we start is
the server's pid and /proc/<pid>/stat gives the server's CPU (all its threads).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from subprocess import DEVNULL, STDOUT, Popen
from typing import Any

from bench.common import (
    LOOPBACK,
    PYTHON,
    ROOT_TOKEN,
    free_port,
    http_ok,
    port_is_free,
    stop_process,
    wait_until,
)

PREFERRED_PORT = 8480
BAO = Path(PYTHON).parent / "bao"


class OpenBaoDev:
    def __init__(self) -> None:
        self.port = PREFERRED_PORT if port_is_free(PREFERRED_PORT) else free_port()
        self.url = f"http://{LOOPBACK}:{self.port}"
        self._home = tempfile.TemporaryDirectory()  # dev mode writes a token helper file
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 (lives with the process)
        command = [
            str(BAO), "server", "-dev",
            f"-dev-root-token-id={ROOT_TOKEN}",
            f"-dev-listen-address={LOOPBACK}:{self.port}",
        ]  # fmt: skip
        env = {"HOME": self._home.name, "PATH": "/usr/bin:/bin"}
        self.process: Popen[Any] = Popen(
            command, stdout=self._log, stderr=STDOUT, stdin=DEVNULL, env=env
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def version(self) -> str:
        self._log.seek(0)
        for line in self._log.read().decode(errors="replace").splitlines():
            if "Version:" in line:
                return line.partition("Version:")[2].strip()
        return "unknown"

    def __enter__(self) -> OpenBaoDev:
        try:
            wait_until(lambda: http_ok(self.url, "/v1/sys/health"), timeout=60, interval=0.2)
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        stop_process(self.process)
        self._log.close()
        self._home.cleanup()
