"""What bench.instructions runs under callgrind: warm requests, counted on our code only.

`python -m bench.callgrind_target SHIM PATH COUNT` (the AWS endpoint and resource names come
from the environment, as for bench.worker). Collection starts off; the shim's client
requests switch it on for each request and off again for each AWS call inside it. Before
every AWS call the CPU caches are thrashed, as an idle wait on a shared host empties them;
botocore's own work then re-warms the interpreter, as in a live request.
"""

from __future__ import annotations

import ctypes
import json
import sys
import zlib
from typing import Any

from bench import worker

WARMUP = 100  # enough for CPython's adaptive interpreter to specialise the hot path
THRASH = bytearray(16 << 20)  # larger than the simulated last-level cache


def main(shim_path: str, path: str, count: int) -> None:
    shim = ctypes.CDLL(shim_path)
    worker.start()
    meter = worker.State.meter
    assert meter is not None
    if path.startswith("secret/data/"):
        worker.calls("POST", path, json.dumps({"data": {"password": "x" * 160}}))
    for _ in range(WARMUP):
        worker.calls("GET", path)
    live = meter._call

    def uncounted(client: Any, operation: str, params: dict[str, Any]) -> Any:
        shim.collect_toggle()  # off: botocore and the wait are not ours
        zlib.crc32(THRASH)
        try:
            return live(client, operation, params)
        finally:
            shim.collect_toggle()  # on again

    meter._call = uncounted  # type: ignore[method-assign]
    for _ in range(count):
        shim.collect_toggle()
        worker._handle("GET", path)
        shim.collect_toggle()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
