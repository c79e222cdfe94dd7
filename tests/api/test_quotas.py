"""sys/quotas: rate-limit rules and config over HTTP, and their enforcement (429s), also
across two containers sharing one table."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from chalicelib.core.errors import RateLimited
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request
from chalicelib.core.runtime import Runtime
from chalicelib.quotas.enforce import enforce
from chalicelib.storage.dynamodb import DynamoDBPhysical
from tests.api.audit_support import enable, of_request
from tests.support import VaultHTTP

DEFAULT_EXEMPT = [
    "sys/generate-recovery-token/attempt",
    "sys/generate-recovery-token/update",
    "sys/generate-root/attempt",
    "sys/generate-root/update",
    "sys/health",
    "sys/seal-status",
    "sys/unseal",
]
HOUR = 3600  # windows long enough that no test crosses one


def quota(vault: VaultHTTP, name: str, **body: Any) -> None:
    reply = vault.post(f"sys/quotas/rate-limit/{name}", body)
    assert reply.status_code == 204, reply.text


def statuses(vault: VaultHTTP, path: str, count: int) -> list[int]:
    return [vault.get(path).status_code for _ in range(count)]


def test_config_defaults_then_every_write_replaces_all_fields(vault: VaultHTTP) -> None:
    assert vault.get("sys/quotas/config").json()["data"] == {
        "enable_rate_limit_audit_logging": False,
        "enable_rate_limit_response_headers": False,
        "rate_limit_exempt_paths": DEFAULT_EXEMPT,
    }
    # A string is one path (OpenBao's string slice does not split on commas).
    body = {"rate_limit_exempt_paths": "sys/mounts,secret/*",
            "enable_rate_limit_response_headers": "true"}
    assert vault.post("sys/quotas/config", body).status_code == 204
    data = vault.get("sys/quotas/config").json()["data"]
    assert data["rate_limit_exempt_paths"] == ["sys/mounts,secret/*"]
    assert data["enable_rate_limit_response_headers"] is True
    assert vault.post("sys/quotas/config", {}).status_code == 204
    assert vault.get("sys/quotas/config").json()["data"] == {
        "enable_rate_limit_audit_logging": False,
        "enable_rate_limit_response_headers": False,
        "rate_limit_exempt_paths": [],
    }
    assert vault.delete("sys/quotas/config").status_code == 405


def test_rules_are_written_read_listed_and_deleted(vault: VaultHTTP) -> None:
    assert vault.list("sys/quotas/rate-limit").status_code == 404
    quota(vault, "global", rate=1000.4, interval=90)
    quota(vault, "mount", rate=100, path="/cubbyhole/")
    quota(vault, "exact", rate=100, path="cubbyhole/foo/")
    quota(vault, "prefix", rate=3, path="cubbyhole/a/b*", interval="2m", block_interval="1h")
    read = vault.get("sys/quotas/rate-limit/global").json()["data"]
    assert read == {"block_interval": 0, "inheritable": True, "interval": 90, "name": "global",
                    "path": "", "rate": 1000.4, "role": "", "type": "rate-limit"}
    paths = {name: vault.get(f"sys/quotas/rate-limit/{name}").json()["data"]["path"]
             for name in ("mount", "exact", "prefix")}
    assert paths == {"mount": "cubbyhole/", "exact": "cubbyhole/foo", "prefix": "cubbyhole/a/b*"}
    prefix = vault.get("sys/quotas/rate-limit/prefix").json()["data"]
    timing = (prefix["interval"], prefix["block_interval"], prefix["inheritable"])
    assert timing == (120, 3600, False)
    assert prefix["rate"] == 3 and isinstance(prefix["rate"], int)  # Go prints 3, not 3.0
    keys = vault.list("sys/quotas/rate-limit").json()["data"]["keys"]
    assert keys == ["exact", "global", "mount", "prefix"]
    quota(vault, "mount", rate=5, path="cubbyhole")  # an update
    assert vault.get("sys/quotas/rate-limit/mount").json()["data"]["rate"] == 5
    assert vault.delete("sys/quotas/rate-limit/mount").status_code == 204
    assert vault.delete("sys/quotas/rate-limit/mount").status_code == 204  # gone already
    assert vault.get("sys/quotas/rate-limit/mount").json() == {"errors": []}
    assert vault.get("sys/quotas/rate-limit").status_code == 405


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        ({"rate": 0}, 400, "'rate' is invalid"),
        ({}, 400, "'rate' is invalid"),
        ({"rate": "abc"}, 400,
         "Field validation failed: error converting input for field \"rate\": '' cannot parse "
         "value as 'float64': strconv.ParseFloat: invalid syntax"),
        ({"rate": 1, "interval": -5}, 400,
         "Field validation failed: error converting input for field \"interval\": "
         "cannot provide negative value '-5'"),
        ({"rate": 1, "block_interval": "-5"}, 400,
         "Field validation failed: error converting input for field \"block_interval\": "
         "cannot provide negative value '-5'"),
        ({"rate": 1, "interval": "abc"}, 400,
         "Field validation failed: error converting input for field \"interval\": "
         "time: invalid duration \"abc\""),
        ({"rate": 1, "path": "nope"}, 400, 'invalid mount path "nope/"'),
        ({"rate": 1, "path": "cubbyhole", "role": "x"}, 400,
         'Mount path "cubbyhole/" is not a valid auth method and therefore unsuitable for use '
         "with role-based quotas"),
        ({"rate": 1, "path": "auth/userpass", "role": "x"}, 400,
         'Mount path "auth/userpass/" does not support use with role-based quotas'),
        ({"rate": 1, "path": "auth/approle/login", "role": "x"}, 400,
         "Quotas cannot contain both a path suffix and a role. If a role is provided, path must "
         "be a valid auth mount with a concept of roles"),
    ],
)
def test_invalid_rules_get_openbaos_words(
    vault: VaultHTTP, body: dict[str, Any], status: int, error: str
) -> None:
    vault.post("sys/auth/userpass", {"type": "userpass"})
    vault.post("sys/auth/approle", {"type": "approle"})
    reply = vault.post("sys/quotas/rate-limit/q", body)
    assert (reply.status_code, reply.json()) == (status, {"errors": [error]})


def test_a_second_rule_for_the_same_scope_is_refused(vault: VaultHTTP) -> None:
    quota(vault, "first", rate=10, path="cubbyhole")
    reply = vault.post("sys/quotas/rate-limit/second", {"rate": 2, "path": "cubbyhole/"})
    assert reply.json() == {
        "errors": ['quota rule with similar properties exists under the name "first"']
    }
    reply = vault.post("sys/quotas/rate-limit/bad.name-", {"rate": 2})
    assert reply.status_code == 404


def test_over_the_rate_is_429_with_retry_after_and_optional_headers(vault: VaultHTTP) -> None:
    quota(vault, "cub", rate=2, path="cubbyhole", interval=HOUR)
    assert statuses(vault, "cubbyhole/x", 2) == [404, 404]
    refused = vault.get("cubbyhole/x")
    assert refused.status_code == 429
    assert refused.json() == {"errors": ['request path "cubbyhole/x": rate limit quota exceeded']}
    assert 0 < int(refused.headers["Retry-After"]) <= HOUR
    assert "X-Ratelimit-Limit" not in refused.headers
    assert vault.get("sys/mounts").status_code == 200  # another mount: no rule, no limit
    assert "X-Ratelimit-Limit" not in vault.get("sys/mounts").headers

    vault.post("sys/quotas/config", {"enable_rate_limit_response_headers": True})
    quota(vault, "sys", rate=100, path="sys/mounts", interval=HOUR)
    headers = vault.get("sys/mounts").headers
    assert (headers["X-Ratelimit-Limit"], headers["X-Ratelimit-Remaining"]) == ("100", "99")
    assert 0 < int(headers["X-Ratelimit-Reset"]) <= HOUR
    refused = vault.get("cubbyhole/x")
    assert refused.headers["X-Ratelimit-Limit"] == "2"
    assert refused.headers["X-Ratelimit-Remaining"] == "0"
    assert refused.headers["Retry-After"] == refused.headers["X-Ratelimit-Reset"]


def test_exempt_paths_are_never_limited(vault: VaultHTTP) -> None:
    quota(vault, "health", rate=1, path="sys/health", interval=HOUR)
    assert statuses(vault, "sys/health", 3) == [200, 200, 200]  # exempt by default
    vault.post("sys/quotas/config", {"rate_limit_exempt_paths": ["cubbyhole/free*"]})
    assert statuses(vault, "sys/health", 2) == [200, 429]
    quota(vault, "cub", rate=1, path="cubbyhole", interval=HOUR)
    assert statuses(vault, "cubbyhole/free/a", 3) == [404, 404, 404]
    assert statuses(vault, "cubbyhole/other", 2) == [404, 429]


def test_the_most_specific_rule_governs(vault: VaultHTTP) -> None:
    quota(vault, "mount", rate=2, path="cubbyhole", interval=HOUR)
    quota(vault, "exact", rate=3, path="cubbyhole/a", interval=HOUR)
    quota(vault, "prefix", rate=4, path="cubbyhole/b*", interval=HOUR)
    quota(vault, "longer", rate=5, path="cubbyhole/bb*", interval=HOUR)
    quota(vault, "everything", rate=1, interval=HOUR)  # last: it governs sys/ too
    # Each rule counts only the requests it governs.
    assert statuses(vault, "cubbyhole/a", 4) == [404] * 3 + [429]
    assert statuses(vault, "cubbyhole/a/deeper", 3) == [404] * 2 + [429]  # the mount's
    assert statuses(vault, "cubbyhole/b/x", 5) == [404] * 4 + [429]
    assert statuses(vault, "cubbyhole/bbb", 6) == [404] * 5 + [429]
    assert statuses(vault, "sys/mounts", 2) == [200, 429]


def test_a_role_rule_limits_logins_with_that_role_only(vault: VaultHTTP) -> None:
    vault.post("sys/auth/approle", {"type": "approle"})
    for name in ("limited", "free"):
        body = {"bind_secret_id": False, "secret_id_bound_cidrs": ["127.0.0.0/8"]}
        assert vault.post(f"auth/approle/role/{name}", body).status_code == 204
    role_ids = {name: vault.get(f"auth/approle/role/{name}/role-id").json()["data"]["role_id"]
                for name in ("limited", "free")}
    quota(vault, "role", rate=1, path="auth/approle", role="limited", interval=HOUR)
    assert vault.get("sys/quotas/rate-limit/role").json()["data"]["path"] == "auth/approle/"

    def login(name: str) -> int:
        return vault.post("auth/approle/login", {"role_id": role_ids[name]}).status_code

    assert [login("limited"), login("limited")] == [200, 429]
    assert [login("free"), login("free"), login("free")] == [200, 200, 200]


def test_block_interval_refuses_a_client_after_its_rate_even_in_a_new_window(
    vault: VaultHTTP,
) -> None:
    quota(vault, "cub", rate=1, path="cubbyhole", interval=1, block_interval=HOUR)
    statuses(vault, "cubbyhole/x", 3)  # over the rate within a second or two: blocked
    refused = vault.get("cubbyhole/x")
    assert refused.status_code == 429
    assert HOUR - 60 < int(refused.headers["Retry-After"]) <= HOUR
    # Another container learns the block from the shared counter, not from its memory.
    other = Runtime(DynamoDBPhysical())
    other.begin([])
    with pytest.raises(RateLimited) as caught:
        enforce(other, _request(other, "cubbyhole/x", "127.0.0.1"))
    assert HOUR - 60 < int(caught.value.headers["Retry-After"]) <= HOUR


def _request(rt: Runtime, path: str, address: str) -> Request:
    request = Request(Operation.READ, path, remote_address=address)
    request.mount = rt.mounts.longest_prefix(path)
    return request


def test_two_containers_share_one_budget_and_claim_it_in_batches(
    vault: VaultHTTP, calls: Counter[str]
) -> None:
    quota(vault, "cub", rate=40, path="cubbyhole", interval=HOUR)
    containers = [Runtime(DynamoDBPhysical()) for _ in range(2)]
    for rt in containers:
        rt.begin([])
    calls.clear()
    allowed = 0
    for attempt in range(100):
        rt = containers[attempt % 2]
        try:
            enforce(rt, _request(rt, "cubbyhole/x", "10.0.0.7"))
            allowed += 1
        except RateLimited:
            pass
    assert allowed == 40  # exactly the budget, across both containers
    assert calls["UpdateItem"] < 20  # batches, not one write per request
    # Another client has a budget of its own.
    enforce(containers[0], _request(containers[0], "cubbyhole/x", "10.0.0.8"))


def test_a_request_no_rule_governs_costs_no_extra_call(
    vault: VaultHTTP, calls: Counter[str]
) -> None:
    vault.get("sys/mounts")
    calls.clear()
    vault.get("sys/mounts")
    without_rules = dict(calls)
    quota(vault, "cub", rate=1, path="cubbyhole", interval=HOUR)
    vault.get("sys/mounts")  # this container loads the new rules once
    calls.clear()
    for _ in range(3):
        vault.get("sys/mounts")
    assert dict(calls) == {op: 3 * count for op, count in without_rules.items()}


def test_paths_no_backend_serves_are_counted_too(vault: VaultHTTP) -> None:
    """OpenBao counts a request before routing it to a backend path."""
    quota(vault, "nothing", rate=1, path="sys/no-such*", interval=HOUR)
    first, second = (vault.get("sys/no-such-path") for _ in range(2))
    assert first.status_code == 404 and "unsupported path" in first.json()["errors"][0]
    assert second.status_code == 429


def test_a_global_rule_counts_paths_no_mount_serves(vault: VaultHTTP, tmp_path: Path) -> None:
    """OpenBao's HTTP layer applies the quota before routing: an unmounted path falls under
    the global rule, and the 429 comes before the token check (no token sent here)."""
    log = tmp_path / "audit.log"
    enable(vault, "file", "file", file_path=str(log))
    vault.post("sys/quotas/config", {"enable_rate_limit_audit_logging": True})
    quota(vault, "everything", rate=2, interval=HOUR)
    assert statuses(vault, "nowhere/x", 2) == [404, 404]
    refused = vault.get("nowhere/y", token="")
    assert refused.status_code == 429
    assert refused.json() == {"errors": ['request path "nowhere/y": rate limit quota exceeded']}
    assert len(of_request(log, "nowhere/y", "request")) == 1  # audited with no mount


def test_refusals_are_audited_only_when_the_config_asks(vault: VaultHTTP, tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    enable(vault, "file", "file", file_path=str(log))
    quota(vault, "cub", rate=1, path="cubbyhole", interval=HOUR)
    assert statuses(vault, "cubbyhole/quiet", 2) == [404, 429]
    assert len(of_request(log, "cubbyhole/quiet", "request")) == 1  # the admitted one
    vault.post("sys/quotas/config", {"enable_rate_limit_audit_logging": True})
    assert statuses(vault, "cubbyhole/loud", 1) == [429]
    assert len(of_request(log, "cubbyhole/loud", "request")) == 1
    (response,) = of_request(log, "cubbyhole/loud", "response")
    assert "rate limit quota exceeded" in str(response)


def test_an_audited_refusal_stays_429_when_no_device_takes_it(
    vault: VaultHTTP, tmp_path: Path
) -> None:
    """OpenBao only logs a warning when the audit of a rate-limit refusal fails."""
    log = tmp_path / "audit.log"
    enable(vault, "file", "file", file_path=str(log))
    vault.post("sys/quotas/config", {"enable_rate_limit_audit_logging": True})
    quota(vault, "cub", rate=1, path="cubbyhole", interval=HOUR)
    assert statuses(vault, "cubbyhole/x", 1) == [404]
    log.unlink()
    log.mkdir()  # the device can no longer write
    refused = vault.get("cubbyhole/x")
    assert refused.status_code == 429, refused.text
    assert "Retry-After" in refused.headers
