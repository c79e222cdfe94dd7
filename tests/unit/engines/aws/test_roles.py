"""roles/<name>: CRUD, list, merges, legacy parameters and Vault's validation messages."""

import json

import pytest

from tests.unit.engines.aws.conftest import DELETE, LIST, POLICY, READ, UPDATE, ok

BOUNDARY = "arn:aws:iam::123456789012:policy/boundary"
ROLE_ARN = "arn:aws:iam::123456789012:role/deployer"


def validation_error(*messages: str) -> str:
    head = "1 error occurred" if len(messages) == 1 else f"{len(messages)} errors occurred"
    body = head + ":\n" + "".join(f"\t* {m}\n" for m in messages) + "\n"
    return "error(s) validating supplied role data: " + json.dumps(body)


def test_create_read_list_delete(aws_mount):
    assert aws_mount.send(LIST, "roles/").status == 404
    ok(aws_mount, UPDATE, "roles/dev", {
        "credential_type": "iam_user",
        "policy_document": POLICY,
        "policy_arns": "arn:aws:iam::aws:policy/ReadOnlyAccess",
        "iam_groups": ["a", "b"],
        "iam_tags": ["team=core", "env=ci"],
        "user_path": "/vault/",
        "permissions_boundary_arn": BOUNDARY,
    })
    assert ok(aws_mount, READ, "roles/dev")["data"] == {
        "credential_type": "iam_user",
        "policy_arns": ["arn:aws:iam::aws:policy/ReadOnlyAccess"],
        "role_arns": None,
        "policy_document": json.dumps(json.loads(POLICY), separators=(",", ":")),
        "iam_groups": ["a", "b"],
        "iam_tags": {"team": "core", "env": "ci"},
        "default_sts_ttl": 0,
        "max_sts_ttl": 0,
        "user_path": "/vault/",
        "permissions_boundary_arn": BOUNDARY,
        "mfa_serial_number": "",
    }
    ok(aws_mount, UPDATE, "roles/ops", {"credential_type": "assumed_role", "role_arns": ROLE_ARN})
    assert ok(aws_mount, LIST, "roles")["data"] == {"keys": ["dev", "ops"]}
    assert aws_mount.send(DELETE, "roles/dev").status == 204
    assert aws_mount.send(READ, "roles/dev").status == 404
    assert aws_mount.send(DELETE, "roles/dev").status == 204


def test_a_write_changes_only_what_it_names(aws_mount):
    ok(aws_mount, UPDATE, "roles/r", {
        "credential_type": "federation_token", "policy_document": POLICY, "default_sts_ttl": "15m",
        "max_sts_ttl": "1h",
    })
    ok(aws_mount, UPDATE, "roles/r", {"max_sts_ttl": 7200})
    data = ok(aws_mount, READ, "roles/r")["data"]
    assert (data["credential_type"], data["default_sts_ttl"], data["max_sts_ttl"]) == (
        "federation_token", 900, 7200,
    )
    assert data["policy_document"]


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({}, ["did not supply credential_type"]),
        ({"credential_type": "root_keys"}, ["unrecognized credential type: root_keys"]),
        (
            {"credential_type": "iam_user", "default_sts_ttl": 60, "max_sts_ttl": 30},
            [
                "default_sts_ttl parameter only valid for assumed_role, federation_token, and "
                "session_token credential types",
                "max_sts_ttl parameter only valid for assumed_role, federation_token, and "
                "session_token credential types",
                '"default_sts_ttl" value must be less than or equal to "max_sts_ttl" value',
            ],
        ),
        (
            {"credential_type": "assumed_role", "role_arns": ROLE_ARN, "user_path": "nope"},
            [
                "user_path parameter only valid for iam_user credential type",
                "the specified value for user_path is invalid. It must match "
                '"^\\/([\\x21-\\x7F]{0,510}\\/)?$" regexp',
            ],
        ),
        (
            {"credential_type": "iam_user", "permissions_boundary_arn": "boundary"},
            ["invalid permissions_boundary_arn parameter: arn: invalid prefix"],
        ),
        (
            {"credential_type": "iam_user", "permissions_boundary_arn": "arn:aws:iam"},
            ["invalid permissions_boundary_arn parameter: arn: not enough sections"],
        ),
        (
            {"credential_type": "iam_user", "permissions_boundary_arn": "arn:aws:s3:::b"},
            ["invalid permissions_boundary_arn parameter: expected a service of iam but got s3"],
        ),
        (
            {"credential_type": "iam_user", "permissions_boundary_arn": ROLE_ARN},
            ["invalid permissions_boundary_arn parameter: expected a resource type of policy "
             "but got role/deployer"],
        ),
        (
            {"credential_type": "federation_token", "permissions_boundary_arn": BOUNDARY},
            ["cannot supply permissions_boundary_arn when credential_type isn't iam_user"],
        ),
        (
            {"credential_type": "iam_user", "role_arns": ROLE_ARN},
            ["cannot supply role_arns when credential_type isn't assumed_role"],
        ),
        (
            {"credential_type": "session_token", "policy_document": POLICY},
            ["cannot supply a policy or role when using credential_type session_token"],
        ),
    ],
)
def test_validation_errors_as_vault(aws_mount, body, errors):
    reply = aws_mount.send(UPDATE, "roles/bad", body)
    assert reply.status == 400
    assert reply.body == {"errors": [validation_error(*errors)]}
    assert aws_mount.send(READ, "roles/bad").status == 404


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (
            {"credential_type": "iam_user", "policy_document": "{not json"},
            'cannot parse policy document: "{not json"',
        ),
        (
            {"policy": POLICY, "credential_type": "iam_user"},
            "cannot supply deprecated role or policy parameters with an explicit credential_type",
        ),
        (
            {"arn": ROLE_ARN, "user_path": "/x/"},
            "cannot supply deprecated role or policy parameters with user_path",
        ),
        ({"arn": ROLE_ARN, "policy": POLICY}, "only one of policy or arn should be provided"),
        ({"arn": "arn:aws:s3:::b/x"}, 'unable to parse supplied data: "arn:aws:s3:::b/x"'),
        ({"policy": "{nope"}, 'unable to parse supplied data: "{nope"'),
        ({"credential_type": ["iam_user"]}, "error converting input for field 'credential_type'"),
    ],
)
def test_bad_parameters(aws_mount, body, error):
    reply = aws_mount.send(UPDATE, "roles/bad", body)
    assert reply.status == 400
    assert reply.body["errors"][0].startswith(error)


@pytest.mark.parametrize(
    ("legacy", "credential_type", "field", "value"),
    [
        ({"arn": ROLE_ARN}, "assumed_role", "role_arns", [ROLE_ARN]),
        ({"arn": BOUNDARY}, "iam_user", "policy_arns", [BOUNDARY]),
        (
            {"policy": POLICY}, "iam_user,federation_token", "policy_document",
            json.dumps(json.loads(POLICY), separators=(",", ":")),
        ),
    ],
)
def test_legacy_parameters_become_the_upgraded_role(
    aws_mount, legacy, credential_type, field, value
):
    reply = aws_mount.send(UPDATE, "roles/old", legacy)
    assert reply.status == 200
    assert reply.body["warnings"] == [
        "Detected use of legacy role or policy parameter. Please upgrade to use the new parameters."
    ]
    data = ok(aws_mount, READ, "roles/old")["data"]
    assert (data["credential_type"], data[field]) == (credential_type, value)


def test_legacy_roles_keep_users_on_creds_and_tokens_on_sts(aws_mount):
    ok(aws_mount, UPDATE, "roles/old", {"arn": ROLE_ARN})
    reply = aws_mount.send(READ, "creds/old")
    assert reply.body == {"errors": [
        "attempted to retrieve assumed_role credentials through the creds path; "
        "this is not allowed for legacy roles"
    ]}
    ok(aws_mount, UPDATE, "roles/both", {"policy": POLICY})
    assert aws_mount.send(READ, "sts/both").status == 200  # a federation token
