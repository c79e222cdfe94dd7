"""The approle auth method over HTTP: roles, their settings, secret IDs, login, renewal,
lockout, tidy, and what reaches the table.

Expected texts and shapes were recorded from `bao server -dev` (OpenBao 2.7.2). Where
OpenBao answers 500 to a request it cannot serve (a bad CIDR block, a role ID in use, a
missing role) we answer 400 with the same message: those cases assert our status.
"""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest

from chalicelib.auth.approle import secret_ids, tidy
from chalicelib.auth.approle.hashing import mount_keys, role_key
from chalicelib.auth.approle.roles import load
from chalicelib.auth.approle.secret_ids import secret_key
from chalicelib.core.errors import VaultError
from chalicelib.core.operation import Operation
from chalicelib.core.pipeline import _handle
from chalicelib.core.request import Request
from chalicelib.core.runtime import Runtime, runtime
from chalicelib.identity.store import IdentityStore
from chalicelib.storage.dynamodb import DynamoDBPhysical
from chalicelib.storage.view import StorageView
from chalicelib.tokens.clock import NANOS, now_ns
from tests.api.test_kv_http import atomic_dynamodb  # noqa: F401 (fixture)
from tests.support import REGION, VaultHTTP


@pytest.fixture(scope="module", name="vault")
def module_cluster(module_vault: VaultHTTP) -> VaultHTTP:
    """One cluster for the module's tests (each mounts its engine afresh)."""
    return module_vault


INVALID = {"errors": ["invalid role or secret ID"]}
DENIED = {"errors": ["permission denied"]}
UNSUPPORTED = {"errors": ["1 error occurred:\n\t* unsupported path\n\n"]}
TIDY_STARTED = (
    "Tidy operation successfully started. Any information from the operation will be "
    "printed to OpenBao's server logs."
)


@pytest.fixture
def approle(vault: VaultHTTP) -> VaultHTTP:
    """approle enabled afresh: the module's tests share a cluster."""
    vault.delete("sys/auth/approle")
    assert vault.post("sys/auth/approle", {"type": "approle"}).status_code == 204
    return vault


def write_role(vault: VaultHTTP, name: str, **fields: Any) -> None:
    reply = vault.post(f"auth/approle/role/{name}", fields)
    assert reply.status_code == 204, reply.text


def role_id(vault: VaultHTTP, name: str) -> str:
    return str(vault.get(f"auth/approle/role/{name}/role-id").json()["data"]["role_id"])


def new_secret(vault: VaultHTTP, name: str, **fields: Any) -> dict[str, Any]:
    reply = vault.post(f"auth/approle/role/{name}/secret-id", fields)
    assert reply.status_code == 200, reply.text
    return dict(reply.json()["data"])


def login(vault: VaultHTTP, role: str, secret: str | None = None) -> Any:
    body = {"role_id": role} if secret is None else {"role_id": role, "secret_id": secret}
    return vault.post("auth/approle/login", body, token="")


def credentials(vault: VaultHTTP, name: str, **fields: Any) -> tuple[str, str]:
    """(role ID, a new secret ID) of role ``name``."""
    return role_id(vault, name), new_secret(vault, name, **fields)["secret_id"]


def error(reply: Any) -> tuple[int, Any]:
    return reply.status_code, reply.json()


def mount_view() -> StorageView:
    rt = runtime()
    mount = rt.auth.find("approle/")
    assert mount is not None
    return StorageView(rt.barrier, mount.storage_prefix)


# -- roles ---------------------------------------------------------------------------------


def test_a_new_role_reads_back_with_openbaos_defaults(approle: VaultHTTP) -> None:
    write_role(approle, "web")
    assert approle.get("auth/approle/role/web").json()["data"] == {
        "bind_secret_id": True,
        "local_secret_ids": False,
        "secret_id_bound_cidrs": None,
        "secret_id_num_uses": 0,
        "secret_id_ttl": 0,
        "token_bound_cidrs": [],
        "token_explicit_max_ttl": 0,
        "token_max_ttl": 0,
        "token_no_default_policy": False,
        "token_num_uses": 0,
        "token_period": 0,
        "token_policies": [],
        "token_strictly_bind_ip": False,
        "token_ttl": 0,
        "token_type": "default",
    }


def test_deprecated_fields_are_folded_in_and_shown_again(approle: VaultHTTP) -> None:
    reply = approle.post("auth/approle/role/Web", {
        "policies": "a,b", "period": "1h", "bound_cidr_list": "127.0.0.1/32",
        "token_type": "default-service", "junk": 1,
    })  # fmt: skip
    assert reply.status_code == 200
    assert reply.json()["warnings"] == [
        "default-service has no useful meaning; adjusting to service",
        "Endpoint ignored these unrecognized parameters: [junk]",
    ]
    data = approle.get("auth/approle/role/WEB").json()["data"]  # names are case-insensitive
    assert {k: data[k] for k in ("policies", "token_policies", "period", "token_period",
                                 "secret_id_bound_cidrs", "token_type")} == {
        "policies": ["a", "b"], "token_policies": ["a", "b"], "period": 3600,
        "token_period": 3600, "secret_id_bound_cidrs": ["127.0.0.1/32"], "token_type": "service",
    }  # fmt: skip


def test_roles_list_page_and_delete(approle: VaultHTTP) -> None:
    assert error(approle.list("auth/approle/role")) == (404, {"errors": []})
    for name in ("c", "A", "b"):
        write_role(approle, name)
    assert approle.list("auth/approle/role").json()["data"]["keys"] == ["a", "b", "c"]
    paged = approle.get("auth/approle/role", params={"list": "true", "after": "a", "limit": 1})
    assert paged.json()["data"]["keys"] == ["b"]
    assert approle.delete("auth/approle/role/b").status_code == 204
    assert approle.delete("auth/approle/role/nope").status_code == 204
    assert error(approle.get("auth/approle/role/b")) == (404, {"errors": []})
    assert approle.list("auth/approle/role").json()["data"]["keys"] == ["a", "c"]


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"bind_secret_id": False}, 400, "at least one constraint should be enabled on the role"),
        ({"secret_id_bound_cidrs": "banana"}, 400,
         "failed to validate CIDR blocks: invalid CIDR address: banana"),
        ({"secret_id_bound_cidrs": "127.0.0.1"}, 400,
         "failed to validate CIDR blocks: invalid CIDR address: 127.0.0.1"),
        ({"secret_id_num_uses": -1}, 400, "secret_id_num_uses cannot be negative"),
        ({"secret_id_ttl": "-5"}, 400,
         "error converting input for field \"secret_id_ttl\": cannot provide negative value '-5'"),
        ({"token_ttl": "2h", "token_max_ttl": "1h"}, 400,
         "'token_ttl' cannot be greater than 'token_max_ttl'"),
        ({"period": "1000000h"}, 400, 'period of "1000000h0m0s" is greater than the '
         'backend\'s maximum lease TTL of "768h0m0s"'),
        ({"role_id": ""}, 400, "invalid role_id supplied, or failed to generate a role_id"),
        ({"token_type": "weird"}, 400, "invalid 'token_type' value \"weird\""),
    ],
)  # fmt: skip
def test_bad_role_writes_are_refused(
    approle: VaultHTTP, body: dict[str, Any], status: int, message: str
) -> None:
    assert error(approle.post("auth/approle/role/r", body)) == (status, {"errors": [message]})
    assert approle.get("auth/approle/role/r").status_code == 404


def test_odd_names_and_local_secret_ids(approle: VaultHTTP) -> None:
    assert error(approle.post("auth/approle/role/bad!name", {})) == (404, UNSUPPORTED)
    long = approle.post("auth/approle/role/" + "a" * 4097, {})
    assert error(long) == (400, {"errors": ["role_name is longer than maximum of 4096 bytes"]})
    assert approle.get("auth/approle/role/" + "a" * 5000).status_code == 404
    write_role(approle, "local", local_secret_ids=True)
    read = approle.get("auth/approle/role/local/local-secret-ids").json()["data"]
    assert read == {"local_secret_ids": True}
    again = approle.post("auth/approle/role/local", {"local_secret_ids": True})
    assert error(again) == (400, {"errors": [
        "local_secret_ids can only be modified during role creation"]})
    big = approle.post("auth/approle/role/local", {"token_max_ttl": "1000000h"})
    assert big.json()["warnings"] == [
        "token_max_ttl is greater than the backend mount's maximum TTL value; issued tokens' "
        "max TTL value will be truncated"
    ]


def test_a_role_id_is_custom_unique_and_changes_the_login(approle: VaultHTTP) -> None:
    write_role(approle, "one", role_id="custom-1")
    write_role(approle, "two")
    assert role_id(approle, "one") == "custom-1"
    taken = {"errors": ["role_id already in use"]}
    assert error(approle.post("auth/approle/role/three", {"role_id": "custom-1"})) == (400, taken)
    assert approle.get("auth/approle/role/three").status_code == 404
    moved = approle.post("auth/approle/role/two/role-id", {"role_id": "custom-1"})
    assert error(moved) == (400, taken)
    missing = approle.post("auth/approle/role/two/role-id", {})
    assert error(missing) == (400, {"errors": ["missing role_id"]})
    secret = new_secret(approle, "one")["secret_id"]
    assert approle.post("auth/approle/role/one/role-id", {"role_id": "custom-2"}).status_code == 204
    assert login(approle, "custom-1", secret).json() == INVALID
    assert login(approle, "custom-2", secret).status_code == 200
    write_role(approle, "two", role_id="custom-1")  # the old role ID is free again
    assert error(approle.delete("auth/approle/role/two/role-id")) == (
        405, {"errors": ["1 error occurred:\n\t* unsupported operation\n\n"]})


# (segment, body, what the read shows after it, what it shows after a DELETE)
SETTINGS = [
    ("policies", {"token_policies": "a,b"}, {"token_policies": ["a", "b"]}, {"token_policies": []}),
    ("policies", {"policies": "c"}, {"token_policies": ["c"], "policies": ["c"]},
     {"token_policies": []}),
    ("period", {"period": "1h"}, {"token_period": 3600, "period": 3600}, {"token_period": 0}),
    ("period", {"token_period": "2h"}, {"token_period": 7200}, {"token_period": 0}),
    ("secret-id-num-uses", {"secret_id_num_uses": 4}, {"secret_id_num_uses": 4},
     {"secret_id_num_uses": 0}),
    ("secret-id-ttl", {"secret_id_ttl": "10m"}, {"secret_id_ttl": 600}, {"secret_id_ttl": 0}),
    ("token-num-uses", {"token_num_uses": 3}, {"token_num_uses": 3}, {"token_num_uses": 0}),
    ("token-ttl", {"token_ttl": "5m"}, {"token_ttl": 300}, {"token_ttl": 0}),
    ("token-max-ttl", {"token_max_ttl": "1h"}, {"token_max_ttl": 3600}, {"token_max_ttl": 0}),
    ("bind-secret-id", {"bind_secret_id": False}, {"bind_secret_id": False},
     {"bind_secret_id": True}),
    ("secret-id-bound-cidrs", {"secret_id_bound_cidrs": "10.0.0.0/8"},
     {"secret_id_bound_cidrs": ["10.0.0.0/8"]}, {"secret_id_bound_cidrs": None}),
    ("token-bound-cidrs", {"token_bound_cidrs": "10.0.0.0/8"},
     {"token_bound_cidrs": ["10.0.0.0/8"]}, {"token_bound_cidrs": None}),
]  # fmt: skip


@pytest.mark.parametrize(("segment", "body", "after", "reset"), SETTINGS)
def test_each_setting_has_its_own_path(
    approle: VaultHTTP, segment: str, body: dict, after: dict, reset: dict
) -> None:
    # A CIDR bind keeps the role constrained when bind-secret-id is turned off.
    write_role(approle, "r", token_bound_cidrs="127.0.0.1/32")
    path = f"auth/approle/role/r/{segment}"
    assert approle.post(path, body).status_code == 204
    assert approle.get(path).json()["data"] == after
    field = next(iter(body))
    role = approle.get("auth/approle/role/r").json()["data"]
    assert role[field] == after[field]
    assert approle.delete(path).status_code == 204
    assert approle.get(path).json()["data"] == reset


def test_setting_paths_refuse_what_openbao_refuses(approle: VaultHTTP) -> None:
    write_role(approle, "r", token_ttl="30m", token_max_ttl="1h")
    for segment, name in (("policies", "token_policies"), ("period", "period"),
                          ("secret-id-num-uses", "secret_id_num_uses"),
                          ("secret-id-ttl", "secret_id_ttl"), ("token-ttl", "token_ttl"),
                          ("token-max-ttl", "token_max_ttl"),
                          ("token-num-uses", "token_num_uses"),
                          ("bind-secret-id", "bind_secret_id")):  # fmt: skip
        reply = approle.post(f"auth/approle/role/r/{segment}", {})
        assert error(reply) == (400, {"errors": [f"missing {name}"]}), segment
    refused = {
        "token-ttl": ({"token_ttl": "2h"}, "token_ttl should not be greater than token_max_ttl"),
        "token-max-ttl": ({"token_max_ttl": "10m"},
                          "token_max_ttl should be greater than or equal to token_ttl"),
        "secret-id-num-uses": ({"secret_id_num_uses": -2}, "secret_id_num_uses cannot be negative"),
        "secret-id-bound-cidrs": ({"secret_id_bound_cidrs": ""}, "missing bound_cidr_list"),
        "bind-secret-id": ({"bind_secret_id": False},
                           "at least one constraint should be enabled on the role"),
    }  # fmt: skip
    for segment, (body, message) in refused.items():
        reply = approle.post(f"auth/approle/role/r/{segment}", body)
        assert error(reply) == (400, {"errors": [message]}), segment
    deprecated = approle.get("auth/approle/role/r/bound-cidr-list").json()
    assert deprecated["data"] == {"bound_cidr_list": None}
    assert "deprecated" in deprecated["warnings"][0]
    assert error(approle.post("auth/approle/role/nope/token-ttl", {"token_ttl": 5})) == (
        404, UNSUPPORTED)
    assert approle.get("auth/approle/role/nope/token-ttl").status_code == 404
    assert approle.delete("auth/approle/role/nope/token-ttl").status_code == 204


# -- secret IDs ----------------------------------------------------------------------------


def test_a_secret_id_is_issued_listed_and_looked_up(approle: VaultHTTP) -> None:
    write_role(approle, "s", secret_id_ttl="1h", secret_id_num_uses=3,
               secret_id_bound_cidrs="127.0.0.0/8")
    issued = new_secret(approle, "s", metadata='{"team":"x"}', cidr_list="127.0.0.1/32")
    assert set(issued) == {"secret_id", "secret_id_accessor", "secret_id_ttl",
                           "secret_id_num_uses"}  # fmt: skip
    assert (issued["secret_id_ttl"], issued["secret_id_num_uses"]) == (3600, 3)
    other = new_secret(approle, "s", ttl="30m", num_uses=2)
    assert (other["secret_id_ttl"], other["secret_id_num_uses"]) == (1800, 2)
    listed = approle.list("auth/approle/role/s/secret-id").json()["data"]["keys"]
    assert listed == sorted([issued["secret_id_accessor"], other["secret_id_accessor"]])
    by_value = approle.post("auth/approle/role/s/secret-id/lookup",
                            {"secret_id": issued["secret_id"]}).json()["data"]
    by_accessor = approle.post("auth/approle/role/s/secret-id-accessor/lookup",
                               {"secret_id_accessor": issued["secret_id_accessor"]}).json()
    assert by_value == by_accessor["data"]
    created = by_value.pop("creation_time")
    assert by_value.pop("last_updated_time") == created and created.endswith("Z")
    assert by_value.pop("expiration_time") > created
    assert by_value == {
        "cidr_list": ["127.0.0.1/32"], "metadata": {"team": "x"},
        "secret_id_accessor": issued["secret_id_accessor"], "secret_id_num_uses": 3,
        "secret_id_ttl": 3600, "token_bound_cidrs": [],
    }  # fmt: skip


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"num_uses": 5}, "num_uses cannot be higher than the role's secret_id_num_uses"),
        ({"num_uses": 0}, "num_uses cannot be higher than the role's secret_id_num_uses"),
        ({"num_uses": -1}, "num_uses cannot be negative"),
        ({"ttl": "2h"}, "ttl cannot be longer than the role's secret_id_ttl"),
        ({"ttl": "0"}, "ttl cannot be longer than the role's secret_id_ttl"),
        ({"ttl": "-1"}, "error converting input for field \"ttl\": cannot provide negative "
         "value '-1'"),
        ({"cidr_list": "10.0.0.0/8"}, 'failed to verify subset relationship between CIDR '
         'blocks on the role ["127.0.0.0/8"] and CIDR blocks on the secret ID ["10.0.0.0/8"]'),
        ({"cidr_list": "bogus"}, "failed to validate CIDR blocks: invalid CIDR address: bogus"),
        ({"token_bound_cidrs": "10.0.0.0/8"}, "failed to verify subset relationship between "
         'CIDR blocks on the role ["127.0.0.1/32"] and CIDR blocks on the secret ID '
         '["10.0.0.0/8"]'),
        ({"token_bound_cidrs": "x"}, "failed to validate token CIDR blocks: invalid CIDR "
         "address: x"),
        ({"metadata": "notjson"}, "failed to parse metadata: failed to parse the input: "
         "invalid <key,value> format"),
        ({"metadata": '{"a":""}'}, 'failed to parse metadata: invalid value for key "a"'),
    ],
)  # fmt: skip
def test_a_secret_id_may_only_narrow_its_role(
    approle: VaultHTTP, body: dict[str, Any], message: str
) -> None:
    write_role(approle, "s", secret_id_ttl="1h", secret_id_num_uses=3,
               secret_id_bound_cidrs="127.0.0.0/8", token_bound_cidrs="127.0.0.1/32")
    reply = approle.post("auth/approle/role/s/secret-id", body)
    assert error(reply) == (400, {"errors": [message]})
    assert approle.list("auth/approle/role/s/secret-id").status_code == 404


@pytest.mark.parametrize(
    ("metadata", "parsed"),
    [
        ("a=b, C = d ,", {"a": "b", "c": "d"}),  # pairs are lowercased, as OpenBao's
        ("eyJ4IjoieSJ9", {"x": "y"}),  # base64 of {"x":"y"}
        (' {"K": "V"} ', {"K": "V"}),
        ("  ", {}),
    ],
)
def test_metadata_in_each_form_openbao_reads(
    approle: VaultHTTP, metadata: str, parsed: dict[str, str]
) -> None:
    write_role(approle, "m")
    secret = new_secret(approle, "m", metadata=metadata)["secret_id"]
    looked = approle.post("auth/approle/role/m/secret-id/lookup", {"secret_id": secret})
    assert looked.json()["data"]["metadata"] == parsed


def test_custom_secret_ids_are_unique_per_role(approle: VaultHTTP) -> None:
    write_role(approle, "s")
    write_role(approle, "t")
    path = "auth/approle/role/{}/custom-secret-id"
    issued = approle.post(path.format("s"), {"secret_id": "my-custom", "num_uses": 1}).json()
    assert issued["data"]["secret_id"] == "my-custom"
    duplicate = approle.post(path.format("s"), {"secret_id": "my-custom"})
    assert error(duplicate) == (400, {"errors": [
        "failed to store secret_id: SecretID is already registered"]})
    assert approle.post(path.format("t"), {"secret_id": "my-custom"}).status_code == 200
    assert error(approle.post(path.format("s"), {})) == (400, {"errors": ["missing secret_id"]})
    assert login(approle, role_id(approle, "s"), "my-custom").status_code == 200
    assert login(approle, role_id(approle, "s"), "my-custom").json() == INVALID
    assert login(approle, role_id(approle, "t"), "my-custom").status_code == 200


def test_secret_ids_are_destroyed_by_value_and_by_accessor(approle: VaultHTTP) -> None:
    write_role(approle, "s")
    write_role(approle, "other")
    first, second = new_secret(approle, "s"), new_secret(approle, "s")
    base = "auth/approle/role/{}/secret-id{}"
    unknown = approle.post(base.format("s", "-accessor/lookup"), {"secret_id_accessor": "nope"})
    assert unknown.status_code == 404  # OpenBao puts this error inside "data"
    assert unknown.json()["data"] == {
        "error": 'failed to find accessor entry for secret_id_accessor: "nope"'}
    elsewhere = {"secret_id_accessor": first["secret_id_accessor"]}
    assert approle.post(base.format("other", "-accessor/lookup"), elsewhere).status_code == 204
    assert error(approle.post(base.format("other", "-accessor/destroy"), elsewhere)) == (
        403, {"errors": ["invalid secret id accessor"]})
    assert error(approle.post(base.format("s", "-accessor/destroy"),
                              {"secret_id_accessor": "nope"})) == (400, {"errors": [
        'failed to find accessor entry for secret_id_accessor: "nope"']})  # fmt: skip
    assert approle.post(base.format("s", "-accessor/destroy"), elsewhere).status_code == 204
    assert approle.post(base.format("s", "/destroy"),
                        {"secret_id": second["secret_id"]}).status_code == 204
    assert approle.post(base.format("s", "/destroy"), {"secret_id": "gone"}).status_code == 204
    assert approle.list(base.format("s", "")).status_code == 404
    for secret in (first, second):
        assert login(approle, role_id(approle, "s"), secret["secret_id"]).json() == INVALID


def test_a_missing_role_answers_as_openbao(approle: VaultHTTP) -> None:
    gone = {"errors": ['role "nope" does not exist']}
    base = "auth/approle/role/nope/"
    assert error(approle.post(base + "secret-id", {})) == (404, gone)
    assert error(approle.list(base + "secret-id")) == (400, gone)
    for path, body in (("secret-id/lookup", {"secret_id": "x"}),
                       ("secret-id/destroy", {"secret_id": "x"}),
                       ("secret-id-accessor/lookup", {"secret_id_accessor": "x"})):
        assert error(approle.post(base + path, body)) == (400, gone), path
    write_role(approle, "open", bind_secret_id=False, secret_id_bound_cidrs="10.0.0.0/8")
    assert error(approle.post("auth/approle/role/open/secret-id", {})) == (
        400, {"errors": ["bind_secret_id is not set on the role"]})


# -- login ---------------------------------------------------------------------------------


def test_login_answers_vaults_auth_block(approle: VaultHTTP) -> None:
    write_role(approle, "app", token_policies="p1", token_ttl="1h", token_max_ttl="2h")
    role, secret = credentials(approle, "app", metadata='{"team":"x"}')
    auth = login(approle, role, secret).json()["auth"]
    assert auth["policies"] == ["default", "p1"] and auth["lease_duration"] == 3600
    assert auth["metadata"] == {"role_name": "app", "team": "x"}
    assert (auth["renewable"], auth["orphan"], auth["token_type"]) == (True, True, "service")
    looked = approle.get("auth/token/lookup-self", token=auth["client_token"]).json()["data"]
    assert (looked["display_name"], looked["path"]) == ("approle", "auth/approle/login")
    rt = runtime()
    mount = rt.auth.find("approle/")
    assert mount is not None
    entity = IdentityStore(rt.barrier).entity_by_alias(mount.accessor, role)
    assert entity is not None and entity.id == auth["entity_id"]  # the alias is the role ID
    again = login(approle, role, new_secret(approle, "app")["secret_id"]).json()["auth"]
    assert again["entity_id"] == auth["entity_id"]


def test_unknown_role_and_wrong_secret_read_the_same(approle: VaultHTTP) -> None:
    write_role(approle, "app")
    role, secret = credentials(approle, "app")
    assert login(approle, "nope", secret).json() == INVALID
    assert login(approle, role, "wrong").json() == INVALID
    assert error(login(approle, role)) == (400, {"errors": ["missing secret_id"]})
    missing = approle.post("auth/approle/login", {"secret_id": secret}, token="")
    assert error(missing) == (400, {"errors": ["missing role_id"]})
    write_role(approle, "batch", token_type="batch")
    batch = login(approle, *credentials(approle, "batch")).json()["auth"]
    assert batch["token_type"] == "batch"


def test_use_limited_secret_ids_are_used_up(approle: VaultHTTP) -> None:
    write_role(approle, "app", secret_id_num_uses=2)
    role, secret = credentials(approle, "app")
    assert login(approle, role, secret).status_code == 200
    looked = approle.post("auth/approle/role/app/secret-id/lookup", {"secret_id": secret})
    assert looked.json()["data"]["secret_id_num_uses"] == 1
    assert login(approle, role, secret).status_code == 200
    assert login(approle, role, secret).json() == INVALID
    assert approle.post("auth/approle/role/app/secret-id/lookup",
                        {"secret_id": secret}).status_code == 204
    assert approle.list("auth/approle/role/app/secret-id").status_code == 404  # accessor gone


def _container_login(container: Runtime, role: str, secret: str) -> int:
    """A login through another container's pipeline (its own Runtime on the same table)."""
    request = Request(Operation.UPDATE, "auth/approle/login",
                      {"role_id": role, "secret_id": secret}, remote_address="127.0.0.1")
    try:
        return _handle(request, container).status
    except VaultError as failure:  # what _safe_handle renders for the client
        return int(failure.status)


@pytest.mark.parametrize("uses", [1, 2])
def test_concurrent_logins_spend_each_use_once(
    approle: VaultHTTP, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, uses: int
) -> None:
    """uses + 1 logins race, one over HTTP and the others through containers of their own;
    each reads the secret ID before any spends it, so exactly ``uses`` of them win."""
    failed: Counter[str] = request.getfixturevalue("atomic_dynamodb")  # moto made atomic
    write_role(approle, "app", secret_id_num_uses=uses)
    role, secret = credentials(approle, "app")
    racers = uses + 1
    containers = [Runtime(DynamoDBPhysical()) for _ in range(uses)]
    start, all_read = threading.Barrier(racers), threading.Barrier(racers)
    first_read = threading.local()
    original = secret_ids.read

    def read_then_wait(*args: Any, **kwargs: Any) -> Any:
        found = original(*args, **kwargs)
        if not getattr(first_read, "done", False):
            first_read.done = True
            all_read.wait(timeout=30)  # nobody writes before every racer has read
        return found

    monkeypatch.setattr(secret_ids, "read", read_then_wait)

    def racer(number: int) -> int:
        start.wait(timeout=30)
        if number == uses:
            return int(login(VaultHTTP(approle.url), role, secret).status_code)
        return _container_login(containers[number], role, secret)

    with ThreadPoolExecutor(racers) as pool:
        results = sorted(pool.map(racer, range(racers)))
    assert results == [200] * uses + [400]
    # They raced at the conditional write, not before it.
    assert failed["ConditionalCheckFailedException"] + failed["TransactionCanceledException"]
    monkeypatch.undo()
    assert login(approle, role, secret).json() == INVALID


def test_an_expired_secret_id_is_refused_before_any_tidy(
    approle: VaultHTTP, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_role(approle, "app", secret_id_ttl="1m")
    role, secret = credentials(approle, "app")
    assert login(approle, role, secret).status_code == 200
    later = now_ns() + 61 * NANOS
    monkeypatch.setattr(secret_ids, "now_ns", lambda: later)
    assert login(approle, role, secret).json() == INVALID
    assert approle.post("auth/approle/role/app/secret-id/lookup",
                        {"secret_id": secret}).status_code == 204
    listed = approle.list("auth/approle/role/app/secret-id").json()["data"]["keys"]
    assert len(listed) == 1  # still stored, until a tidy


def test_cidr_binds_use_the_peer_address(approle: VaultHTTP) -> None:
    """The dev server's peer is 127.0.0.1: a 10.0.0.0/8 bind refuses it, its /32 admits it."""
    write_role(approle, "far", secret_id_bound_cidrs="10.0.0.0/8")
    assert error(login(approle, *credentials(approle, "far"))) == (400, {"errors": [
        'source address "127.0.0.1" unauthorized by CIDR restrictions on the role']})
    write_role(approle, "near", secret_id_bound_cidrs="127.0.0.1/32")
    assert login(approle, *credentials(approle, "near")).status_code == 200
    write_role(approle, "any")
    role = role_id(approle, "any")
    unlimited = new_secret(approle, "any", cidr_list="10.0.0.0/8")["secret_id"]
    assert error(login(approle, role, unlimited)) == (400, {"errors": [
        'source address "127.0.0.1" unauthorized through CIDR restrictions on the secret ID']})
    once = new_secret(approle, "any", cidr_list="10.0.0.0/8", num_uses=1)["secret_id"]
    assert error(login(approle, role, once)) == (400, {"errors": [
        'source address "127.0.0.1" unauthorized by CIDR restrictions on the secret ID']})
    looked = approle.post("auth/approle/role/any/secret-id/lookup", {"secret_id": once})
    assert looked.json()["data"]["secret_id_num_uses"] == 1  # a refused login spends nothing
    bound = new_secret(approle, "any", cidr_list="127.0.0.1/32", token_bound_cidrs="10.0.0.0/8")
    token = login(approle, role, bound["secret_id"]).json()["auth"]["client_token"]
    assert approle.get("auth/token/lookup-self", token=token).status_code == 403


def test_a_role_without_bind_secret_id_logs_in_with_its_role_id(approle: VaultHTTP) -> None:
    write_role(approle, "open", bind_secret_id=False, secret_id_bound_cidrs="127.0.0.1/32")
    auth = login(approle, role_id(approle, "open")).json()["auth"]
    assert auth["metadata"] == {"role_name": "open"}


def test_renewal_goes_back_to_the_role(approle: VaultHTTP) -> None:
    write_role(approle, "app", token_ttl="1h", token_max_ttl="2h")
    token = login(approle, *credentials(approle, "app")).json()["auth"]["client_token"]
    assert approle.post("auth/approle/role/app/token-ttl", {"token_ttl": "30m"}).status_code == 204
    renewed = approle.post("auth/token/renew-self", {}, token=token).json()["auth"]
    assert renewed["lease_duration"] == 1800
    assert approle.delete("auth/approle/role/app").status_code == 204
    refused = approle.post("auth/token/renew-self", {}, token=token)
    assert error(refused) == (400, {"errors": [
        'failed to renew entry: role "app" does not exist during renewal']})


def test_a_wrapped_secret_id_unwraps_and_logs_in(approle: VaultHTTP) -> None:
    write_role(approle, "app")
    wrapped = approle.post("auth/approle/role/app/secret-id", {},
                           headers={"X-Vault-Wrap-TTL": "60s"}).json()
    assert wrapped["data"] is None and wrapped["wrap_info"]["ttl"] == 60
    assert wrapped["wrap_info"]["creation_path"] == "auth/approle/role/app/secret-id"
    unwrapped = approle.post("sys/wrapping/unwrap", {}, token=wrapped["wrap_info"]["token"])
    secret = unwrapped.json()["data"]["secret_id"]
    assert login(approle, role_id(approle, "app"), secret).status_code == 200


def test_bad_secret_ids_lock_the_role_id_out(approle: VaultHTTP) -> None:
    config = {"lockout_threshold": "5", "lockout_duration": "1h"}
    tuned = approle.post("sys/auth/approle/tune", {"user_lockout_config": config})
    assert tuned.status_code == 204
    write_role(approle, "app")
    role, secret = credentials(approle, "app")
    for _ in range(10):  # unknown role IDs count against no one
        assert login(approle, "unknown", "bad").json() == INVALID
    for _ in range(5):
        assert login(approle, role, "bad").json() == INVALID
    assert login(approle, role, secret).json() == DENIED  # even the right secret ID
    locked = approle.get("sys/locked-users").json()["data"]
    assert locked["by_namespace"][0]["mount_accessors"][0]["alias_identifiers"] == [role]
    assert locked["total"] == 1


# -- tidy and storage ----------------------------------------------------------------------


def _stored(view: StorageView, prefix: str) -> list[str]:
    return [name for name in view.list(prefix) if not name.endswith("/")] + [
        f"{folder}{name}"
        for folder in view.list(prefix) if folder.endswith("/")
        for name in view.list(prefix + folder)
    ]  # fmt: skip


def test_tidy_deletes_expired_secret_ids_and_dangling_accessors(
    approle: VaultHTTP, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_role(approle, "app")
    role, keep = role_id(approle, "app"), new_secret(approle, "app")
    for _ in range(2):
        new_secret(approle, "app", ttl="1m")
    dangling = new_secret(approle, "app")["secret_id"]
    view = mount_view()
    stored = load(view, "app")
    assert stored is not None
    key = secret_key(mount_keys(view), stored.role.secrets_folder, dangling)
    view.delete(key)  # its accessor stays behind
    assert (len(_stored(view, "secret_id/")), len(_stored(view, "accessor/"))) == (3, 4)
    later = now_ns() + 61 * NANOS
    monkeypatch.setattr(tidy, "now_ns", lambda: later)
    reply = approle.post("auth/approle/tidy/secret-id", {})
    assert (reply.status_code, reply.json()["warnings"]) == (202, [TIDY_STARTED])
    assert (len(_stored(view, "secret_id/")), len(_stored(view, "accessor/"))) == (1, 1)
    listed = approle.list("auth/approle/role/app/secret-id").json()["data"]["keys"]
    assert listed == [keep["secret_id_accessor"]]
    assert login(approle, role, keep["secret_id"]).status_code == 200


def test_a_role_made_again_has_none_of_the_old_ones_secret_ids(approle: VaultHTTP) -> None:
    """A secret ID issued while its role was being deleted is left in the old role's
    folder: the new role of that name never reads it, and a tidy deletes it."""
    write_role(approle, "app", role_id="fixed")
    secret = new_secret(approle, "app")["secret_id"]
    view = mount_view()
    view.delete(role_key("app"))  # as if deleted between its flush and that issue
    view.delete(mount_keys(view).role_id("fixed"))
    write_role(approle, "app", role_id="fixed")
    assert login(approle, "fixed", secret).json() == INVALID
    assert approle.list("auth/approle/role/app/secret-id").status_code == 404
    assert approle.post("auth/approle/tidy/secret-id", {}).status_code == 202
    assert _stored(view, "secret_id/") == _stored(view, "accessor/") == []


def test_deleting_a_role_deletes_its_secret_ids(approle: VaultHTTP) -> None:
    write_role(approle, "app")
    for _ in range(3):
        new_secret(approle, "app")
    view = mount_view()
    assert len(_stored(view, "secret_id/")) == len(_stored(view, "accessor/")) == 3
    assert approle.delete("auth/approle/role/app").status_code == 204
    assert _stored(view, "secret_id/") == _stored(view, "accessor/") == []
    assert _stored(view, "role_id/") == []


def test_no_secret_id_role_id_or_accessor_reaches_the_table_in_clear(
    approle: VaultHTTP,
) -> None:
    write_role(approle, "app", role_id="canary-role-id-5d2c", secret_id_num_uses=2)
    custom = "canary-secret-id-91e4"
    issued = approle.post("auth/approle/role/app/custom-secret-id", {"secret_id": custom})
    generated = new_secret(approle, "app")
    login(approle, "canary-role-id-5d2c", custom)
    login(approle, "canary-role-id-5d2c", "canary-wrong-secret-77aa")
    table = boto3.resource("dynamodb", region_name=REGION).Table("lambdavault-test")
    dump = repr(table.scan(ConsistentRead=True)["Items"])
    for value in ("canary-role-id-5d2c", custom, "canary-wrong-secret-77aa",
                  issued.json()["data"]["secret_id_accessor"], generated["secret_id"],
                  generated["secret_id_accessor"]):  # fmt: skip
        assert value not in dump


def test_a_steady_login_reads_its_lockout_counter_and_entity_with_the_first_read(
    approle: VaultHTTP, calls: Counter[str]
) -> None:
    """The role ID is in the body: the login framework still reads the role ID's lockout
    counter, identity alias index and (known here) entity ahead, with the mount's key."""
    write_role(approle, "steady", token_policies="default")
    role, secret = credentials(approle, "steady")
    assert login(approle, role, secret).status_code == 200  # the entity is known from here
    calls.clear()
    assert login(approle, role, secret).status_code == 200
    # Left after the first read: the role-ID index, the role, then its secret ID.
    assert calls["BatchGetItem"] == 1 and calls["GetItem"] == 3
