"""Keyring rotation, its automatic-rotation config, key-status, the irrevocable-lease
report and sealing a sealed vault, through the real `bao` CLI and hvac, side by side with
a real `bao server -dev`."""

from __future__ import annotations

import re
from typing import Any

import hvac
import pytest
import requests

from tests.compat.conftest import ROOT_TOKEN, Server, recovery_key
from tests.compat.test_bao_userpass import same

pytestmark = pytest.mark.compat

DEFAULTS = ("enabled=true", "interval=0", "max_operations=3865470566")


@pytest.fixture(scope="module")
def both(module_dev_server: Server, openbao_dev: Server) -> list[Server]:
    return [module_dev_server, openbao_dev]


@pytest.fixture
def defaults(both: list[Server]) -> list[Server]:
    """The rotation config as a fresh server has it (the servers are shared by the module)."""
    for server in both:
        server.bao("write", "sys/rotate/keyring/config", *DEFAULTS)
    return both


def _key_status(server: Server) -> Any:
    return server.bao("operator", "key-status", "-format=json").json()


@pytest.mark.parametrize("path", ["sys/rotate/config", "sys/rotate/keyring/config"])
def test_rotation_config_reads_and_writes_as_openbao(defaults: list[Server], path: str) -> None:
    assert same(defaults, "read", "-format=json", path)["data"] == {
        "enabled": True, "interval": 0, "max_operations": 3865470566,
    }
    same(defaults, "write", path, "interval=4320h", "max_operations=2000000000")
    data = same(defaults, "read", "-format=json", "sys/rotate/keyring/config")["data"]
    assert data == {"enabled": True, "interval": "4320h0m0s", "max_operations": 2000000000}
    same(defaults, "write", path, "enabled=false")
    same(defaults, "read", path)  # the table view too


@pytest.mark.parametrize(
    "field", ["max_operations=5", "max_operations=3865470567", "interval=1h", "interval=86399"]
)
def test_rotation_config_refusals_match_openbao(defaults: list[Server], field: str) -> None:
    same(defaults, "write", "sys/rotate/config", field)
    same(defaults, "read", "-format=json", "sys/rotate/config")


def test_operator_rotate_and_key_status_match_openbao(both: list[Server]) -> None:
    before = [_key_status(server) for server in both]
    rotated = [server.bao("operator", "rotate", "-format=json").json() for server in both]
    for old, new in zip(before, rotated, strict=True):
        assert set(new) == {"term", "install_time", "encryptions"}
        assert new["term"] == old["term"] + 1
    table = [server.bao("operator", "rotate").out for server in both]
    shapes = [re.sub(r"  +.*", "", text) for text in table]  # field names, not values
    assert shapes[0] == shapes[1] and shapes[0].startswith("Success! Rotated key\n")
    assert [_key_status(server)["term"] for server in both] == [
        status["term"] + 1 for status in rotated
    ]


def test_key_status_counts_the_new_terms_writes(both: list[Server]) -> None:
    ours = both[0]
    for n in range(3):
        ours.bao("kv", "put", f"secret/rotate-count-old-{n}", f"n={n}")
    old = _key_status(ours)
    ours.bao("operator", "rotate")
    new = _key_status(ours)
    # The count starts again with the term. (Not asserted to be 0: the dev server's
    # scheduled jobs may write meanwhile, e.g. the sweeper retrying a module's leases.)
    assert new["term"] == old["term"] + 1 and new["encryptions"] < old["encryptions"]
    for n in range(3):
        ours.bao("kv", "put", f"secret/rotate-count-{n}", f"n={n}")
    assert _key_status(ours)["encryptions"] >= new["encryptions"] + 3
    assert ours.bao("kv", "get", "-format=json", "secret/rotate-count-0").json()["data"]["data"]


def test_hvac_rotates_and_reads_the_config_as_against_openbao(defaults: list[Server]) -> None:
    answers = []
    for server in defaults:
        client = hvac.Client(url=server.address, token=ROOT_TOKEN)
        term = client.sys.get_encryption_key_status()["term"]
        assert client.sys.rotate_encryption_key().status_code == 204
        status = client.sys.get_encryption_key_status()
        assert status["term"] == term + 1 and status["data"]["term"] == term + 1
        posted = client.adapter.post(
            "/v1/sys/rotate/keyring/config", json={"max_operations": 1_000_000}
        )
        read = client.adapter.get("/v1/sys/rotate/config")
        answers.append((posted.status_code, read["data"], sorted(status), sorted(status["data"])))
    assert answers[0] == answers[1]


def test_irrevocable_lease_report_matches_openbao(both: list[Server]) -> None:
    for args in (("sys/leases/count", "type=irrevocable"), ("sys/leases", "type=irrevocable"),
                 ("sys/leases", "type=irrevocable", "limit=none")):
        same(both, "read", "-format=json", *args)
    same(both, "read", "sys/leases/count", "type=irrevocable")
    for args in (("sys/leases/count",), ("sys/leases",), ("sys/leases", "type=other")):
        same(both, "read", *args)  # no such report: "No value found", exit 2
    for limit in ("limit=abc", "limit=0", "limit=-3"):
        same(both, "read", "sys/leases", "type=irrevocable", limit, their_500=True)


def test_sealing_a_sealed_vault_answers_as_openbao(both: list[Server]) -> None:
    """Last in the module: it leaves both servers sealed until it unseals them."""
    same(both, "operator", "seal")
    same(both, "operator", "seal")
    for server in both:
        for method, token in (("PUT", None), ("POST", "bogus"), ("GET", ROOT_TOKEN)):
            headers = {"X-Vault-Token": token} if token else {}
            answer = requests.request(method, f"{server.address}/v1/sys/seal", headers=headers,
                                      timeout=10)
            expected = (204, "") if method != "GET" else (405, '{"errors":[]}')
            assert (answer.status_code, answer.text.strip()) == expected, server.address
    ours, theirs = both
    ours.bao("operator", "unseal", recovery_key(ours.output))
    unseal_key = re.search(r"^Unseal Key: (\S+)$", theirs.output, re.MULTILINE)
    assert unseal_key is not None
    theirs.bao("operator", "unseal", unseal_key.group(1))
