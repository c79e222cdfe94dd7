"""rotate_due_keys: the scheduled auto-rotation over every transit mount."""

from __future__ import annotations

import time

import pytest

from chalicelib.engines.transit import policy as policy_module
from chalicelib.engines.transit.rotation import rotate_due_keys
from tests.api.test_transit import b64, ok
from tests.support import VaultHTTP


def test_rotates_only_keys_whose_period_elapsed(
    vault: VaultHTTP, monkeypatch: pytest.MonkeyPatch
) -> None:
    for mount in ("transit", "other-transit"):
        ok(vault.post(f"sys/mounts/{mount}", {"type": "transit"}), 204)
        ok(vault.post(f"{mount}/keys/hourly", {"auto_rotate_period": "1h"}))
        ok(vault.post(f"{mount}/keys/daily", {"auto_rotate_period": "24h"}))
        ok(vault.post(f"{mount}/keys/never"))
    assert rotate_due_keys() == 0
    later = time.time() + 2 * 3600
    monkeypatch.setattr(policy_module.time, "time", lambda: later)
    assert rotate_due_keys() == 2  # "hourly" on both mounts
    monkeypatch.undo()
    for mount in ("transit", "other-transit"):
        assert ok(vault.get(f"{mount}/keys/hourly"))["data"]["latest_version"] == 2
        assert ok(vault.get(f"{mount}/keys/daily"))["data"]["latest_version"] == 1
    # The API sees the new version at once (the rotation bumped the generation).
    sealed = ok(vault.post("transit/encrypt/hourly", {"plaintext": b64(b"x")}))["data"]
    assert sealed["key_version"] == 2
    assert rotate_due_keys() == 0
