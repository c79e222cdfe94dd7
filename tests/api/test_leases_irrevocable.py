"""sys/leases/count and sys/leases?type=irrevocable: the leases the sweeper gave up on."""

from __future__ import annotations

from collections import Counter

import pytest

from tests.api.lease_support import (  # noqa: F401 (fixtures)
    lease_engine,
    short_and_long_roles,
)
from tests.api.test_leases import issue, sweep
from tests.support import VaultHTTP

pytestmark = pytest.mark.usefixtures("lease_engine")

WARNING = (
    "Command halted because many irrevocable leases were found. To emit the entire list, "
    "re-run the command with force set true."
)


def _given_up(things: VaultHTTP, count: int) -> list[str]:
    """`count` leases whose every revocation failed: the sweeper keeps them as irrevocable."""
    lease_ids = [issue(things, "short")["lease_id"] for _ in range(count)]
    assert things.post("things/config/fail", {"fail": True}).status_code == 204
    offset = 10
    for _ in range(6):
        assert sweep(offset).failed == count
        offset += 3600
    return lease_ids


def _accessor(vault: VaultHTTP, path: str) -> str:
    return vault.get("sys/mounts").json()["data"][path]["accessor"]


def test_nothing_irrevocable_yet(things: VaultHTTP) -> None:
    issue(things, "long")
    count = things.get("sys/leases/count", params={"type": "irrevocable"}).json()["data"]
    assert count == {"counts": {}, "lease_count": 0}
    listing = things.get("sys/leases", params={"type": "irrevocable"}).json()["data"]
    assert listing == {"lease_count": 0, "leases": []}


def test_count_and_list_report_irrevocable_leases_only(things: VaultHTTP) -> None:
    given_up = _given_up(things, 3)
    issue(things, "long")  # alive: not reported
    accessor = _accessor(things, "things/")
    count = things.get("sys/leases/count", params={"type": "IRREVOCABLE"}).json()["data"]
    assert count == {"counts": {accessor: 3}, "lease_count": 3}
    reply = things.get("sys/leases", params={"type": "irrevocable"}).json()
    assert reply["warnings"] is None
    rows = reply["data"]["leases"]
    assert reply["data"]["lease_count"] == 3
    assert sorted(row["lease_id"] for row in rows) == sorted(given_up)
    assert {row["mount_id"] for row in rows} == {accessor}
    assert all(row["error"].startswith("failed to revoke after 6 attempts: ") for row in rows)


def test_a_limit_cuts_the_list_with_openbaos_warning(things: VaultHTTP) -> None:
    _given_up(things, 3)
    reply = things.get("sys/leases", params={"type": "irrevocable", "limit": "2"}).json()
    assert reply["data"]["lease_count"] == 2 and len(reply["data"]["leases"]) == 2
    assert reply["warnings"] == [WARNING]
    every = things.get("sys/leases", params={"type": "irrevocable", "limit": "none"}).json()
    assert every["data"]["lease_count"] == 3 and every["warnings"] is None


def test_revoke_force_takes_a_lease_out_of_the_report(things: VaultHTTP) -> None:
    _given_up(things, 2)
    assert things.post("sys/leases/revoke-force/things").status_code == 204
    count = things.get("sys/leases/count", params={"type": "irrevocable"}).json()["data"]
    assert count == {"counts": {}, "lease_count": 0}


@pytest.mark.parametrize("path", ["sys/leases/count", "sys/leases"])
@pytest.mark.parametrize("params", [{}, {"type": "expiring"}])
def test_any_other_type_finds_nothing(things: VaultHTTP, path: str, params: dict) -> None:
    reply = things.get(path, params=params)
    assert (reply.status_code, reply.json()) == (404, {"errors": []})


@pytest.mark.parametrize(
    ("limit", "error"),
    [
        ("abc", "invalid 'limit' provided: strconv.Atoi: parsing \"abc\": invalid syntax"),
        ("\u0663", "invalid 'limit' provided: strconv.Atoi: parsing \"\u0663\": invalid syntax"),
        (
            "99999999999999999999",
            "invalid 'limit' provided: strconv.Atoi: parsing \"99999999999999999999\": "
            "value out of range",
        ),
        ("0", "limit must be 'none' or a positive integer"),
        ("-3", "limit must be 'none' or a positive integer"),
    ],
)
def test_a_bad_limit_is_a_client_error(things: VaultHTTP, limit: str, error: str) -> None:
    # OpenBao answers 500 here; a client-caused error is a 400 with its words.
    reply = things.get("sys/leases", params={"type": "irrevocable", "limit": limit})
    assert reply.status_code == 400
    assert reply.json() == {"errors": [f"1 error occurred:\n\t* {error}\n\n"]}


def test_the_report_reads_only_irrevocable_leases(things: VaultHTTP, calls: Counter[str]) -> None:
    _given_up(things, 2)
    for _ in range(3):
        issue(things, "long")
    calls.clear()
    things.get("sys/leases/count", params={"type": "irrevocable"})
    # The request's own read, then one keys-only Query of the irrevocable index bucket.
    assert dict(calls) == {"BatchGetItem": 1, "Query": 1}
    calls.clear()
    things.get("sys/leases", params={"type": "irrevocable"})
    # ... and one BatchGetItem for the (two) leases listed.
    assert dict(calls) == {"BatchGetItem": 2, "Query": 1}


def test_a_daily_sweep_tries_irrevocable_leases_again(things: VaultHTTP) -> None:
    """As OpenBao: once a day, the irrevocable leases expired for over an hour."""
    given_up = _given_up(things, 2)  # the first of its sweeps (at +10 s) started the day
    last = 10 + 5 * 3600
    assert sweep(last + 60).irrevocable_retried is False  # not a day yet
    still_failing = sweep(10 + 86400)
    assert still_failing.irrevocable_retried and still_failing.failed == 2
    count = things.get("sys/leases/count", params={"type": "irrevocable"}).json()["data"]
    assert count["lease_count"] == 2
    assert things.post("things/config/fail", {"fail": False}).status_code == 204
    recovered = sweep(10 + 2 * 86400)
    assert recovered.revoked == 2
    count = things.get("sys/leases/count", params={"type": "irrevocable"}).json()["data"]
    assert count == {"counts": {}, "lease_count": 0}
    for lease_id in given_up:
        reply = things.post("sys/leases/lookup", {"lease_id": lease_id})
        assert reply.status_code == 400
