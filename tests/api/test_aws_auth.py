"""The aws auth method (iam) over HTTP: config, roles, logins as IAM users and assumed
roles (moto's STS names the signer by its access key), identity aliases and renewal.

Texts follow OpenBao's aws auth plugin (openbao-plugins auth/aws).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from tests.aws_auth_support import ACCOUNT, Keys, Principals, login_body, moto_server
from tests.support import VaultHTTP


@pytest.fixture(scope="module")
def moto_sts() -> Iterator[str]:
    with moto_server() as url:
        yield url


@pytest.fixture
def aws_auth(vault: VaultHTTP, moto_sts: str) -> VaultHTTP:
    assert vault.post("sys/auth/aws", {"type": "aws"}).status_code == 204
    reply = vault.post("auth/aws/config/client", {"sts_endpoint": moto_sts})
    assert reply.status_code == 204, reply.text
    return vault


@pytest.fixture
def principals(aws_auth: VaultHTTP) -> Principals:
    return Principals()


def write_role(vault: VaultHTTP, name: str, **fields: Any) -> Any:
    reply = vault.post(f"auth/aws/role/{name}", {"auth_type": "iam", **fields})
    assert reply.status_code in (200, 204), reply.text
    return reply


def login(vault: VaultHTTP, keys: Keys, **options: Any) -> Any:
    return vault.post("auth/aws/login", login_body(keys, **options), token="")


def entity_alias(vault: VaultHTTP, client_token: str) -> dict[str, Any]:
    entity_id = vault.get("auth/token/lookup-self", token=client_token).json()["data"]["entity_id"]
    return vault.get(f"identity/entity/id/{entity_id}").json()["data"]["aliases"][0]


def test_config_client_never_returns_the_secret_key(aws_auth: VaultHTTP, moto_sts: str) -> None:
    reply = aws_auth.post(
        "auth/aws/config/client",
        {"access_key": "AKIA1", "secret_key": "s3cret", "allowed_sts_header_values": "x-amz-foo",
         "iam_server_id_header_value": "vault.example.com"},
    )  # fmt: skip
    assert reply.status_code == 204, reply.text
    data = aws_auth.get("auth/aws/config/client").json()["data"]
    assert "s3cret" not in str(data) and "secret_key" not in data
    assert data == {
        "access_key": "AKIA1", "iam_endpoint": "", "sts_endpoint": moto_sts, "sts_region": "",
        "use_sts_region_from_client": False, "iam_server_id_header_value": "vault.example.com",
        "allowed_sts_header_values": ["X-Amz-Foo"], "max_retries": -1,
    }  # fmt: skip
    bad = aws_auth.post("auth/aws/config/client", {"sts_endpoint": "file:///etc/passwd"})
    assert bad.status_code == 400
    assert aws_auth.delete("auth/aws/config/client").status_code == 204
    assert aws_auth.get("auth/aws/config/client").status_code == 404


def test_config_identity_defaults_and_choices(aws_auth: VaultHTTP) -> None:
    path = "auth/aws/config/identity"
    assert aws_auth.get(path).json()["data"] == {
        "iam_alias": "role_id", "iam_metadata": ["account_id", "auth_type"],
    }  # fmt: skip
    wrong = aws_auth.post(path, {"iam_alias": "name"})
    assert wrong.status_code == 400
    assert wrong.json()["errors"] == [
        'iam_alias of "name" not in set of allowed values: '
        "[role_id unique_id full_arn canonical_arn]"
    ]
    assert aws_auth.post(path, {"iam_metadata": "default,client_arn"}).status_code == 400
    assert aws_auth.post(path, {"iam_metadata": "nope"}).status_code == 400
    chosen = {"iam_alias": "unique_id", "iam_metadata": "client_arn"}
    assert aws_auth.post(path, chosen).status_code == 204
    assert aws_auth.get(path).json()["data"] == {**chosen, "iam_metadata": ["client_arn"]}


def test_roles_resolve_unique_ids_and_refuse_what_openbao_refuses(
    aws_auth: VaultHTTP, principals: Principals
) -> None:
    arn, _ = principals.user("app")
    user_id = principals.iam.get_user(UserName="app")["User"]["UserId"]
    write_role(aws_auth, "App", bound_iam_principal_arn=[arn], policies="web", ttl="1h")
    data = aws_auth.get("auth/aws/role/app").json()["data"]
    assert data["auth_type"] == "iam" and data["resolve_aws_unique_ids"] is True
    assert data["bound_iam_principal_arn"] == [arn]
    assert data["bound_iam_principal_id"] == [user_id]
    assert data["token_policies"] == ["web"] and data["policies"] == ["web"]
    assert data["token_ttl"] == 3600 and data["ttl"] == 3600
    assert len(data["role_id"]) == 36
    for listing in ("auth/aws/role", "auth/aws/roles"):
        assert aws_auth.list(listing).json()["data"]["keys"] == ["app"]

    def refused(name: str, **fields: Any) -> str:
        reply = aws_auth.post(f"auth/aws/role/{name}", fields)
        assert reply.status_code == 400, reply.text
        return reply.json()["errors"][0]

    assert "only iam" in refused("e", auth_type="ec2", bound_ami_id="ami-1")
    assert refused("e", auth_type="nope") == "unrecognized auth_type: nope"
    assert refused("e") == "at least one bound parameter should be specified on the role"
    assert "not supported" in refused("e", bound_iam_principal_arn=arn,
                                      inferred_entity_type="ec2_instance")  # fmt: skip
    assert refused("e", bound_iam_principal_arn=arn, bound_region="us-east-1") == (
        "specified bound_region but not specifying ec2 auth_type or inferring ec2_instance"
    )
    missing = f"arn:aws:iam::{ACCOUNT}:user/ghost"
    assert refused("e", bound_iam_principal_arn=missing).startswith(
        f'unable to resolve ARN "{missing}" to internal ID: NoSuchEntity'
    )
    session = f"arn:aws:sts::{ACCOUNT}:assumed-role/deployer/one-session"
    assert refused("e", bound_iam_principal_arn=session) == (
        f'unable to resolve ARN "{session}" to internal ID: unrecognized error type '
        '"assumed-role"'
    )
    assert refused("app", resolve_aws_unique_ids=False) == (
        "changing resolve_aws_unique_ids from true to false is not allowed"
    )
    assert refused("app", auth_type="ec2") == "changing auth_type on a role is not allowed"
    assert aws_auth.delete("auth/aws/role/app").status_code == 204
    assert aws_auth.list("auth/aws/roles").status_code == 404


def test_an_iam_user_logs_in_and_renews(aws_auth: VaultHTTP, principals: Principals) -> None:
    arn, keys = principals.user("web")
    write_role(aws_auth, "web", bound_iam_principal_arn=arn, token_policies="app",
               token_ttl="1h")  # fmt: skip
    reply = login(aws_auth, keys, role="web")
    assert reply.status_code == 200, reply.text
    auth = reply.json()["auth"]
    role_id = aws_auth.get("auth/aws/role/web").json()["data"]["role_id"]
    assert auth["policies"] == ["app", "default"] and auth["lease_duration"] == 3600
    assert auth["metadata"] == {"role_id": role_id, "account_id": ACCOUNT, "auth_type": "iam"}
    token = auth["client_token"]
    looked = aws_auth.get("auth/token/lookup-self", token=token).json()["data"]
    assert looked["display_name"] == "aws-web" and looked["path"] == "auth/aws/login"
    alias = entity_alias(aws_auth, token)
    assert alias["name"] == role_id and alias["mount_type"] == "aws"
    assert alias["metadata"] == {"account_id": ACCOUNT, "auth_type": "iam"}
    renewed = aws_auth.post("auth/token/renew-self", {}, token=token)
    assert renewed.status_code == 200, renewed.text
    # Without a role name, the principal's own name is the role's (as Vault).
    assert login(aws_auth, keys).status_code == 200


def test_an_assumed_role_session_logs_in_through_its_role(
    aws_auth: VaultHTTP, principals: Principals
) -> None:
    role_arn = principals.role("deployer")
    write_role(aws_auth, "deploy", bound_iam_principal_arn=role_arn)
    aws_auth.post("auth/aws/config/identity", {"iam_alias": "canonical_arn",
                                               "iam_metadata": "client_arn,canonical_arn"})
    keys = principals.assume(role_arn, "ci-run-7")
    reply = login(aws_auth, keys, role="deploy")
    assert reply.status_code == 200, reply.text
    auth = reply.json()["auth"]
    session_arn = f"arn:aws:sts::{ACCOUNT}:assumed-role/deployer/ci-run-7"
    assert auth["metadata"]["client_arn"] == session_arn
    assert auth["metadata"]["canonical_arn"] == role_arn
    token = auth["client_token"]
    assert aws_auth.get("auth/token/lookup-self", token=token).json()["data"][
        "display_name"
    ] == "aws-deployer/ci-run-7"
    assert entity_alias(aws_auth, token)["name"] == role_arn
    # Another session of the same role is the same entity under canonical_arn.
    again = login(aws_auth, principals.assume(role_arn, "ci-run-8"), role="deploy").json()
    assert entity_alias(aws_auth, again["auth"]["client_token"])["name"] == role_arn


@pytest.mark.parametrize("kind", ["unique_id", "full_arn"])
def test_alias_names_follow_config_identity(
    aws_auth: VaultHTTP, principals: Principals, kind: str
) -> None:
    arn, keys = principals.user("alias-user")
    write_role(aws_auth, "r", bound_iam_principal_arn=arn)
    aws_auth.post("auth/aws/config/identity", {"iam_alias": kind})
    token = login(aws_auth, keys, role="r").json()["auth"]["client_token"]
    user_id = principals.iam.get_user(UserName="alias-user")["User"]["UserId"]
    assert entity_alias(aws_auth, token)["name"] == (user_id if kind == "unique_id" else arn)


def test_wildcard_binds_match_the_full_arn_with_its_path(
    aws_auth: VaultHTTP, principals: Principals
) -> None:
    _, team = principals.user("svc-orders", path="/team/")
    _, other = principals.user("svc-billing")
    write_role(aws_auth, "svc", bound_iam_principal_arn=f"arn:aws:iam::{ACCOUNT}:user/team/*")
    assert aws_auth.get("auth/aws/role/svc").json()["data"]["bound_iam_principal_id"] == []
    assert login(aws_auth, team, role="svc").status_code == 200
    refused = login(aws_auth, other, role="svc")
    assert refused.status_code == 400
    assert refused.json()["errors"] == [
        f'IAM Principal "arn:aws:iam::{ACCOUNT}:user/svc-billing" does not belong to the '
        'role "svc"'
    ]


def test_a_recreated_user_of_the_same_name_is_not_trusted(
    aws_auth: VaultHTTP, principals: Principals
) -> None:
    arn, _ = principals.user("ops")
    write_role(aws_auth, "ops", bound_iam_principal_arn=arn)
    write_role(aws_auth, "ops-by-name", bound_iam_principal_arn=arn, resolve_aws_unique_ids=False)
    principals.delete_user("ops")
    same_arn, keys = principals.user("ops")
    assert same_arn == arn
    refused = login(aws_auth, keys, role="ops")
    assert refused.status_code == 400
    assert "does not belong to the role" in refused.json()["errors"][0]
    # Without unique ID resolution the ARN as written is trusted, whoever holds it now.
    assert login(aws_auth, keys, role="ops-by-name").status_code == 200


def test_an_unbound_or_deleted_role_stops_renewal(
    aws_auth: VaultHTTP, principals: Principals
) -> None:
    arn, keys = principals.user("batch")
    other_arn, _ = principals.user("someone-else")
    write_role(aws_auth, "batch", bound_iam_principal_arn=arn)
    token = login(aws_auth, keys, role="batch").json()["auth"]["client_token"]
    write_role(aws_auth, "batch", bound_iam_principal_arn=other_arn)
    refused = aws_auth.post("auth/token/renew-self", {}, token=token)
    assert refused.status_code == 400
    assert refused.json()["errors"] == [
        f'failed to renew entry: role "batch" no longer bound to ARN "{arn}"'
    ]
    assert login(aws_auth, keys, role="batch").status_code == 400
    write_role(aws_auth, "batch", bound_iam_principal_arn=arn)
    token = login(aws_auth, keys, role="batch").json()["auth"]["client_token"]
    aws_auth.delete("auth/aws/role/batch")
    gone = aws_auth.post("auth/token/renew-self", {}, token=token)
    assert gone.json()["errors"] == ["failed to renew entry: role entry not found"]


def test_unknown_role_and_bound_cidrs(aws_auth: VaultHTTP, principals: Principals) -> None:
    arn, keys = principals.user("cidr")
    missing = login(aws_auth, keys, role="nope")
    assert missing.status_code == 400
    assert missing.json()["errors"] == ["entry for role nope not found"]
    write_role(aws_auth, "cidr", bound_iam_principal_arn=arn, token_bound_cidrs="10.0.0.0/8")
    denied = login(aws_auth, keys, role="cidr")
    assert denied.status_code == 403 and denied.json() == {"errors": ["permission denied"]}


@pytest.fixture
def iam_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """IAM operations the aws auth method makes, through the clients it builds."""
    from chalicelib.auth.aws import iam

    seen: list[str] = []
    clients: list[Any] = []
    build = iam.client_for

    def recording(spec: Any) -> Any:
        client = build(spec)
        client.meta.events.register("before-call.iam", record, unique_id="count")
        clients.append(client)
        return client

    def record(model: Any, **kwargs: Any) -> None:
        seen.append(model.name)

    monkeypatch.setattr(iam, "client_for", recording)
    yield seen
    for client in clients:
        client.meta.events.unregister("before-call.iam", unique_id="count")


def test_login_cost(
    aws_auth: VaultHTTP, principals: Principals, calls: Counter[str], iam_calls: list[str]
) -> None:
    """Round trips of a login as an IAM user: DynamoDB, IAM (none for an exact bind: the
    unique ID was resolved when the role was written; STS is one call, see the security
    tests)."""
    arn, keys = principals.user("cost")
    write_role(aws_auth, "cost", bound_iam_principal_arn=arn)
    assert iam_calls == ["GetUser"]
    assert login(aws_auth, keys, role="cost").status_code == 200
    calls.clear()
    assert login(aws_auth, keys, role="cost").status_code == 200
    # The role rides in the first read with the config; then the alias index and entity.
    # The token's transaction, then the markers of its accessor and lease folders (token
    # IDs are unlisted: no marker).
    assert calls == {"BatchGetItem": 1, "GetItem": 2, "TransactWriteItems": 1, "UpdateItem": 2}
    assert iam_calls == ["GetUser"]
    # A glob bind asks IAM for the full ARN once, then remembers it by unique ID.
    write_role(aws_auth, "glob", bound_iam_principal_arn=f"arn:aws:iam::{ACCOUNT}:user/co*")
    assert login(aws_auth, keys, role="glob").status_code == 200
    assert login(aws_auth, keys, role="glob").status_code == 200
    assert iam_calls == ["GetUser", "GetUser"]
