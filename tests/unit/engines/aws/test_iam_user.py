"""iam_user credentials: the user as the role describes it, keys that work, and revocation."""

from datetime import timedelta

import boto3
import pytest

from chalicelib.core.errors import BadRequest
from chalicelib.engines.aws.backend import backend
from chalicelib.engines.aws.clients import iam_client
from chalicelib.engines.aws.config import RootConfig
from chalicelib.engines.aws.iam_user import RevocationError
from tests.support import REGION
from tests.unit.engines.aws.conftest import POLICY, READ, UPDATE, lease_of, ok, respond

READ_ONLY = "arn:aws:iam::123456789012:policy/read-only"
OLD = timedelta(minutes=10)  # older than IAM's eventual-consistency window


@pytest.fixture
def full_role(aws_mount, iam):
    iam.create_group(GroupName="devs")
    iam.create_policy(PolicyName="read-only", PolicyDocument=POLICY)
    boundary = iam.create_policy(PolicyName="boundary", PolicyDocument=POLICY)["Policy"]["Arn"]
    ok(aws_mount, UPDATE, "roles/r", {
        "credential_type": "iam_user",
        "policy_document": POLICY,
        "policy_arns": [READ_ONLY],
        "iam_groups": "devs",
        "iam_tags": {"team": "core"},
        "user_path": "/vault/",
        "permissions_boundary_arn": boundary,
    })
    return boundary


def caller(access_key: str, secret_key: str) -> str:
    sts = boto3.client(
        "sts", region_name=REGION, aws_access_key_id=access_key, aws_secret_access_key=secret_key
    )
    return sts.get_caller_identity()["Arn"]


def test_generated_keys_authenticate_as_the_new_user(aws_mount, iam, full_role):
    # moto keeps no permissions boundary on users: look at what was asked of IAM instead.
    sent = []

    def record(params, **kwargs):
        sent.append(params)

    engine_iam = iam_client(RootConfig())
    engine_iam.meta.events.register("provide-client-params.iam.CreateUser", record)
    try:
        response = respond(aws_mount, "creds/r")
    finally:
        engine_iam.meta.events.unregister("provide-client-params.iam.CreateUser", record)
    assert sent[0]["PermissionsBoundary"] == full_role
    username = response.secret.internal["username"]
    assert username.startswith("vault-token-ci-r-")
    assert response.data["session_token"] is None
    arn = caller(response.data["access_key"], response.data["secret_key"])
    assert arn == f"arn:aws:iam::123456789012:user/vault/{username}"

    user = iam.get_user(UserName=username)["User"]
    assert user["Path"] == "/vault/"
    assert iam.list_user_tags(UserName=username)["Tags"] == [{"Key": "team", "Value": "core"}]
    assert iam.list_user_policies(UserName=username)["PolicyNames"] == ["r"]
    attached = iam.list_attached_user_policies(UserName=username)["AttachedPolicies"]
    assert [policy["PolicyArn"] for policy in attached] == [READ_ONLY]
    groups = iam.list_groups_for_user(UserName=username)["Groups"]
    assert [group["GroupName"] for group in groups] == ["devs"]


def test_the_lease_is_renewable_and_follows_config_lease(aws_mount, full_role):
    first = respond(aws_mount, "creds/r").secret
    assert (first.type, first.ttl, first.max_ttl, first.renewable) == ("access_keys", 0, 0, True)
    assert first.internal["is_sts"] is False
    ok(aws_mount, UPDATE, "config/lease", {"lease": "30m", "lease_max": "2h"})
    response = respond(aws_mount, "creds/r")
    assert (response.secret.ttl, response.secret.max_ttl) == (1800, 7200)

    ok(aws_mount, UPDATE, "config/lease", {"lease": "1h", "lease_max": "3h"})
    renewed = backend().secret_type("access_keys").renew(aws_mount.storage, lease_of(response))
    assert (renewed.ttl, renewed.max_ttl, renewed.renewable) == (3600, 10800, True)
    assert renewed.internal == response.secret.internal


def test_revoke_deletes_the_user_and_everything_it_holds(aws_mount, iam, full_role):
    response = respond(aws_mount, "creds/r")
    username = response.secret.internal["username"]
    revoke = backend().secret_type("access_keys").revoke
    revoke(aws_mount.storage, lease_of(response))
    assert [u["UserName"] for u in iam.list_users()["Users"]] == []
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.get_user(UserName=username)
    assert iam.get_group(GroupName="devs")["Users"] == []
    # Idempotent: a retry (from the sweeper, after a partial failure) succeeds.
    revoke(aws_mount.storage, lease_of(response, age=OLD))


def test_revoke_completes_after_a_partial_failure(aws_mount, iam, full_role):
    response = respond(aws_mount, "creds/r")
    username = response.secret.internal["username"]
    key = iam.list_access_keys(UserName=username)["AccessKeyMetadata"][0]["AccessKeyId"]
    iam.delete_access_key(UserName=username, AccessKeyId=key)
    iam.delete_user_policy(UserName=username, PolicyName="r")
    backend().secret_type("access_keys").revoke(aws_mount.storage, lease_of(response))
    assert iam.list_users()["Users"] == []


def test_a_fresh_lease_whose_user_seems_gone_is_retried_not_forgotten(aws_mount, iam):
    ok(aws_mount, UPDATE, "roles/r", {"credential_type": "iam_user", "policy_document": POLICY})
    response = respond(aws_mount, "creds/r")
    revoke = backend().secret_type("access_keys").revoke
    revoke(aws_mount.storage, lease_of(response))
    # IAM may not show a just-created user yet: a young lease is not dropped on that word.
    with pytest.raises(RevocationError, match="not found yet"):
        revoke(aws_mount.storage, lease_of(response))


def test_a_failure_after_creating_the_user_removes_it(aws_mount, iam):
    ok(aws_mount, UPDATE, "roles/r", {"credential_type": "iam_user", "iam_groups": "missing"})
    reply = aws_mount.send(READ, "creds/r")
    assert reply.status == 400
    assert reply.body["errors"][0].startswith("Error adding user to group: NoSuchEntity: ")
    assert iam.list_users()["Users"] == []


def test_custom_username_template(aws_mount):
    ok(aws_mount, UPDATE, "config/root", {
        "username_template": '{{ printf "app-%s-%s" .PolicyName (random 4) | lowercase }}',
    })
    role = {"credential_type": "iam_user", "policy_document": POLICY}
    ok(aws_mount, UPDATE, "roles/Deploy", role)
    username = respond(aws_mount, "creds/Deploy").secret.internal["username"]
    assert username.startswith("app-deploy-") and len(username) == len("app-deploy-") + 4


def test_unknown_role_and_sts_leases(aws_mount):
    assert aws_mount.send(READ, "creds/nope").body == {"errors": ['Role "nope" not found']}
    sts_lease = {"is_sts": True}
    kind = backend().secret_type("access_keys")
    info = lease_of(respond_session(aws_mount))
    assert info.internal == sts_lease
    kind.revoke(aws_mount.storage, info)  # nothing to do: STS credentials expire by themselves
    with pytest.raises(BadRequest, match="lease is not renewable"):
        kind.renew(aws_mount.storage, info)


def respond_session(harness):
    ok(harness, UPDATE, "roles/s", {"credential_type": "session_token"})
    return respond(harness, "creds/s")


def test_creds_paths_declare_their_items_for_the_first_round_trip():
    for prefix in ("creds", "sts"):
        match = backend().match(f"{prefix}/dev")
        assert match.path.prefetch is not None
        assert list(match.path.prefetch(match.captures)) == [
            "role/dev", "config/root", "config/lease",
        ]
