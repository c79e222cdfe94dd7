"""Vault's envelope, error envelope and status codes, over HTTP through the dev adapter."""

from __future__ import annotations

import http.client
import json
from typing import NamedTuple
from urllib.parse import urlsplit

import pytest

from tests.support import VaultHTTP


@pytest.fixture(scope="module", name="vault")
def module_cluster(module_vault: VaultHTTP) -> VaultHTTP:
    """One cluster for the module's tests (each works under names of its own)."""
    return module_vault



class RawReply(NamedTuple):
    status: int
    location: str | None
    body: bytes


def test_unknown_path_is_404_with_vault_message(vault: VaultHTTP) -> None:
    reply = vault.get("nope/x")
    assert reply.status_code == 404
    assert reply.json() == {"errors": ['no handler for route "nope/x". route entry not found.']}


def test_missing_and_invalid_tokens_get_the_same_403(vault: VaultHTTP) -> None:
    missing = vault.get("sys/mounts", token="")
    invalid = vault.get("sys/mounts", token="hvs.not-a-real-token")
    assert missing.status_code == invalid.status_code == 403
    assert missing.json() == invalid.json() == {"errors": ["permission denied"]}


def test_bearer_authorization_header_is_accepted(vault: VaultHTTP) -> None:
    reply = vault.get("sys/mounts", token="", headers={"Authorization": f"Bearer {vault.token}"})
    assert reply.status_code == 200


def test_success_envelope_always_has_request_id(vault: VaultHTTP) -> None:
    body = vault.get("sys/mounts").json()
    assert body["request_id"]
    for key in ("lease_id", "renewable", "lease_duration", "data", "wrap_info", "warnings", "auth"):
        assert key in body
    assert body["data"]["sys/"]["type"] == "system"
    assert body["sys/"] == body["data"]["sys/"]  # sys/mounts repeats data at the top level


def test_invalid_json_is_400_envelope(vault: VaultHTTP) -> None:
    reply = vault.request("POST", "sys/mounts/x", data="{not json")
    assert reply.status_code == 400
    assert reply.json()["errors"][0].startswith("failed to decode JSON input")


def test_json_no_stored_value_could_hold_is_400(vault: VaultHTTP) -> None:
    # A lone surrogate cannot be stored as UTF-8; nesting beyond 1,024 levels or a body
    # that is not UTF-8 cannot be parsed sanely: each is bad input, never a 500.
    for body in ('{"type": "kv", "description": "\\ud800"}', "[" * 5000,
                 b'{"type": "\xff"}', '{"a": ' * 2000 + "1" + "}" * 2000):
        reply = vault.request("POST", "sys/mounts/x", data=body)
        assert reply.status_code == 400, body[:40]
        assert reply.json()["errors"][0].startswith("failed to decode JSON input")


def test_integers_beyond_64_bits_are_answered(vault: VaultHTTP) -> None:
    big = 2**70
    reply = vault.request("POST", "cubbyhole/big", data=f'{{"n": {big}, "s": "ü<"}}')
    assert reply.status_code == 204
    assert vault.get("cubbyhole/big").json()["data"] == {"n": float(big), "s": "ü<"}


def test_json_that_is_not_an_object_is_400(vault: VaultHTTP) -> None:
    for body in ("[1]", '"x"', "3"):
        reply = vault.request("POST", "sys/mounts/x", data=body)
        assert reply.status_code == 400, body
        assert "errors" in reply.json()


def test_any_content_type_is_parsed_as_json(vault: VaultHTTP) -> None:
    reply = vault.request(
        "POST",
        "sys/mounts/x",
        data='{"type": "nosuch"}',
        headers={"Content-Type": "text/plain"},
    )
    assert reply.status_code == 400
    assert reply.json() == {"errors": ["plugin not found in the catalog: nosuch"]}


def test_unsupported_operation_is_405(vault: VaultHTTP) -> None:
    reply = vault.delete("sys/key-status")
    assert reply.status_code == 405
    assert reply.json() == {"errors": ["1 error occurred:\n\t* unsupported operation\n\n"]}


def test_unknown_sys_path_is_404_unsupported_path(vault: VaultHTTP) -> None:
    reply = vault.get("sys/nope")
    assert reply.status_code == 404
    assert reply.json() == {"errors": ["1 error occurred:\n\t* unsupported path\n\n"]}


def test_bad_field_type_is_400_not_500(vault: VaultHTTP) -> None:
    reply = vault.get("sys/health", params={"activecode": "abc"})
    assert reply.status_code == 400
    assert "activecode" in reply.json()["errors"][0]


def test_empty_write_answers_204(vault: VaultHTTP) -> None:
    reply = vault.post("sys/mounts/cubbyhole/tune", {"description": "mine"})
    assert reply.status_code == 204
    assert reply.content == b""


def test_wrap_ttl_header_is_parsed_as_openbao_does(vault: VaultHTTP) -> None:
    bad = vault.get("sys/mounts", headers={"X-Vault-Wrap-TTL": "abc"})
    assert bad.status_code == 400
    assert bad.json()["errors"][0].startswith("error parsing X-Vault-Wrap-TTL header: time:")
    negative = vault.get("sys/mounts", headers={"X-Vault-Wrap-TTL": "-5"})
    assert negative.json() == {
        "errors": ["error parsing X-Vault-Wrap-TTL header: requested wrap ttl cannot be negative"]
    }
    unwrapped = vault.get("sys/mounts", headers={"X-Vault-Wrap-TTL": "0"}).json()
    assert unwrapped["wrap_info"] is None and unwrapped["data"]


def test_a_null_body_is_an_empty_body(vault: VaultHTTP) -> None:
    assert vault.request("POST", "sys/rotate", data="null").status_code == 204


def _raw_get(vault: VaultHTTP, target: str, tokens: list[str] | None = None) -> RawReply:
    """GET `target` exactly as written (no client-side path cleaning), with one
    X-Vault-Token header per token, in order (the client's root token by default)."""
    url = urlsplit(vault.url)
    connection = http.client.HTTPConnection(url.hostname or "", url.port, timeout=30)
    try:
        connection.putrequest("GET", target, skip_accept_encoding=True)
        for token in [vault.token] if tokens is None else tokens:
            connection.putheader("X-Vault-Token", token)
        connection.endheaders()
        reply = connection.getresponse()
        return RawReply(reply.status, reply.getheader("Location"), reply.read())
    finally:
        connection.close()


def _sys_mounts_with_tokens(vault: VaultHTTP, tokens: list[str]) -> int:
    return _raw_get(vault, "/v1/sys/mounts", tokens).status


def test_repeated_token_headers_use_the_first_as_vault(vault: VaultHTTP) -> None:
    assert _sys_mounts_with_tokens(vault, [vault.token, "hvs.bogus"]) == 200
    assert _sys_mounts_with_tokens(vault, ["hvs.bogus", vault.token]) == 403


@pytest.mark.parametrize(
    ("target", "location"),
    [
        ("/v1/secret//foo", "/v1/secret/foo"),
        ("/v1//sys/mounts", "/v1/sys/mounts"),
        ("/v1/sys/./mounts", "/v1/sys/mounts"),
        ("/v1/sys/../sys/mounts", "/v1/sys/mounts"),
        ("/v1/sys//seal-status/", "/v1/sys/seal-status/"),
        ("/v1/secret//foo?version=2", "/v1/secret/foo?version=2"),
    ],
)
def test_unclean_paths_are_redirected_307_as_go_serves_them(
    vault: VaultHTTP, target: str, location: str
) -> None:
    reply = _raw_get(vault, target)
    assert (reply.status, reply.location) == (307, location)


@pytest.mark.parametrize(
    "target",
    ["/v1/secret/data/a%2F..%2Fb", "/v1/secret/data/a%2F.", "/v1/sys/mounts%2F..%2Fmounts"],
)
def test_encoded_relative_segments_are_refused_not_redirected(vault: VaultHTTP, target: str):
    reply = _raw_get(vault, target)
    assert (reply.status, json.loads(reply.body)) == (
        400, {"errors": ["relative paths not supported"]}
    )


def test_encoded_double_slashes_are_not_redirected(vault: VaultHTTP) -> None:
    assert _raw_get(vault, "/v1/secret/data/a%2F%2Fb").status == 404
