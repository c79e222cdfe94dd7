"""The packaged template deployed into moto's CloudFormation.

moto cannot run the SAM transform, so tests/infra/sam.py expands Chalice's few SAM types
into plain CloudFormation first (tested in test_sam.py). moto then creates the resources it
implements; for each we read back the security settings through the service's own API.
moto skips some types (Firehose, CloudWatch alarms, API Gateway v2, bucket policies) and
ignores some properties of the ones it creates (a table's PITR, TTL and SSE; a bucket's
versioning, public access block and lifecycle): test_template.py asserts those on the
packaged template itself.
"""

from __future__ import annotations

import ast
import json
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.infra.sam import expand
from tests.support import REGION

STACK = "lambdavault-dev"
# Function -> its role, as Chalice names them.
ROLES = {
    "APIHandler": "ApiHandlerRole",
    "Invoke": "InvokeRole",
    "SweepLeases": "SweepLeasesRole",
    "TidyTokens": "TidyTokensRole",
    "RotateTransitKeys": "RotateTransitKeysRole",
    "TidyApprole": "TidyApproleRole",
    "RotateDatabaseRoles": "RotateDatabaseRolesRole",
    "TidyPki": "TidyPkiRole",
    "RotateKeyring": "RotateKeyringRole",
}
FUNCTIONS = list(ROLES)
SCHEDULES = {
    "SweepLeasesEvent": "rate(1 minute)",
    "TidyTokensEvent": "rate(60 minutes)",
    "RotateTransitKeysEvent": "rate(60 minutes)",
    "TidyApproleEvent": "rate(60 minutes)",
    "RotateDatabaseRolesEvent": "rate(1 minute)",
    "TidyPkiEvent": "rate(1 minute)",
    "RotateKeyringEvent": "rate(60 minutes)",
}


def _for_moto(template: dict[str, Any]) -> dict[str, Any]:
    """Drop outputs that read an attribute of a type moto does not create (it refuses them)."""
    from moto.cloudformation.parsing import resource_class_from_type

    def readable(output: dict[str, Any]) -> bool:
        target = output["Value"].get("Fn::GetAtt") if isinstance(output["Value"], dict) else None
        kind = template["Resources"][target[0]]["Type"] if target else None
        return kind is None or resource_class_from_type(kind) is not None

    template["Outputs"] = {k: v for k, v in template["Outputs"].items() if readable(v)}
    return template


@contextmanager
def deployed(
    template: dict[str, Any],
    package_dir: Path,
    parameters: Callable[[], dict[str, str]] = dict,
) -> Iterator[dict[str, str]]:
    """The stack's resources, logical ID -> physical ID, inside moto. ``parameters`` runs
    inside moto first, to create what the stack's parameters name."""
    from moto import mock_aws

    with pytest.MonkeyPatch.context() as env, mock_aws(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # moto warns once per type it skips
        for name, value in {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": REGION,
        }.items():
            env.setenv(name, value)
        env.delenv("AWS_ENDPOINT_URL", raising=False)
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket="artifacts")
        s3.upload_file(str(package_dir / "deployment.zip"), "artifacts", "deployment.zip")
        body = _for_moto(expand(template, "artifacts", "deployment.zip"))
        cfn = boto3.client("cloudformation", region_name=REGION)
        cfn.create_stack(
            StackName=STACK, TemplateBody=json.dumps(body), Capabilities=["CAPABILITY_IAM"],
            Parameters=[
                {"ParameterKey": k, "ParameterValue": v} for k, v in parameters().items()
            ],
        )  # fmt: skip
        status = cfn.describe_stacks(StackName=STACK)["Stacks"][0]["StackStatus"]
        assert status == "CREATE_COMPLETE"
        summaries = cfn.list_stack_resources(StackName=STACK)["StackResourceSummaries"]
        yield {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in summaries}


@pytest.fixture(scope="module")
def stack(template: dict[str, Any], package_dir: Path) -> Iterator[dict[str, str]]:
    with deployed(template, package_dir) as resources:
        yield resources


def _document(value: Any) -> Any:
    """A policy as moto returns it for a template's resource: the object itself (KMS) or its
    Python repr (IAM) where AWS returns JSON."""
    if isinstance(value, dict):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        return ast.literal_eval(value)


def client(service: str) -> Any:
    return boto3.client(service, region_name=REGION)


def test_table_is_on_demand_protected_with_the_lease_index(stack: dict[str, str]) -> None:
    table = client("dynamodb").describe_table(TableName=stack["VaultTable"])["Table"]
    assert stack["VaultTable"] == "lambdavault-dev"  # the name the IAM policy grants
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert table["DeletionProtectionEnabled"] is True
    assert {k["AttributeName"]: k["KeyType"] for k in table["KeySchema"]} == {
        "pk": "HASH", "sk": "RANGE"
    }
    [index] = table["GlobalSecondaryIndexes"]
    assert index["IndexName"] == "lease-due"
    assert {k["AttributeName"]: k["KeyType"] for k in index["KeySchema"]} == {
        "due": "HASH", "exp": "RANGE"
    }
    assert index["Projection"]["ProjectionType"] == "KEYS_ONLY"
    types = {a["AttributeName"]: a["AttributeType"] for a in table["AttributeDefinitions"]}
    assert types == {"pk": "S", "sk": "S", "due": "S", "exp": "N"}


def test_key_rotates_and_only_the_functions_use_it(stack: dict[str, str]) -> None:
    kms = client("kms")
    key_id = stack["VaultKey"]
    assert kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"] is True
    aliases = kms.list_aliases(KeyId=key_id)["Aliases"]
    assert [a["AliasName"] for a in aliases] == ["alias/lambdavault-dev"]
    policy = _document(kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"])
    statements = {s["Sid"]: s for s in policy["Statement"]}
    iam = client("iam")
    roles = {iam.get_role(RoleName=stack[role])["Role"]["Arn"] for role in ROLES.values()}
    assert set(statements["AutoUnseal"]["Principal"]["AWS"]) == roles
    assert statements["AutoUnseal"]["Action"] == ["kms:Encrypt", "kms:Decrypt"]
    # The account's administrators cannot use the key to decrypt directly.
    admin_actions = statements["KeyAdministration"]["Action"]
    assert not {"kms:Decrypt", "kms:Encrypt", "kms:*"} & set(admin_actions)
    via = statements["ThroughDynamoDBAndS3"]["Condition"]["StringEquals"]["kms:ViaService"]
    assert via == [f"dynamodb.{REGION}.amazonaws.com", f"s3.{REGION}.amazonaws.com"]


def test_audit_bucket_is_encrypted_with_the_key(stack: dict[str, str]) -> None:
    bucket = stack["AuditBucket"]
    assert bucket == f"lambdavault-dev-audit-123456789012-{REGION}"
    rules = client("s3").get_bucket_encryption(Bucket=bucket)[
        "ServerSideEncryptionConfiguration"
    ]["Rules"]
    default = rules[0]["ApplyServerSideEncryptionByDefault"]
    assert default["SSEAlgorithm"] == "aws:kms"
    # (moto's DescribeKey fails on a key whose policy came from a template: build the ARN)
    key_arn = f"arn:aws:kms:{REGION}:123456789012:key/{stack['VaultKey']}"
    assert default["KMSMasterKeyID"] == key_arn


def test_functions_point_at_the_stack_resources(stack: dict[str, str]) -> None:
    lambda_ = client("lambda")
    for function in FUNCTIONS:
        config = lambda_.get_function_configuration(FunctionName=stack[function])
        variables = config["Environment"]["Variables"]
        assert variables["LAMBDAVAULT_TABLE"] == stack["VaultTable"]
        assert variables["LAMBDAVAULT_KMS_KEY_ID"] == "alias/lambdavault-dev"
        assert variables["LAMBDAVAULT_AUDIT_BUCKET"] == stack["AuditBucket"]
        assert config["Runtime"] == "python3.11"
        # The request functions wait on DynamoDB and Firehose most of their time: half the
        # memory costs half per ms (bench/RESULTS.md, cost); the jobs keep a larger CPU share.
        assert config["MemorySize"] == (512 if function in ("APIHandler", "Invoke") else 1024)


def test_function_roles_carry_the_hand_written_policy(stack: dict[str, str]) -> None:
    written = json.loads((Path(__file__).parents[2] / ".chalice/policy-dev.json").read_text())
    iam = client("iam")
    for role in ROLES.values():
        name = stack[role]
        [policy_name] = iam.list_role_policies(RoleName=name)["PolicyNames"]
        document = iam.get_role_policy(RoleName=name, PolicyName=policy_name)["PolicyDocument"]
        assert _document(document) == written


def test_log_groups_have_retention(stack: dict[str, str]) -> None:
    logs = client("logs")
    for function in FUNCTIONS:
        name = f"/aws/lambda/{stack[function]}"
        [group] = logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"]
        assert group["retentionInDays"] == 30


def test_schedules_invoke_their_functions(stack: dict[str, str]) -> None:
    events = client("events")
    for rule, expression in SCHEDULES.items():
        described = events.describe_rule(Name=stack[rule])
        assert described["ScheduleExpression"] == expression
        assert described["State"] == "ENABLED"
        [target] = events.list_targets_by_rule(Rule=stack[rule])["Targets"]
        function = rule.removesuffix("Event")
        assert target["Arn"].endswith(f":function:{stack[function]}")


def test_no_vpc_unless_asked(stack: dict[str, str]) -> None:
    config = client("lambda").get_function_configuration(FunctionName=stack["APIHandler"])
    assert not config.get("VpcConfig", {}).get("SubnetIds")
    assert not {"DynamoDBEndpoint", "KmsEndpoint", "EndpointSecurityGroup"} & set(stack)

