"""The scheduled-job registry, its seal guard, and the token-tidy job."""

from __future__ import annotations

import importlib

import pytest

from chalicelib import jobs
from chalicelib.cli.main import DEV_BACKGROUND_TASKS
from tests.support import ROOT_TOKEN, VaultHTTP

HOUR_NS = 3600 * 1_000_000_000


def test_registry_names_schedules_and_targets() -> None:
    assert {name: job.expression for name, job in jobs.JOBS.items()} == {
        "sweep-leases": "rate(1 minute)",
        "tidy-tokens": "rate(60 minutes)",
        "rotate-transit-keys": "rate(60 minutes)",
        "tidy-approle": "rate(60 minutes)",
        "rotate-database-roles": "rate(1 minute)",
        "tidy-pki": "rate(1 minute)",
        "rotate-keyring": "rate(60 minutes)",
    }
    assert jobs.LEASE_SWEEP.target == "chalicelib.leases.sweeper:sweep"
    assert jobs.TRANSIT_ROTATION.target == "chalicelib.engines.transit.rotation:rotate_due_keys"
    assert jobs.TOKEN_TIDY.resolve() is jobs.tidy_tokens


def test_every_target_resolves_to_a_function() -> None:
    for job in jobs.JOBS.values():
        assert callable(job.resolve()), job.target


def test_every_job_runs_on_an_unsealed_vault(vault: VaultHTTP) -> None:
    for job in jobs.JOBS.values():
        assert jobs.run(job) is True


def test_app_declares_one_schedule_per_job() -> None:
    app = importlib.import_module("app").app
    handlers = set(app.handler_map)
    assert set(jobs.JOBS) <= handlers


def test_dev_server_runs_every_job_and_sweeps_leases_within_seconds() -> None:
    intervals = sorted(interval for interval, _ in DEV_BACKGROUND_TASKS)
    assert intervals == [5.0, 5.0, 5.0, 3600.0, 3600.0, 3600.0, 3600.0]
    assert all(callable(task) for _, task in DEV_BACKGROUND_TASKS)


def test_jobs_do_nothing_on_an_uninitialised_vault(resources: None) -> None:
    for job in jobs.JOBS.values():
        assert jobs.run(job) is False  # not even imported: a missing target cannot fail


def test_jobs_do_nothing_while_sealed(vault: VaultHTTP) -> None:
    assert vault.put("sys/seal").status_code == 204
    for job in jobs.JOBS.values():
        assert jobs.run(job) is False


def test_token_tidy_revokes_expired_tokens(
    vault: VaultHTTP, monkeypatch: pytest.MonkeyPatch
) -> None:
    created = vault.post("auth/token/create", {"ttl": "1h"}).json()["auth"]
    later = importlib.import_module("chalicelib.tokens.tidy").now_ns() + 2 * HOUR_NS
    monkeypatch.setattr("chalicelib.tokens.tidy.now_ns", lambda: later)
    assert jobs.run(jobs.TOKEN_TIDY) is True
    accessors = vault.list("auth/token/accessors").json()["data"]["keys"]
    assert created["accessor"] not in accessors
    lookup = vault.post("auth/token/lookup", {"token": created["client_token"]}, token=ROOT_TOKEN)
    assert lookup.status_code == 403


def test_scheduled_functions_run_their_job(vault: VaultHTTP) -> None:
    from chalice.test import Client

    app = importlib.import_module("app").app
    with Client(app) as client:
        event = client.events.generate_cw_event(
            source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]
        )
        for job in jobs.JOBS:
            assert client.lambda_.invoke(job, event).payload is None
