"""A Lambdavault process the benchmarks drive: one JSON command per stdin line, one JSON
answer per line on the original stdout (the app's logs and EMF metrics go to /dev/null, as
production writes them to a pipe it never waits on).

Commands: setup, start, calls, round, profile, serve, stats, gc, exit (see ``COMMANDS``).
The AWS endpoint and resource names come from the environment (bench.common.aws_environ).
"""

from __future__ import annotations

import contextlib
import cProfile
import json
import os
import pstats
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

from bench.common import (
    AUDIT_BUCKET,
    AUDIT_STREAM,
    KMS_ALIAS,
    LOOPBACK,
    REGION,
    ROOT,
    ROOT_TOKEN,
    TABLE,
)
from bench.meter import ApiCallMeter
from bench.replayhttp import answered_over_http

Reply = dict[str, Any]


class State:
    meter: ApiCallMeter | None = None
    server: Any = None
    # Bound by 'start' (after the botocore hook): imported once, not per request, so the
    # import machinery is not counted as the server's CPU.
    handle: Callable[[Any], Any] | None = None
    build_request: Callable[..., Any] | None = None


def _meter() -> ApiCallMeter:
    assert State.meter is not None, "send 'start' first"
    return State.meter


def setup() -> Reply:
    """Create what `server -dev` creates in moto (the table, KMS key and alias, the audit
    bucket and Firehose stream: ``create_resources``), then init + unseal as it does."""
    from chalicelib.cli.devenv import DevResources, create_resources
    from chalicelib.core.dev import bootstrap_dev

    resources = DevResources(
        table_name=TABLE, kms_alias=KMS_ALIAS, audit_bucket=AUDIT_BUCKET,
        audit_stream=AUDIT_STREAM, region=REGION,
    )  # fmt: skip
    create_resources(resources, os.environ["AWS_ENDPOINT_URL"])
    result = bootstrap_dev(ROOT_TOKEN)
    return {"root_token": result.root_token, "mounted": result.mounted}


def start() -> Reply:
    """Hook botocore, import the app, and serve a first (cold) request."""
    State.meter = ApiCallMeter().install()
    import app  # noqa: F401  (what Lambda imports)
    from chalicelib.core.pipeline import handle
    from chalicelib.transports.http import build_request

    State.handle, State.build_request = handle, build_request
    return calls("GET", "sys/mounts")


def _reply(method: str, path: str, body: str | None, token: str) -> Any:
    assert State.handle is not None and State.build_request is not None, "send 'start' first"
    request = State.build_request(
        method=method,
        path=path,
        query={},
        headers={"X-Vault-Token": token},
        body=body,
        remote_address=LOOPBACK,
    )
    return State.handle(request)


def _handle(method: str, path: str, body: str | None = None, token: str = ROOT_TOKEN) -> int:
    return _reply(method, path, body, token).status


def token(kind: str) -> Reply:
    """A default-policy token of ``kind`` ("service" or "batch"), created by the root token."""
    body = json.dumps({"type": kind, "policies": ["default"], "ttl": "1h"})
    reply = _reply("POST", "auth/token/create", body, ROOT_TOKEN)
    return {"token": reply.body["auth"]["client_token"]}


def _lambda_entry(method: str, path: str) -> Callable[[], int]:
    """What Lambda runs per invoke: the Chalice app on an API Gateway proxy event.

    The event is built once (by the dev adapter's builder, as API Gateway would send it);
    Chalice does not modify it.
    """
    import app
    from chalicelib.transports.devserver import HttpRequest, LocalLambdaContext, build_event

    headers = [("Host", "lambdavault"), ("X-Vault-Token", ROOT_TOKEN), ("User-Agent", "bench")]
    event = build_event(HttpRequest(method, f"/v1/{path}", headers, b"", LOOPBACK))
    context = LocalLambdaContext("bench", time.monotonic() + 3600)

    def invoke() -> int:
        return int(app.app(event, context)["statusCode"])

    return invoke


def _entry(entry: str, method: str, path: str) -> Callable[[], int]:
    if entry == "lambda":
        return _lambda_entry(method, path)
    return lambda: _handle(method, path)


def calls(method: str, path: str, body: str | None = None, token: str = ROOT_TOKEN) -> Reply:
    """One request; which AWS calls it made."""
    meter = _meter()
    before, _ = meter.snapshot()
    pynamodb_before = meter.pynamodb_calls
    with meter.counting_pynamodb():
        status = _handle(method, path, body, token)
    after, _ = meter.snapshot()
    dynamodb = sum(n for name, n in (after - before).items() if name.startswith("dynamodb:"))
    return {
        "status": status,
        "calls": dict(after - before),
        "pynamodb_agrees": meter.pynamodb_calls - pynamodb_before == dynamodb,
    }


def round_(
    method: str, path: str, count: int, replay: bool = False, entry: str = "pipeline",
    wait: float = 0.0, over_http: bool = False,
) -> Reply:
    """``count`` requests (``entry``: pipeline.handle or the Chalice app on a proxy event);
    the calling thread's CPU, the CPU inside botocore, wall time, and the wall time spent
    inside AWS calls. ``replay`` answers every AWS call from a recording, after an idle
    ``wait`` (seconds) standing for the round trip, when one is given. ``over_http`` sends
    every lean AWS call, SDK and HTTP exchange included, to a local server answering with
    the recorded bytes (bench/replayhttp.answered_over_http)."""
    meter, call = _meter(), _entry(entry, method, path)
    ttl = _runtime_state_ttl(float("inf") if replay else None)
    # Replayed requests must all make the recorded calls: none rereads the cluster state
    # (most requests do not; one per container-second does, see the scale bench).
    if replay:
        meter.record()
        call()
        meter.replay(wait)
    try:
        with contextlib.ExitStack() as stack:
            if over_http:
                stack.enter_context(answered_over_http(call))
            return _timed_round(meter, call, count)
    finally:
        meter.live()
        _runtime_state_ttl(ttl)


def _timed_round(meter: ApiCallMeter, call: Callable[[], int], count: int) -> Reply:
    failures = 0
    cpu_before, boto_before = time.thread_time(), meter.cpu
    wall_before, aws_wall_before = time.perf_counter(), meter.wall
    calls_before = sum(meter.calls.values())
    for _ in range(count):
        failures += not 200 <= call() < 300
    return {
        "thread_cpu": time.thread_time() - cpu_before,
        "botocore_cpu": meter.cpu - boto_before,
        "wall": time.perf_counter() - wall_before,
        "aws_wall": meter.wall - aws_wall_before,
        "aws_calls": sum(meter.calls.values()) - calls_before,
        "failures": failures,
    }


def _runtime_state_ttl(ttl: float | None) -> float | None:
    """Set the runtime's cluster-state TTL (None: leave it); returns the one it had."""
    from chalicelib.core.runtime import runtime

    rt = runtime()
    before: float = rt._state_ttl
    if ttl is not None:
        rt._state_ttl = ttl
    return before


def profile(method: str, path: str, count: int, entry: str = "pipeline", top: int = 15) -> Reply:
    """cProfile of ``count`` requests with AWS replayed (no botocore): our functions' top by
    tottime, and the library calls our code makes, by the cumulative time spent in them."""
    meter, call = _meter(), _entry(entry, method, path)
    meter.record()
    call()
    meter.replay()
    profiler = cProfile.Profile()
    try:
        profiler.enable()
        for _ in range(count):
            call()
        profiler.disable()
    finally:
        meter.live()
    stats = pstats.Stats(profiler)
    return {
        "total": stats.total_tt / count,  # type: ignore[attr-defined]
        "tottime": _top_rows(stats, count, top),
        "boundary": _boundary_rows(stats, count, top),
    }


def _is_stub(filename: str, name: str) -> bool:
    # The replay stub stands where botocore was; it is not part of our path.
    return "bench/" in filename or name == "<built-in method _pickle.loads>"


def _is_ours(filename: str) -> bool:
    return filename.startswith(str(ROOT)) and "/bench/" not in filename and ".venv" not in filename


def _top_rows(stats: pstats.Stats, count: int, top: int) -> list[list[Any]]:
    entries = stats.stats  # type: ignore[attr-defined]
    rows = [
        [calls / count, tottime / count, cumtime / count, _where(filename, line, name)]
        for (filename, line, name), (_, calls, tottime, cumtime, _) in entries.items()
        if not _is_stub(filename, name)
    ]
    rows.sort(key=lambda row: row[1], reverse=True)
    return rows[:top]


def _boundary_rows(stats: pstats.Stats, count: int, top: int) -> list[list[Any]]:
    """Functions outside our code called directly from it, with the time spent below them."""
    entries = stats.stats  # type: ignore[attr-defined]
    rows = []
    for (filename, line, name), (_, _, _, _, callers) in entries.items():
        if _is_ours(filename) or _is_stub(filename, name):
            continue
        from_ours = [value for caller, value in callers.items() if _is_ours(caller[0])]
        if from_ours:
            calls = sum(value[1] for value in from_ours)
            cumtime = sum(value[3] for value in from_ours)
            rows.append([calls / count, 0.0, cumtime / count, _where(filename, line, name)])
    rows.sort(key=lambda row: row[2], reverse=True)
    return rows[:top]


def _where(filename: str, line: int, name: str) -> str:
    if filename == "~":
        return name
    for marker in ("site-packages/", str(ROOT) + "/", "/lib/python3"):
        if marker in filename:
            filename = filename.partition(marker)[2]
            break
    return f"{filename}:{line}({name})"


def serve() -> Reply:
    """The dev HTTP adapter (API Gateway events into the Chalice app) on a loopback port."""
    import app
    from chalicelib.transports.devserver import serve as serve_http

    State.server = serve_http(app.app, LOOPBACK, 0)
    return {"url": State.server.url}


def stats() -> Reply:
    meter = _meter()
    return {
        "process_cpu": time.process_time(),
        "botocore_cpu": meter.cpu,
        "aws_wall": meter.wall,
        "calls": dict(meter.calls),
    }


def gc_(enabled: bool) -> Reply:
    """Switch the cyclic garbage collector (for diagnosing CPU differences)."""
    import gc

    (gc.enable if enabled else gc.disable)()
    return {"gc": gc.isenabled()}


def exit_() -> Reply:
    if State.server is not None:
        State.server.close()
        State.server = None
    return {"bye": True}


COMMANDS: dict[str, Callable[..., Reply]] = {
    "setup": setup,
    "start": start,
    "calls": calls,
    "token": token,
    "round": round_,
    "profile": profile,
    "serve": serve,
    "stats": stats,
    "gc": gc_,
    "exit": exit_,
}


def main() -> None:
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())  # the app's logs and metrics
    for line in sys.stdin:
        command = json.loads(line)
        name = command.pop("cmd")
        try:
            reply = COMMANDS[name](**command)
        except Exception as error:
            reply = {"error": f"{error!r}\n{traceback.format_exc()[-1500:]}"}
        answers.write(json.dumps(reply) + "\n")
        if name == "exit":
            break


if __name__ == "__main__":
    main()
