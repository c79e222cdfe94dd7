"""Response wrapping over HTTP: the envelope, sys/wrapping/*, single use, expiry, policies.

Expected bodies and error texts are OpenBao 2.x's, recorded against `bao server -dev`.
"""

from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

import pytest

from tests.api.tokens_support import MULTI_DENIED, create, lookup_data, write_policy
from tests.support import VaultHTTP

INVALID = {"errors": ["wrapping token is not valid or does not exist"]}
WRAP_5M = {"X-Vault-Wrap-TTL": "5m"}
CHECK_FAILED = "error validating wrapping token"
INVALID_ACCESSOR = "1 error occurred:\n\t* invalid accessor\n\n"


def _wrapped(reply: Any) -> dict[str, Any]:
    """The wrap_info of a wrapped reply, after checking OpenBao's exact envelope."""
    assert reply.status_code == 200, reply.text
    body = reply.json()
    info = body["wrap_info"]
    assert body == {
        "request_id": "",
        "lease_id": "",
        "renewable": False,
        "lease_duration": 0,
        "data": None,
        "wrap_info": info,
        "warnings": None,
        "auth": None,
    }
    assert re.fullmatch(r"s\.[A-Za-z0-9]{24}", info["token"]) and len(info["accessor"]) == 24
    assert datetime.fromisoformat(info["creation_time"].replace("Z", "+00:00"))
    return info


def _wrap(vault: VaultHTTP, payload: dict[str, Any], ttl: str = "5m", **kw: Any) -> str:
    reply = vault.post("sys/wrapping/wrap", payload, headers={"X-Vault-Wrap-TTL": ttl}, **kw)
    return _wrapped(reply)["token"]


def _unwrap(vault: VaultHTTP, token: str) -> dict[str, Any]:
    reply = vault.post("sys/wrapping/unwrap", {"token": token})
    assert reply.status_code == 200, reply.text
    return reply.json()


def test_a_wrapped_kv_read_unwraps_once_to_the_original_response(vault: VaultHTTP) -> None:
    vault.post("secret/data/x", {"data": {"password": "hunter2"}})
    info = _wrapped(vault.get("secret/data/x", headers=WRAP_5M))
    assert info["ttl"] == 300 and info["creation_path"] == "secret/data/x"
    assert set(info) == {"token", "accessor", "ttl", "creation_time", "creation_path"}
    original = _unwrap(vault, info["token"])
    assert original["data"]["data"] == {"password": "hunter2"}
    assert original["data"]["metadata"]["version"] == 1
    assert original["request_id"] and original["wrap_info"] is None and original["auth"] is None
    assert vault.post("sys/wrapping/unwrap", {"token": info["token"]}).json() == INVALID


def test_lookup_is_unauthenticated_and_does_not_spend_the_token(vault: VaultHTTP) -> None:
    reply = vault.post("sys/wrapping/wrap", {"a": "b"}, headers={"X-Vault-Wrap-TTL": "90s"})
    info = _wrapped(reply)
    expected = {
        "creation_path": "sys/wrapping/wrap",
        "creation_time": info["creation_time"],
        "creation_ttl": 90,
    }
    third_party = vault.post("sys/wrapping/lookup", {"token": info["token"]}, token="")
    assert third_party.status_code == 200 and third_party.json()["data"] == expected
    own = vault.get("sys/wrapping/lookup", token=info["token"])
    assert own.status_code == 200 and own.json()["data"] == expected
    assert _unwrap(vault, info["token"])["data"] == {"a": "b"}
    again = vault.post("sys/wrapping/lookup", {"token": info["token"]}, token="")
    assert again.status_code == 400 and again.json() == INVALID


def test_a_wrapping_token_unwraps_itself_once(vault: VaultHTTP) -> None:
    payload = {"n": {"nested": [1, 2.5, None, True]}}
    token = _wrap(vault, payload)
    reply = vault.post("sys/wrapping/unwrap", {}, token=token)
    assert reply.status_code == 200 and reply.json()["data"] == payload
    again = vault.post("sys/wrapping/unwrap", {}, token=token)
    assert again.status_code == 400 and again.json() == INVALID


def test_the_wrapping_token_is_a_single_use_orphan(vault: VaultHTTP) -> None:
    parent = create(vault, {"policies": ["default"], "display_name": "ci"})["client_token"]
    token = _wrap(vault, {"a": 1}, "2m", token=parent)
    data = lookup_data(vault, token)
    assert data["policies"] == ["response-wrapping"] and data["num_uses"] == 1
    assert data["orphan"] is True and data["renewable"] is False
    assert data["creation_ttl"] == data["explicit_max_ttl"] == 120
    assert data["path"] == "sys/wrapping/wrap" and data["display_name"] == "token-ci"


def test_a_wrapped_token_creation_unwraps_to_a_working_token(vault: VaultHTTP) -> None:
    wrap = {"X-Vault-Wrap-TTL": "1m"}
    reply = vault.post("auth/token/create", {"policies": ["nope"]}, headers=wrap)
    info = _wrapped(reply)
    assert info["creation_path"] == "auth/token/create" and info["ttl"] == 60
    original = vault.post("sys/wrapping/unwrap", {}, token=info["token"]).json()
    auth = original["auth"]
    assert auth["accessor"] == info["wrapped_accessor"] and auth["policies"] == ["default", "nope"]
    assert original["warnings"] == ['Policy "nope" does not exist']  # kept inside, not outside
    assert vault.get("auth/token/lookup-self", token=auth["client_token"]).status_code == 200


def test_rewrap_moves_the_response_to_a_new_token(vault: VaultHTTP) -> None:
    vault.post("secret/data/r", {"data": {"k": "v"}})
    first = _wrapped(vault.get("secret/data/r", headers={"X-Vault-Wrap-TTL": "2m"}))
    second = _wrapped(vault.post("sys/wrapping/rewrap", {"token": first["token"]}))
    assert second["creation_path"] == "secret/data/r" and second["ttl"] == 120
    assert vault.post("sys/wrapping/lookup", {"token": first["token"]}).json() == INVALID
    shorter = vault.post(
        "sys/wrapping/rewrap", {"token": second["token"]}, headers={"X-Vault-Wrap-TTL": "30s"}
    )
    third = _wrapped(shorter)
    assert third["ttl"] == 30  # the shorter of the header and the original TTL
    assert _unwrap(vault, third["token"])["data"]["data"] == {"k": "v"}


def test_rewrap_by_the_wrapping_token_itself_is_denied_and_spends_it(vault: VaultHTTP) -> None:
    token = _wrap(vault, {"a": 1})
    reply = vault.post("sys/wrapping/rewrap", {}, token=token)
    assert reply.status_code == 403 and reply.json() == MULTI_DENIED
    assert vault.post("sys/wrapping/lookup", {"token": token}).json() == INVALID


def test_unwrap_with_a_wrap_ttl_wraps_the_original_again(vault: VaultHTTP) -> None:
    token = _wrap(vault, {"a": "1"})
    reply = vault.post("sys/wrapping/unwrap", {"token": token}, headers={"X-Vault-Wrap-TTL": "3m"})
    info = _wrapped(reply)
    assert info["creation_path"] == "sys/wrapping/unwrap" and info["ttl"] == 180
    assert vault.post("sys/wrapping/lookup", {"token": token}).json() == INVALID
    assert _unwrap(vault, info["token"])["data"] == {"a": "1"}


def test_wrap_needs_a_wrap_ttl_and_takes_any_data(vault: VaultHTTP) -> None:
    reply = vault.post("sys/wrapping/wrap", {"a": 1})
    assert reply.status_code == 400
    assert reply.json() == {"errors": ["endpoint requires response wrapping to be used"]}
    assert _unwrap(vault, _wrap(vault, {}))["data"] == {}
    unwrapped = _unwrap(vault, _wrap(vault, {"any": "field", "token": "x"}))
    assert unwrapped["data"] == {"any": "field", "token": "x"} and unwrapped["warnings"] is None


@pytest.mark.parametrize("name", ["unwrap", "lookup", "rewrap"])
@pytest.mark.parametrize(
    ("body", "token", "status", "error"),
    [
        ({}, "", 403, f"{CHECK_FAILED}: token is empty"),
        ({"token": ""}, "root", 403, f"{CHECK_FAILED}: empty token in request body"),
        ({"token": 5}, "root", 403, f"{CHECK_FAILED}: could not decode token in request body"),
        ({"token": "root"}, "root", 400, INVALID["errors"][0]),
        ({}, "root", 400, INVALID["errors"][0]),
        ({"token": "s.000000000000000000000000"}, "root", 400, INVALID["errors"][0]),
    ],
)
def test_the_presented_token_is_checked_first(
    vault: VaultHTTP, name: str, body: dict[str, Any], token: str, status: int, error: str
) -> None:
    reply = vault.post(f"sys/wrapping/{name}", body, token=token)
    assert reply.status_code == status and reply.json() == {"errors": [error]}


def test_an_expired_wrapping_token_is_invalid(vault: VaultHTTP) -> None:
    token = _wrap(vault, {"a": 1}, "1s")
    time.sleep(1.5)
    assert vault.post("sys/wrapping/lookup", {"token": token}).json() == INVALID
    assert vault.post("sys/wrapping/unwrap", {"token": token}).json() == INVALID


def test_policies_enforce_min_and_max_wrapping_ttl(vault: VaultHTTP) -> None:
    bounds = 'min_wrapping_ttl = "1m"\n max_wrapping_ttl = "10m"'
    write_policy(vault, "bounded", f'path "secret/data/*" {{ capabilities = ["read"]\n {bounds} }}')
    vault.post("secret/data/b", {"data": {"k": "v"}})
    user = create(vault, {"policies": ["bounded"]})["client_token"]
    for headers in ({}, {"X-Vault-Wrap-TTL": "30s"}, {"X-Vault-Wrap-TTL": "11m"}):
        reply = vault.get("secret/data/b", token=user, headers=headers)
        assert reply.status_code == 403 and reply.json() == MULTI_DENIED, headers
    info = _wrapped(vault.get("secret/data/b", token=user, headers=WRAP_5M))
    assert _unwrap(vault, info["token"])["data"]["data"] == {"k": "v"}


def test_what_is_not_wrapped(vault: VaultHTTP) -> None:
    health = vault.get("sys/health", headers=WRAP_5M)
    assert health.status_code == 200 and "wrap_info" not in health.json()
    assert "wrap_info" not in vault.get("sys/seal-status", headers=WRAP_5M).json()
    missing = vault.get("secret/data/missing", headers=WRAP_5M)
    assert missing.status_code == 404 and missing.json() == {"errors": []}
    written = vault.put("sys/policy/p", {"policy": 'path "x" { capabilities = ["read"] }'},
                        headers=WRAP_5M)  # fmt: skip
    assert written.status_code == 204
    empty = vault.list("secret/metadata/nothing", headers=WRAP_5M)
    assert empty.status_code == 404 and empty.json() == {"errors": ["unsupported path"]}


def test_listings_and_legacy_sys_bodies_unwrap_as_plain_envelopes(vault: VaultHTTP) -> None:
    vault.post("secret/data/l", {"data": {"k": "v"}})
    listing = _wrapped(vault.list("secret/metadata", headers=WRAP_5M))
    assert _unwrap(vault, listing["token"])["data"] == {"keys": ["l"]}
    mounts = _unwrap(vault, _wrapped(vault.get("sys/mounts", headers=WRAP_5M))["token"])
    assert "secret/" in mounts["data"] and "secret/" not in mounts  # no top-level copy


def test_the_wrapped_response_is_only_in_the_wrapping_tokens_cubbyhole(vault: VaultHTTP) -> None:
    token = _wrap(vault, {"a": "1"})
    other = create(vault, {"policies": ["default"]})["client_token"]
    for caller in ("root", other):
        assert vault.get("cubbyhole/response", token=caller).status_code == 404
        assert vault.list("cubbyhole", token=caller).status_code == 404
    own = vault.get("cubbyhole/response", token=token)  # OpenBao's deprecated way
    assert own.status_code == 200 and '"data":{"a":"1"}' in own.json()["data"]["response"]
    assert own.json()["warnings"][0].startswith("Reading from 'cubbyhole/response' is deprecated")
    assert vault.post("sys/wrapping/unwrap", {"token": token}).json() == INVALID


def test_a_response_too_large_for_one_item_is_refused(vault: VaultHTTP) -> None:
    reply = vault.post("sys/wrapping/wrap", {"blob": "x" * 410_000}, headers=WRAP_5M)
    assert reply.status_code == 400
    [error] = reply.json()["errors"]
    assert error.startswith("response is too large to wrap: entry too large: ")


def test_unwrapping_revokes_the_token_and_its_cubbyhole(vault: VaultHTTP) -> None:
    info = _wrapped(vault.post("sys/wrapping/wrap", {"a": "1"}, headers=WRAP_5M))
    _unwrap(vault, info["token"])
    gone = vault.post("auth/token/lookup-accessor", {"accessor": info["accessor"]})
    assert gone.status_code == 400 and gone.json() == {"errors": [INVALID_ACCESSOR]}


def test_a_failed_read_keeps_the_token_and_a_failed_revoke_keeps_the_response(
    vault: VaultHTTP, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.storage.view import StorageView
    from chalicelib.system import path_wrapping

    info = _wrapped(vault.post("sys/wrapping/wrap", {"a": "1"}, headers=WRAP_5M))
    with monkeypatch.context() as patch:
        patch.setattr(StorageView, "get_many", _fail)
        assert vault.post("sys/wrapping/unwrap", {"token": info["token"]}).status_code == 500
    with monkeypatch.context() as patch:
        patch.setattr(path_wrapping, "revoke_orphan", _fail)
        assert _unwrap(vault, info["token"])["data"] == {"a": "1"}
    assert vault.post("sys/wrapping/unwrap", {"token": info["token"]}).json() == INVALID
    # Spent but not revoked: tidy finishes the revocation.
    assert vault.post("auth/token/tidy").status_code == 202
    gone = vault.post("auth/token/lookup-accessor", {"accessor": info["accessor"]})
    assert gone.json() == {"errors": [INVALID_ACCESSOR]}


def test_concurrent_unwraps_have_one_winner(vault: VaultHTTP) -> None:
    token = _wrap(vault, {"a": "1"})
    with ThreadPoolExecutor(4) as pool:
        replies = list(pool.map(lambda _: VaultHTTP(vault.url, "root").post(
            "sys/wrapping/unwrap", {"token": token}), range(4)))  # fmt: skip
    assert sorted(reply.status_code for reply in replies) == [200, 400, 400, 400]


def _fail(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("storage unavailable")
