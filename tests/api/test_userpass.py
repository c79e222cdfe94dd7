"""The userpass auth method over HTTP: users, logins, renewal, token settings, lockout.

Expected texts and shapes were recorded from `bao server -dev` (OpenBao 2.7).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import bcrypt
import pytest

from chalicelib.core.errors import VaultError
from chalicelib.core.operation import Operation
from chalicelib.core.pipeline import _handle
from chalicelib.core.request import Request
from chalicelib.core.runtime import Runtime
from chalicelib.storage.dynamodb import DynamoDBPhysical
from tests.support import VaultHTTP


@pytest.fixture(scope="module", name="vault")
def module_cluster(module_vault: VaultHTTP) -> VaultHTTP:
    """One cluster for the module's tests (each mounts its engine afresh)."""
    return module_vault


INVALID = {"errors": ["invalid username or password"]}
DENIED = {"errors": ["permission denied"]}


@pytest.fixture
def userpass(vault: VaultHTTP) -> VaultHTTP:
    vault.delete("sys/auth/userpass")  # the module's tests share a cluster
    assert vault.post("sys/auth/userpass", {"type": "userpass"}).status_code == 204
    return vault


def add_user(vault: VaultHTTP, name: str, **fields: Any) -> None:
    body = {"password": "pw-" + name.lower(), **fields}
    reply = vault.post(f"auth/userpass/users/{name}", body)
    assert reply.status_code == 204, reply.text


def login(vault: VaultHTTP, name: str, password: str | None = None) -> Any:
    return vault.post(
        f"auth/userpass/login/{name}", {"password": password or "pw-" + name}, token=""
    )


def auth_of(vault: VaultHTTP, name: str) -> dict[str, Any]:
    reply = login(vault, name)
    assert reply.status_code == 200, reply.text
    return reply.json()["auth"]


# -- users ---------------------------------------------------------------------------------


def test_a_user_reads_back_with_every_token_field_and_no_password(userpass: VaultHTTP) -> None:
    add_user(userpass, "alice", policies="a,b", token_ttl="1h")
    data = userpass.get("auth/userpass/users/alice").json()["data"]
    assert data == {
        "policies": ["a", "b"],
        "token_bound_cidrs": [],
        "token_explicit_max_ttl": 0,
        "token_max_ttl": 0,
        "token_no_default_policy": False,
        "token_num_uses": 0,
        "token_period": 0,
        "token_policies": ["a", "b"],
        "token_strictly_bind_ip": False,
        "token_ttl": 3600,
        "token_type": "default",
    }


def test_users_list_update_and_delete(userpass: VaultHTTP) -> None:
    assert userpass.list("auth/userpass/users").json() == {"errors": []}  # 404, as OpenBao
    add_user(userpass, "Bob")  # names are case-insensitive, kept in lowercase
    add_user(userpass, "carol")
    assert userpass.list("auth/userpass/users").json()["data"]["keys"] == ["bob", "carol"]
    assert userpass.post("auth/userpass/users/bob", {"token_policies": "x"}).status_code == 204
    assert userpass.get("auth/userpass/users/BOB").json()["data"]["token_policies"] == ["x"]
    assert auth_of(userpass, "bob")["policies"] == ["default", "x"]  # password kept
    assert userpass.delete("auth/userpass/users/bob").status_code == 204
    assert userpass.get("auth/userpass/users/bob").status_code == 404
    assert userpass.list("auth/userpass/users").json()["data"]["keys"] == ["carol"]


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({}, "must provide either password or password_hash"),
        ({"password": "a", "password_hash": "b"},
         "only one of password or password_hash may be provided"),
        ({"password_hash": "not-bcrypt"}, "password_hash is not a valid bcrypt hash"),
        ({"password_hash": bcrypt.hashpw(b"x", bcrypt.gensalt(4)).decode()},
         "bcrypt cost of 4 is too low, want 5 at minimum"),
        ({"password": "x", "token_type": "nope"}, "invalid 'token_type' value \"nope\""),
        ({"password": "x", "token_ttl": "2h", "token_max_ttl": "1h"},
         "'token_ttl' cannot be greater than 'token_max_ttl'"),
        ({"password": "x", "token_type": "batch", "token_period": "1h"},
         "'token_type' cannot be 'batch' or 'default_batch' when set to generate periodic "
         "tokens"),
        ({"password": "x", "token_bound_cidrs": "not-a-cidr"},
         "invalid token_bound_cidrs: 'not-a-cidr' is not an IP address or CIDR"),
    ],
)
def test_bad_user_writes_are_refused(userpass: VaultHTTP, body: dict, error: str) -> None:
    reply = userpass.post("auth/userpass/users/dave", body)
    assert (reply.status_code, reply.json()) == (400, {"errors": [error]})


def test_password_and_policies_sub_paths(userpass: VaultHTTP) -> None:
    add_user(userpass, "erin", token_policies="one")
    reply = userpass.post("auth/userpass/users/erin/password", {"password": "new"})
    assert reply.status_code == 204
    assert login(userpass, "erin").json() == INVALID
    assert login(userpass, "erin", "new").status_code == 200
    hashed = bcrypt.hashpw(b"hashed", bcrypt.gensalt(6)).decode()
    reply = userpass.post("auth/userpass/users/erin/password", {"password_hash": hashed})
    assert reply.status_code == 204
    assert login(userpass, "erin", "hashed").status_code == 200
    reply = userpass.post("auth/userpass/users/erin/policies", {"policies": "p,q"})
    assert reply.status_code == 204
    data = userpass.get("auth/userpass/users/erin").json()["data"]
    assert (data["token_policies"], data["policies"]) == (["p", "q"], ["p", "q"])
    missing = userpass.post("auth/userpass/users/nobody/password", {"password": "x"})
    assert (missing.status_code, missing.json()) == (400, {"errors": ["username does not exist"]})


# -- login ---------------------------------------------------------------------------------


def test_login_answers_vaults_auth_block(userpass: VaultHTTP) -> None:
    add_user(userpass, "alice", policies="a,b")
    reply = login(userpass, "alice")
    assert reply.status_code == 200
    auth = reply.json()["auth"]
    assert auth["client_token"].startswith("s.")
    random = ("client_token", "accessor", "entity_id")
    assert {k: v for k, v in auth.items() if k not in random} == {
        "policies": ["a", "b", "default"],
        "token_policies": ["a", "b", "default"],
        "metadata": {"username": "alice"},
        "lease_duration": 2764800,
        "renewable": True,
        "token_type": "service",
        "orphan": True,
        "mfa_requirement": None,
        "num_uses": 0,
    }
    looked = userpass.get("auth/token/lookup-self", token=auth["client_token"]).json()["data"]
    assert looked["display_name"] == "userpass-alice"
    assert looked["path"] == "auth/userpass/login/alice"
    assert looked["entity_id"] == auth["entity_id"]
    assert looked["meta"] == {"username": "alice"}
    # The same alias logs in as the same entity.
    assert auth_of(userpass, "alice")["entity_id"] == auth["entity_id"]


def test_wrong_password_and_unknown_user_read_the_same(userpass: VaultHTTP) -> None:
    add_user(userpass, "alice")
    wrong, unknown = login(userpass, "alice", "nope"), login(userpass, "zed", "nope")
    assert (wrong.status_code, wrong.json()) == (unknown.status_code, unknown.json()) == (
        400, INVALID,
    )
    missing = userpass.post("auth/userpass/login/alice", {}, token="")
    assert (missing.status_code, missing.json()) == (400, {"errors": ["missing password"]})


def test_token_settings_shape_the_login_token(userpass: VaultHTTP) -> None:
    add_user(userpass, "ttl", token_ttl="10m", token_max_ttl="20m", token_num_uses=3,
             token_no_default_policy=True, token_policies="p")
    auth = auth_of(userpass, "ttl")
    assert (auth["lease_duration"], auth["num_uses"], auth["policies"]) == (600, 3, ["p"])
    add_user(userpass, "periodic", token_period="1h")
    token = auth_of(userpass, "periodic")["client_token"]
    assert userpass.get("auth/token/lookup-self", token=token).json()["data"]["period"] == 3600


def test_mount_token_type_and_user_token_type(userpass: VaultHTTP) -> None:
    add_user(userpass, "svc")
    add_user(userpass, "bat", token_type="batch")
    assert auth_of(userpass, "bat")["token_type"] == "batch"
    assert auth_of(userpass, "bat")["client_token"].startswith("b.")
    tune = {"token_type": "default-batch"}
    assert userpass.post("sys/auth/userpass/tune", tune).status_code == 204
    assert userpass.get("sys/auth/userpass/tune").json()["data"]["token_type"] == "default-batch"
    assert auth_of(userpass, "svc")["token_type"] == "batch"
    assert userpass.post("sys/auth/userpass/tune", {"token_type": "service"}).status_code == 204
    assert auth_of(userpass, "bat")["token_type"] == "service"
    bad = userpass.post("sys/auth/userpass/tune", {"token_type": "nope"})
    assert bad.json() == {"errors": ["invalid value for 'token_type'"]}
    on_secrets = userpass.post("sys/mounts/secret/tune", {"token_type": "batch"})
    assert on_secrets.json() == {"errors": ["'token_type' can only be modified on auth mounts"]}


def test_cidr_bound_users_log_in_only_from_their_network(userpass: VaultHTTP) -> None:
    add_user(userpass, "far", token_bound_cidrs="10.0.0.0/8")
    assert login(userpass, "far").json() == DENIED
    add_user(userpass, "near", token_bound_cidrs="127.0.0.1/32")
    token = auth_of(userpass, "near")["client_token"]
    looked = userpass.get("auth/token/lookup-self", token=token).json()["data"]
    assert looked["bound_cidrs"] == ["127.0.0.1/32"]


def test_root_policy_cannot_be_had_by_login(userpass: VaultHTTP) -> None:
    add_user(userpass, "sneaky", token_policies="root")
    reply = login(userpass, "sneaky")
    assert (reply.status_code, reply.json()) == (
        400, {"errors": ["auth methods cannot create root tokens"]}
    )


# -- renewal ---------------------------------------------------------------------------------


def test_renewal_goes_back_to_the_user(userpass: VaultHTTP) -> None:
    add_user(userpass, "renewer", token_ttl="10m", token_max_ttl="1h", policies="p")
    token = auth_of(userpass, "renewer")["client_token"]
    renewed = userpass.post("auth/token/renew-self", {"increment": "30m"}, token=token)
    assert renewed.status_code == 200
    assert renewed.json()["auth"]["lease_duration"] == 1800
    userpass.post("auth/userpass/users/renewer/policies", {"token_policies": "other"})
    changed = userpass.post("auth/token/renew-self", token=token)
    assert changed.json() == {
        "errors": ["failed to renew entry: policies have changed, not renewing"]
    }
    userpass.delete("auth/userpass/users/renewer")
    gone = userpass.post("auth/token/renew-self", token=token)
    assert gone.status_code == 400
    assert "no longer exists" in gone.json()["errors"][0]


# -- lockout ---------------------------------------------------------------------------------


def _locked(vault: VaultHTTP) -> dict[str, Any]:
    return vault.get("sys/locked-users").json()["data"]


def test_five_failures_lock_the_user_until_unlocked(userpass: VaultHTTP) -> None:
    add_user(userpass, "alice")
    for _ in range(5):
        assert login(userpass, "alice", "wrong").json() == INVALID
    assert login(userpass, "alice").json() == DENIED  # even the right password
    accessor = userpass.get("sys/auth").json()["data"]["userpass/"]["accessor"]
    assert _locked(userpass) == {
        "by_namespace": [{
            "namespace_id": "root", "namespace_path": "", "counts": 1,
            "mount_accessors": [
                {"mount_accessor": accessor, "counts": 1, "alias_identifiers": ["alice"]}
            ],
        }],
        "total": 1,
    }
    unlock = userpass.post(f"sys/locked-users/{accessor}/unlock/alice")
    assert unlock.status_code == 204
    assert login(userpass, "alice").status_code == 200
    assert _locked(userpass)["total"] == 0


def test_an_unknown_user_locks_exactly_like_a_known_one(userpass: VaultHTTP) -> None:
    add_user(userpass, "known")
    for name in ("known", "ghost"):
        for _ in range(5):
            login(userpass, name, "wrong")
    assert login(userpass, "known", "wrong").json() == login(userpass, "ghost", "wrong").json()
    assert _locked(userpass)["total"] == 2


def test_a_success_resets_the_count(userpass: VaultHTTP) -> None:
    add_user(userpass, "alice")
    for _ in range(4):
        login(userpass, "alice", "wrong")
    assert login(userpass, "alice").status_code == 200
    for _ in range(4):
        login(userpass, "alice", "wrong")
    assert login(userpass, "alice").status_code == 200


def test_lockout_is_tuned_per_mount(userpass: VaultHTTP) -> None:
    add_user(userpass, "alice")
    config = {"lockout_threshold": "2", "lockout_duration": "1h",
              "lockout_counter_reset_duration": "30m"}
    tuned = userpass.post("sys/auth/userpass/tune", {"user_lockout_config": config})
    assert tuned.status_code == 204
    assert {k: v for k, v in userpass.get("sys/auth/userpass/tune").json()["data"].items()
            if k.startswith("user_lockout")} == {
        "user_lockout_counter_reset_duration": 1800, "user_lockout_threshold": 2,
        "user_lockout_duration": 3600, "user_lockout_disable": False,
    }
    for _ in range(2):
        login(userpass, "alice", "wrong")
    assert login(userpass, "alice").json() == DENIED
    disabled = {"user_lockout_config": {"lockout_disable": True}}
    assert userpass.post("sys/auth/userpass/tune", disabled).status_code == 204
    assert login(userpass, "alice").status_code == 200
    refused = userpass.post("sys/mounts/secret/tune", {"user_lockout_config": config})
    assert refused.json() == {
        "errors": ['tuning of user lockout configuration for auth type "kv" not allowed']
    }


def test_lockout_is_shared_by_containers(userpass: VaultHTTP) -> None:
    """Failures counted by two Runtime instances on one table lock the user for both."""
    add_user(userpass, "alice")
    other = Runtime(DynamoDBPhysical())

    def other_login(password: str) -> int:
        request = Request(
            Operation.UPDATE, "auth/userpass/login/alice", {"password": password},
            remote_address="127.0.0.1",
        )
        try:
            return _handle(request, other).status
        except VaultError as error:  # what _safe_handle renders for the client
            return int(error.status)

    for attempt in range(5):
        if attempt % 2:
            assert other_login("wrong") == 400
        else:
            assert login(userpass, "alice", "wrong").status_code == 400
    assert login(userpass, "alice").json() == DENIED
    assert other_login("pw-alice") == 403


def test_a_steady_login_reads_everything_in_its_first_round_trip(
    userpass: VaultHTTP, calls: Counter[str]
) -> None:
    """User, lockout counter, alias index and (known here) entity ride with the cluster
    state; then only the token's writes follow."""
    add_user(userpass, "alice")
    auth_of(userpass, "alice")  # creates the entity; this container learns it
    calls.clear()
    auth_of(userpass, "alice")
    assert calls["BatchGetItem"] == 1
    assert "GetItem" not in calls and "Query" not in calls
