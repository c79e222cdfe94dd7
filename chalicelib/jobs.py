"""The scheduled jobs: one registry for ``@app.schedule`` in app.py and the dev server.

A job names its target as ``"module:function"`` (a function without arguments), imported
only when the job runs, so neither ``import app`` nor the CLI pays for the engines behind it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import NamedTuple

__all__ = [
    "APPROLE_TIDY",
    "DATABASE_ROTATION",
    "JOBS",
    "LEASE_SWEEP",
    "PKI_TIDY",
    "ROTATE_KEYRING",
    "TOKEN_TIDY",
    "TRANSIT_ROTATION",
    "Job",
    "dev_tasks",
    "run",
    "tidy_tokens",
]


# A NamedTuple: defined on every cold start, where a frozen dataclass costs ~7x more.
class Job(NamedTuple):
    name: str
    minutes: int  # how often EventBridge runs it
    target: str  # "module:function", called without arguments
    dev_seconds: float | None = None  # the dev server's interval, when not the deployed one

    @property
    def expression(self) -> str:
        """The EventBridge schedule: ``rate(1 minute)``, ``rate(60 minutes)``."""
        return f"rate({self.minutes} minute{'s' if self.minutes != 1 else ''})"

    @property
    def dev_interval(self) -> float:
        return self.dev_seconds if self.dev_seconds is not None else self.minutes * 60.0

    def resolve(self) -> Callable[[], object]:
        module, _, function = self.target.partition(":")
        target: Callable[[], object] = getattr(importlib.import_module(module), function)
        return target


# Locally, leases must expire within seconds of their TTL, not a minute later.
LEASE_SWEEP = Job("sweep-leases", 1, "chalicelib.leases.sweeper:sweep", dev_seconds=5.0)
TOKEN_TIDY = Job("tidy-tokens", 60, "chalicelib.jobs:tidy_tokens")
TRANSIT_ROTATION = Job(
    "rotate-transit-keys", 60, "chalicelib.engines.transit.rotation:rotate_due_keys"
)
# A login refuses an expired secret ID itself: the tidy only keeps storage from growing.
APPROLE_TIDY = Job("tidy-approle", 60, "chalicelib.auth.approle.tidy:tidy_all_mounts")
# Static database roles: a rotation is due within a minute of its time (Vault's queue
# ticks every 5 s; a schedule cannot run more often than once a minute).
DATABASE_ROTATION = Job(
    "rotate-database-roles", 1, "chalicelib.engines.database.rotation:rotate_due_roles",
    dev_seconds=5.0,
)
# pki tidy: resumes unfinished tidies (each run stops after its budget) and starts
# auto-tidy on mounts where it is due.
PKI_TIDY = Job("tidy-pki", 1, "chalicelib.engines.pki.path_tidy:tidy_all_mounts",
               dev_seconds=5.0)
# The barrier key's rotation by age (sys/rotate/keyring/config's interval, 24 h at least),
# and by count when the container whose flush crossed max_operations could not rotate.
ROTATE_KEYRING = Job("rotate-keyring", 60, "chalicelib.seal.rotation:rotate_if_due")
JOBS: dict[str, Job] = {
    job.name: job
    for job in (LEASE_SWEEP, TOKEN_TIDY, TRANSIT_ROTATION, APPROLE_TIDY, DATABASE_ROTATION,
                PKI_TIDY, ROTATE_KEYRING)
}


def run(job: Job) -> bool:
    """Run ``job`` if this vault is initialised and unsealed; returns whether it ran.

    A sealed vault holds no keys to read its storage with, so a schedule firing then is
    simply skipped, as Vault's own background jobs stop while sealed.
    """
    from chalicelib.core.runtime import runtime
    from chalicelib.observability import logger

    rt = runtime()
    rt.begin([])  # the cluster state: unseals a cold container, or notices a seal
    if not rt.initialized or rt.sealed:
        logger.info("scheduled job skipped: sealed or uninitialised", extra={"job": job.name})
        return False
    job.resolve()()
    return True


def dev_tasks() -> list[tuple[float, Callable[[], object]]]:
    """The dev server's stand-ins for the schedules, as (interval in seconds, job)."""
    return [(job.dev_interval, lambda job=job: run(job)) for job in JOBS.values()]


def tidy_tokens() -> None:
    """auth/token/tidy on a schedule: Vault revokes expired tokens itself, a Lambda cannot."""
    from chalicelib.core.runtime import runtime
    from chalicelib.tokens.context import tidy_token_store

    tidy_token_store(runtime())
