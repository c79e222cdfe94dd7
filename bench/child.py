"""A benchmark's counting child: the parent runs ``python -m bench.<module> count <json>``
in the AWS environment it chose, the child prints one JSON line, and the parent reads it."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from typing import Any

from bench.common import PYTHON, ROOT, ROOT_TOKEN, BenchError
from bench.cost import _quiet_stdout

Body = dict[str, Any]
Send = Callable[[str, str, Body | None], Any]  # (method, path, body) -> JSON; raises if not 2xx


def child_main(argv: list[str], name: str, count: Callable[[Body], Body]) -> int:
    """The child's ``main``: ``count`` the payload, its result as the last stdout line."""
    if len(argv) != 2 or argv[0] != "count":
        print(f"usage: python -m bench.run {name}", file=sys.stderr)
        return 2
    with _quiet_stdout():
        result = count(json.loads(argv[1]))
    print(json.dumps(result))
    return 0


def run_child(module: str, env: dict[str, str], payload: Body, timeout: float = 1800) -> Body:
    args = [PYTHON, "-m", module, "count", json.dumps(payload)]
    done = subprocess.run(args, env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)  # fmt: skip
    if done.returncode != 0:
        raise BenchError(f"{module} count failed: {done.stderr[-3000:]}")
    result: Body = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def http_sender(url: str) -> tuple[Send, Any]:
    """A root-token sender over one keep-alive session (close the session when done)."""
    import requests

    session = requests.Session()
    session.headers["X-Vault-Token"] = ROOT_TOKEN

    def send(method: str, path: str, body: Body | None) -> Any:
        reply = session.request(method, f"{url}/v1/{path}", json=body, timeout=60)
        if not reply.ok:
            raise BenchError(f"{method} {path} at {url} answered {reply.status_code}: {reply.text}")
        return reply.json() if reply.content else None

    return send, session
