"""Pending OIDC logins in storage: consumed once, expired ones swept, nothing in clear."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from chalicelib.auth.jwt import oidc_state
from chalicelib.auth.jwt.backend import backend
from chalicelib.core.mounts import MountEntry
from chalicelib.framework.testing import BackendHarness
from chalicelib.storage.dynamodb import DynamoDBPhysical


@pytest.fixture
def harness(physical: DynamoDBPhysical) -> BackendHarness:
    return BackendHarness(backend(), MountEntry.new("oidc/", "oidc", table="auth"), physical)


def test_a_state_is_consumed_once(harness: BackendHarness) -> None:
    state, pending = oidc_state.create(harness.storage, "web", "http://localhost/cb", "cn")
    assert oidc_state.consume(harness.storage, state) == pending
    assert oidc_state.consume(harness.storage, state) is None


def test_a_concurrent_consumer_loses(
    harness: BackendHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    state, _ = oidc_state.create(harness.storage, "web", "http://localhost/cb", "")
    view = harness.storage
    real_get = view.get

    def racing_get(key: str):  # another container consumes between our read and delete
        entry = real_get(key)
        monkeypatch.setattr(view, "get", real_get)
        assert oidc_state.consume(view, state) is not None
        return entry

    monkeypatch.setattr(view, "get", racing_get)
    assert oidc_state.consume(view, state) is None


def test_stale_folders_are_swept(harness: BackendHarness, monkeypatch: pytest.MonkeyPatch) -> None:
    old, _ = oidc_state.create(harness.storage, "web", "http://localhost/cb", "")
    monkeypatch.setattr(oidc_state, "BUCKET", 1)  # every second is a new folder
    now = [10_000.0]
    monkeypatch.setattr(oidc_state, "time", SimpleNamespace(time=lambda: now[0]))
    older, _ = oidc_state.create(harness.storage, "web", "http://localhost/cb", "")
    now[0] += 2
    fresh, _ = oidc_state.create(harness.storage, "web", "http://localhost/cb", "")
    folders = harness.storage.list()
    assert f"{oidc_state.STATE_PREFIX}10002/" in folders
    assert f"{oidc_state.STATE_PREFIX}10000/" not in folders  # two buckets behind: swept
    assert not any(part in str(folders) for part in (old, older, fresh))  # hashed keys


def test_malformed_states_read_as_missing(harness: BackendHarness) -> None:
    for state in ("", "st_", "st_1_short", "st_x_" + "a" * 30, "../role/web"):
        assert oidc_state.consume(harness.storage, state) is None
