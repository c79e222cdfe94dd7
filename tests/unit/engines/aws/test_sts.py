"""STS credential types: Vault's response fields, leases for exactly their lifetime, TTLs."""

import json

import pytest

from chalicelib.engines.aws.clients import sts_client
from chalicelib.engines.aws.config import RootConfig
from tests.unit.engines.aws.conftest import POLICY, READ, UPDATE, ok, respond

ROLE_ARN = "arn:aws:iam::123456789012:role/deployer"
OTHER_ARN = "arn:aws:iam::123456789012:role/other"


@pytest.fixture
def sent():
    """Parameters of every STS call the engine makes."""
    calls = []

    def record(params, model, **kwargs):
        calls.append((model.name, params))

    client = sts_client(RootConfig())
    client.meta.events.register("provide-client-params.sts.*", record)
    yield calls
    client.meta.events.unregister("provide-client-params.sts.*", record)


def assert_sts_lease(response, *fields):
    assert set(response.data) == {"access_key", "secret_key", "ttl", *fields}
    assert response.data["session_token"]
    secret = response.secret
    assert (secret.type, secret.renewable, secret.internal["is_sts"]) == (
        "access_keys", False, True,
    )
    assert secret.ttl == response.data["ttl"]


def test_assumed_role(aws_mount, sent):
    ok(aws_mount, UPDATE, "roles/r", {"credential_type": "assumed_role", "role_arns": ROLE_ARN})
    response = respond(aws_mount, "sts/r", {"ttl": "15m", "role_session_name": "ci job#1"})
    assert_sts_lease(response, "security_token", "session_token", "arn")
    assert response.data["security_token"] == response.data["session_token"]
    assert response.data["arn"] == "arn:aws:sts::123456789012:assumed-role/deployer/ci_job_1"
    assert 890 <= response.secret.ttl <= 900
    name, params = sent[-1]
    assert (name, params["RoleArn"], params["DurationSeconds"]) == ("AssumeRole", ROLE_ARN, 900)
    # Without a session name, one is generated like an IAM user name.
    default = respond(aws_mount, "creds/r")
    assert default.data["arn"].split("/")[-1].startswith("vault-token-ci-r-")
    assert 3590 <= default.secret.ttl <= 3600


def test_assumed_role_arn_choice(aws_mount):
    ok(aws_mount, UPDATE, "roles/r", {
        "credential_type": "assumed_role", "role_arns": [ROLE_ARN, OTHER_ARN],
    })
    assert aws_mount.send(READ, "sts/r").body == {
        "errors": ["did not supply a role_arn parameter and unable to determine one"]
    }
    assert aws_mount.send(UPDATE, "sts/r", {"role_arn": "arn:aws:iam::1:role/x"}).body == {
        "errors": ['role_arn "arn:aws:iam::1:role/x" not in allowed role arns for Vault role "r"']
    }
    chosen = respond(aws_mount, "sts/r", {"role_arn": OTHER_ARN})
    assert "assumed-role/other/" in chosen.data["arn"]


def test_sts_ttls_default_and_cap(aws_mount, sent):
    ok(aws_mount, UPDATE, "roles/r", {
        "credential_type": "assumed_role", "role_arns": ROLE_ARN, "default_sts_ttl": "20m",
        "max_sts_ttl": "30m",
    })
    respond(aws_mount, "sts/r")
    respond(aws_mount, "sts/r", {"ttl": "2h"})
    assert [params["DurationSeconds"] for _, params in sent] == [1200, 1800]


def test_federation_token_scoped_by_role_and_group_policies(aws_mount, iam, sent):
    iam.create_group(GroupName="devs")
    group_policy = {"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "sqs:*",
                                                           "Resource": "*"}}
    iam.put_group_policy(GroupName="devs", PolicyName="q", PolicyDocument=json.dumps(group_policy))
    managed = iam.create_policy(PolicyName="m", PolicyDocument=POLICY)["Policy"]["Arn"]
    iam.attach_group_policy(GroupName="devs", PolicyArn=managed)
    ok(aws_mount, UPDATE, "roles/f", {
        "credential_type": "federation_token", "policy_document": POLICY, "iam_groups": "devs",
    })
    response = respond(aws_mount, "sts/f")
    assert_sts_lease(response, "security_token", "session_token")
    name, params = sent[-1]
    assert name == "GetFederationToken"
    assert len(params["Name"]) == 32 and params["Name"].startswith("vault-")
    assert params["PolicyArns"] == [{"arn": managed}]
    statements = json.loads(params["Policy"])["Statement"]
    assert [s["Action"] for s in statements] == ["sqs:*", "s3:GetObject"]


def test_federation_token_needs_a_policy(aws_mount):
    ok(aws_mount, UPDATE, "roles/f", {"credential_type": "federation_token", "iam_groups": "g"})
    aws_mount.send(UPDATE, "roles/f", {"iam_groups": []})
    assert aws_mount.send(READ, "sts/f").body == {"errors": [
        "must specify at least one of policy_arns or policy_document with federation_token "
        "credential_type"
    ]}


def test_session_token(aws_mount, sent):
    ok(aws_mount, UPDATE, "roles/s", {
        "credential_type": "session_token", "mfa_serial_number": "arn:aws:iam::123456789012:mfa/u",
    })
    response = respond(aws_mount, "creds/s", {"mfa_code": "123456", "ttl": 1800})
    assert_sts_lease(response, "session_token")
    assert response.secret.internal == {"is_sts": True}
    name, params = sent[-1]
    assert name == "GetSessionToken"
    assert params == {
        "DurationSeconds": 1800, "SerialNumber": "arn:aws:iam::123456789012:mfa/u",
        "TokenCode": "123456",
    }
