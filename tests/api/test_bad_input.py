"""Bad input the fuzzer (tests/fuzz) found, answered as OpenBao 2.7.2 answers it: never a
500. Each expectation was taken from `bao server -dev` for the same request."""

from __future__ import annotations

import pytest

from tests.support import VaultHTTP


@pytest.fixture(scope="module", name="vault")
def module_cluster(module_vault: VaultHTTP) -> VaultHTTP:
    """One cluster for the module's tests (each works under names of its own)."""
    return module_vault


UNSUPPORTED_PATH = {"errors": ["1 error occurred:\n\t* unsupported path\n\n"]}
UNSUPPORTED_OPERATION = {"errors": ["1 error occurred:\n\t* unsupported operation\n\n"]}


def _nested(levels: int) -> str:
    return '{"k":' * levels + "1" + "}" * levels


@pytest.mark.parametrize("path", ["secret/metadata/app", "secret/data/app", "nope/x"])
def test_patch_without_merge_patch_type_is_415_before_routing(
    vault: VaultHTTP, path: str
) -> None:
    # requests labels a json= body application/json; no token needed to be told so.
    reply = vault.request("PATCH", path, {"max_versions": 2}, token="")
    assert reply.status_code == 415
    assert reply.json() == {"errors": [
        "PATCH requires Content-Type of application/merge-patch+json, provided application/json"
    ]}


def test_patch_with_a_malformed_type_is_400_with_go_words(vault: VaultHTTP) -> None:
    reply = vault.request("PATCH", "secret/metadata/app", data=b"{}",
                          headers={"Content-Type": "application/"})
    assert reply.status_code == 400
    assert reply.json() == {"errors": ["mime: expected token after slash"]}
    missing = vault.request("PATCH", "secret/metadata/app", data=b"{}")
    assert (missing.status_code, missing.json()) == (400, {"errors": ["mime: no media type"]})


def test_merge_patch_still_patches(vault: VaultHTTP) -> None:
    assert vault.post("secret/data/app", {"data": {"a": 1}}).status_code == 200
    reply = vault.request("PATCH", "secret/data/app", {"data": {"b": 2}},
                          headers={"Content-Type": "application/merge-patch+json; charset=utf-8"})
    assert reply.status_code == 200, reply.text
    assert vault.get("secret/data/app").json()["data"]["data"] == {"a": 1, "b": 2}


@pytest.mark.parametrize(("method", "path"), [
    ("LIST", "sys/mounts"), ("LIST", "sys/auth"), ("LIST", "sys/audit"),
    ("LIST", "sys/locked-users"), ("GET", "sys/mounts/"), ("GET", "sys/auth/"),
])
def test_read_only_tables_have_no_folder_form(vault: VaultHTTP, method: str, path: str) -> None:
    # OpenBao declares these `mounts$`, not `mounts/?$`: LIST (which appends "/") and a
    # trailing slash reach no path at all, 404, not an unsupported operation.
    reply = vault.request(method, path)
    assert (reply.status_code, reply.json()) == (404, UNSUPPORTED_PATH)


def test_list_on_a_path_without_list_is_405(vault: VaultHTTP) -> None:
    reply = vault.request("LIST", "identity/entity/merge")
    assert (reply.status_code, reply.json()) == (405, UNSUPPORTED_OPERATION)


@pytest.mark.parametrize("path", ["secret/data/deep", "cubbyhole/deep"])
def test_json_nested_past_512_levels_is_400_not_500(vault: VaultHTTP, path: str) -> None:
    # OpenBao stores it; our writer recursed past Python's limit on it (500, traceback).
    inner = _nested(990)
    body = f'{{"data": {inner}}}' if path.startswith("secret/") else f'{{"k": {inner}}}'
    reply = vault.request("POST", path, data=body, headers={"Content-Type": "application/json"})
    assert reply.status_code == 400
    assert reply.json() == {"errors": ["failed to decode JSON input: invalid JSON body"]}
    shallow = f'{{"data": {_nested(500)}}}' if path.startswith("secret/") else _nested(500)
    reply = vault.request("POST", path, data=shallow, headers={"Content-Type": "application/json"})
    assert reply.status_code in (200, 204), reply.text


@pytest.mark.parametrize(("path", "body", "error"), [
    ("secret/config", {"max_versions": 10**20},
     "error converting input for field 'max_versions': value out of range"),
    ("auth/token/create", {"ttl": "9999999999999999999h"},
     'time: invalid duration "9999999999999999999h"'),
])
def test_numbers_past_go_types_are_400(vault: VaultHTTP, path: str, body: dict, error: str) -> None:
    # OpenBao refuses them too (400, in its own wording); they were accepted and stored.
    reply = vault.post(path, body)
    assert (reply.status_code, reply.json()) == (400, {"errors": [error]})


def test_an_endpoint_botocore_refuses_is_400(vault: VaultHTTP) -> None:
    # The aws engine's client with a configured endpoint of " " raised ValueError: a 500.
    assert vault.post("sys/mounts/aws", {"type": "aws"}).status_code == 204
    config = {"access_key": "AKIAEXAMPLE", "secret_key": "s", "iam_endpoint": " "}
    assert vault.post("aws/config/root", config).status_code == 204
    reply = vault.post("aws/config/rotate-root")
    assert reply.status_code == 400
    assert reply.json()["errors"][0].startswith("error creating the iam client: Invalid endpoint")
