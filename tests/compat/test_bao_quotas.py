"""sys/quotas through the real `bao` CLI and hvac, side by side with `bao server -dev`.

Both servers live for the module: each test uses rule names and paths of its own, with
rates no test reaches except where a 429 is the point.
"""

from __future__ import annotations

from typing import Any

import hvac
import pytest
from hvac.exceptions import InvalidPath, RateLimitExceeded

from tests.compat.conftest import ROOT_TOKEN, Server
from tests.compat.test_bao_userpass import same

pytestmark = pytest.mark.compat


@pytest.fixture(scope="module")
def both(module_dev_server: Server, openbao_dev: Server) -> list[Server]:
    return [module_dev_server, openbao_dev]


def _scrubbed(reply: Any) -> Any:
    return {k: v for k, v in reply.items() if k != "request_id"} if reply else reply


def test_cli_writes_reads_lists_and_deletes_rules_as_openbao(both: list[Server]) -> None:
    same(both, "write", "sys/quotas/rate-limit/cli-kv", "path=secret/", "rate=100.5",
         "interval=90s", "block_interval=1m")
    same(both, "write", "sys/quotas/rate-limit/cli-kv-sub", "path=secret/data/app*", "rate=50")
    same(both, "read", "-format=json", "sys/quotas/rate-limit/cli-kv")
    same(both, "read", "-format=json", "sys/quotas/rate-limit/cli-kv-sub")
    # OpenBao lists in its map's (random) order, we sort: compare the sets.
    listed = [server.bao("list", "-format=json", "sys/quotas/rate-limit").json()
              for server in both]
    assert [sorted(names) for names in listed] == [["cli-kv", "cli-kv-sub"]] * 2
    same(both, "read", "-format=json", "sys/quotas/config")
    same(both, "delete", "sys/quotas/rate-limit/cli-kv")
    same(both, "delete", "sys/quotas/rate-limit/cli-kv-sub")
    same(both, "read", "sys/quotas/rate-limit/cli-kv")


@pytest.mark.parametrize(
    "args",
    [
        ("rate=0",),
        ("rate=abc",),
        ("rate=1", "interval=-5"),
        ("rate=1", "block_interval=abc"),
        ("rate=1", "path=nope"),
        ("rate=1", "path=secret", "role=web"),
        ("rate=1", "path=secret/data/x", "role=web"),
    ],
)
def test_cli_refusals_match_openbao(both: list[Server], args: tuple[str, ...]) -> None:
    same(both, "write", "sys/quotas/rate-limit/cli-bad", *args)


def test_hvac_quota_methods_match_openbao(both: list[Server]) -> None:
    clients = [hvac.Client(url=server.address, token=ROOT_TOKEN) for server in both]
    for client in clients:
        client.sys.create_or_update_quota(
            "hvac-cub", 2, path="cubbyhole", interval="1h", rate_limit_type="rate-limit"
        )
    reads = [_scrubbed(client.sys.read_quota("hvac-cub")) for client in clients]
    assert reads[0] == reads[1]
    assert reads[0]["data"]["path"] == "cubbyhole/"
    lists = [client.sys.list_quotas()["data"]["keys"] for client in clients]
    assert lists[0] == lists[1] == ["hvac-cub"]
    errors = []
    for client in clients:
        client.write_data("cubbyhole/hvac", data={"a": "b"})
        client.read("cubbyhole/hvac")
        with pytest.raises(RateLimitExceeded) as caught:
            client.read("cubbyhole/hvac")
        errors.append(caught.value.errors)
        client.sys.delete_quota("hvac-cub")
    assert errors[0] == errors[1] == ['request path "cubbyhole/hvac": rate limit quota exceeded']
    for client in clients:
        with pytest.raises(InvalidPath):  # no rules left: a 404, as any empty list
            client.sys.list_quotas()
