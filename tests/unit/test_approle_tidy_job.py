"""The scheduled approle tidy: every approle mount loses its expired secret IDs."""

from __future__ import annotations

import importlib

import pytest

from chalicelib import jobs
from chalicelib.auth.approle import tidy
from chalicelib.tokens.clock import NANOS, now_ns
from tests.support import VaultHTTP

MOUNTS = ("approle", "ci")


def _accessors(vault: VaultHTTP, mount: str) -> list[str]:
    reply = vault.list(f"auth/{mount}/role/app/secret-id")
    return reply.json()["data"]["keys"] if reply.status_code == 200 else []


@pytest.fixture
def mounts(vault: VaultHTTP) -> VaultHTTP:
    """Two approle mounts, each with one secret ID that expires in a minute and one that
    never does; and a userpass mount, which the job leaves alone."""
    for mount in MOUNTS:
        assert vault.post(f"sys/auth/{mount}", {"type": "approle"}).status_code == 204
        assert vault.post(f"auth/{mount}/role/app", {}).status_code == 204
        for ttl in ("1m", "0"):
            reply = vault.post(f"auth/{mount}/role/app/secret-id", {"ttl": ttl})
            assert reply.status_code == 200
    assert vault.post("sys/auth/userpass", {"type": "userpass"}).status_code == 204
    return vault


def test_the_job_is_registered_hourly() -> None:
    assert jobs.JOBS["tidy-approle"] is jobs.APPROLE_TIDY
    assert jobs.APPROLE_TIDY.expression == "rate(60 minutes)"
    assert jobs.APPROLE_TIDY.resolve() is tidy.tidy_all_mounts


def test_the_job_tidies_every_approle_mount(
    mounts: VaultHTTP, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert jobs.run(jobs.APPROLE_TIDY) is True  # nothing expired yet: nothing goes
    assert all(len(_accessors(mounts, mount)) == 2 for mount in MOUNTS)
    later = now_ns() + 61 * NANOS
    monkeypatch.setattr(tidy, "now_ns", lambda: later)
    assert jobs.run(jobs.APPROLE_TIDY) is True
    assert all(len(_accessors(mounts, mount)) == 1 for mount in MOUNTS)


def test_the_scheduled_function_runs_the_job(
    mounts: VaultHTTP, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalice.test import Client

    later = now_ns() + 61 * NANOS
    monkeypatch.setattr(tidy, "now_ns", lambda: later)
    app = importlib.import_module("app").app
    with Client(app) as client:
        event = client.events.generate_cw_event(
            source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]
        )
        assert client.lambda_.invoke("tidy-approle", event).payload is None
    assert all(len(_accessors(mounts, mount)) == 1 for mount in MOUNTS)


def test_the_job_waits_while_sealed(mounts: VaultHTTP) -> None:
    assert mounts.put("sys/seal").status_code == 204
    assert jobs.run(jobs.APPROLE_TIDY) is False
