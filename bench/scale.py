"""Scale: what a load from many containers asks of each AWS quota, and the cluster's
ceiling in requests/s that follows (issue 20).

Processes (all on 127.0.0.1, all stopped by their own handles):
  moto server              its own process, ONE table, the s3 audit device's stream(s)
  bench.scale_container xN simulated Lambda containers: each its own Python runtime,
                           driving app.py's handler with API Gateway proxy events
  (this process)           a recording proxy between the containers and moto (bench.awsproxy)

Every AWS call is counted on the wire, so the count holds whatever client or key layout the
app uses (bench.scale_analysis); the capacity model is bench.capacity, the section
bench.scale_report. Knobs (environment): SCALE_CONTAINERS,
SCALE_SECONDS (per load), SCALE_TOKENS, SCALE_SECRETS, SCALE_WRITE_SHARE and
SCALE_LOOKUP_SHARE (the mixed load), SCALE_AUDIT_STREAMS (the s3 device's streams:
<stream>, <stream>-2, ... created in moto and passed as LAMBDAVAULT_AUDIT_STREAMS) and
SCALE_AUDIT_OPTIONS (JSON options of the s3 device).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from bench.awsproxy import RecordingProxy, parsed
from bench.common import (
    MotoServer,
    Worker,
    aws_environ,
    worker,
)
from bench.results import run_header
from bench.scale_analysis import analyse
from bench.scale_report import render

SECTION = "scale"
TITLE = "Scale: AWS demand per request from many containers, and the cluster's ceiling"
CONTAINER_MODULE = "bench.scale_container"


@dataclass(frozen=True)
class Load:
    name: str
    mix: dict[str, float]  # request kind (bench.scale_container.KINDS) -> share


@dataclass(frozen=True)
class Config:
    containers: int = 8
    tokens: int = 20
    secrets: int = 50  # in one KV v2 folder
    seconds: float = 20.0  # per load
    streams: int = 8  # the s3 device's (LAMBDAVAULT_AUDIT_STREAMS): the target's bytes need 6
    audit_options: dict[str, Any] = field(default_factory=dict)
    write_share: float = 0.05  # of the mixed load
    lookup_share: float = 0.05

    @classmethod
    def from_environ(cls) -> Config:
        """The defaults, overridden by the SCALE_* knobs (see the module docstring)."""
        numbers = {
            "containers": "SCALE_CONTAINERS", "tokens": "SCALE_TOKENS",
            "secrets": "SCALE_SECRETS", "seconds": "SCALE_SECONDS",
            "streams": "SCALE_AUDIT_STREAMS", "write_share": "SCALE_WRITE_SHARE",
            "lookup_share": "SCALE_LOOKUP_SHARE",
        }  # fmt: skip
        kinds = {name: type(getattr(cls(), name)) for name in numbers}
        changes: dict[str, Any] = {
            name: kinds[name](float(os.environ[variable]))
            for name, variable in numbers.items()
            if variable in os.environ
        }
        if "SCALE_AUDIT_OPTIONS" in os.environ:
            changes["audit_options"] = json.loads(os.environ["SCALE_AUDIT_OPTIONS"])
        return cls(**changes)

    @property
    def loads(self) -> tuple[Load, ...]:
        rest = 1.0 - self.write_share - self.lookup_share
        return (
            Load("KV v2 reads", {"read": 1.0}),
            Load("mixed", {"read": rest, "lookup": self.lookup_share, "write": self.write_share}),
        )


# --- running the load ------------------------------------------------------------------


def run(argv: list[str], config: Config | None = None) -> str:
    config = config or Config.from_environ()
    header = run_header(TITLE, argv)
    with MotoServer() as moto:
        env = _environ(moto.url, config)
        with worker(env) as setup:
            setup.call("setup")  # what `server -dev` creates, then init + unseal
        with _container(env) as seeder:
            tokens = seeder.call(
                "scale_seed", secrets=config.secrets, tokens=config.tokens,
                streams=config.streams, audit=config.audit_options,
            )["tokens"]  # fmt: skip
        measured = _drive(moto.url, tokens, config)
    return render(header, config, measured)


def _environ(endpoint_url: str, config: Config) -> dict[str, str]:
    """A Lambdavault process's environment on ``endpoint_url``, with the audit streams."""
    return {**aws_environ(endpoint_url), "LAMBDAVAULT_AUDIT_STREAMS": str(config.streams)}


@contextlib.contextmanager
def _container(env: dict[str, str]) -> Iterator[Worker]:
    started = Worker(env, timeout=300, module=CONTAINER_MODULE)
    try:
        yield started
    finally:
        started.close()


def _drive(moto_url: str, tokens: list[str], config: Config) -> dict[str, dict[str, Any]]:
    """Warm every container, then run each load on all of them at once; the proxy's calls
    inside each container's run window are that load's."""
    measured = {}
    with RecordingProxy(moto_url, config.containers) as proxy, contextlib.ExitStack() as stack:
        containers = [stack.enter_context(_container(_environ(url, config))) for url in proxy.urls]
        with ThreadPoolExecutor(len(containers)) as pool:
            list(pool.map(lambda c: c.call("scale_warm", tokens=tokens, secrets=config.secrets),
                          containers))  # fmt: skip
            for number, load in enumerate(config.loads):
                arguments = {"tokens": tokens, "secrets": config.secrets, "mix": load.mix,
                             "seconds": config.seconds}  # fmt: skip
                runs = list(pool.map(
                    lambda c, seed, args=arguments: c.call("scale_run", rng_seed=seed, **args),
                    containers, range(1000 * number, 1000 * number + len(containers)),
                ))  # fmt: skip
                measured[load.name] = analyse(runs, parsed(proxy.calls))
                proxy.calls.clear()
    return measured
