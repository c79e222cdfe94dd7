"""The packaged template: cfn-lint, and the settings moto does not apply (see test_deploy)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.pin_stage import pin_stage

CFN_LINT_ERRORS = 2  # cfn-lint's exit status is a bit mask: 2 errors, 4 warnings, 8 info


def resource(template: dict[str, Any], name: str) -> dict[str, Any]:
    properties: dict[str, Any] = template["Resources"][name]["Properties"]
    return properties


def test_cfn_lint_reports_no_errors(package_dir: Path) -> None:
    lint = Path(sys.executable).with_name("cfn-lint")
    done = subprocess.run([lint, package_dir / "sam.yaml"], capture_output=True, text=True)
    assert not done.returncode & CFN_LINT_ERRORS, done.stdout


def test_stage_is_pinned_to_the_packaged_stage(template: dict[str, Any]) -> None:
    assert template["Parameters"]["Stage"]["AllowedValues"] == ["dev"]
    assert template["Parameters"]["Stage"]["Default"] == "dev"


def test_pin_stage_refuses_an_unknown_stage(tmp_path: Path) -> None:
    path = tmp_path / "sam.yaml"
    path.write_text(yaml.safe_dump({"Parameters": {"Stage": {"AllowedValues": ["dev", "prod"]}}}))
    with pytest.raises(ValueError, match="unknown stage"):
        pin_stage(path, "staging")
    pin_stage(path, "prod")
    assert yaml.safe_load(path.read_text())["Parameters"]["Stage"]["AllowedValues"] == ["prod"]


def test_table_recovers_encrypts_and_expires(template: dict[str, Any]) -> None:
    table = resource(template, "VaultTable")
    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert table["SSESpecification"] == {
        "SSEEnabled": True, "SSEType": "KMS", "KMSMasterKeyId": {"Fn::GetAtt": ["VaultKey", "Arn"]}
    }
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert template["Resources"]["VaultTable"]["DeletionPolicy"] == "Retain"


def test_audit_bucket_is_private_versioned_and_expires(template: dict[str, Any]) -> None:
    bucket = resource(template, "AuditBucket")
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert len(bucket["PublicAccessBlockConfiguration"]) == 4
    [rule] = bucket["LifecycleConfiguration"]["Rules"]
    assert rule["ExpirationInDays"] == {"Ref": "AuditExpirationDays"}
    # Object Lock only when asked for: it can never be removed from a bucket.
    assert bucket["ObjectLockEnabled"]["Fn::If"][0] == "AuditLocked"
    lock = bucket["ObjectLockConfiguration"]["Fn::If"][1]
    assert lock["Rule"]["DefaultRetention"] == {
        "Mode": "COMPLIANCE", "Days": {"Ref": "AuditRetentionDays"}
    }
    policy = resource(template, "AuditBucketPolicy")["PolicyDocument"]["Statement"]
    assert policy[0]["Effect"] == "Deny"
    assert policy[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_audit_stream_delivers_encrypted_into_the_bucket(template: dict[str, Any]) -> None:
    stream = resource(template, "AuditStream")
    assert stream["DeliveryStreamName"] == {"Fn::Sub": "lambdavault-${Stage}-audit"}
    destination = stream["ExtendedS3DestinationConfiguration"]
    assert destination["BucketARN"] == {"Fn::GetAtt": ["AuditBucket", "Arn"]}
    assert destination["EncryptionConfiguration"]["KMSEncryptionConfig"] == {
        "AWSKMSKeyARN": {"Fn::GetAtt": ["VaultKey", "Arn"]}
    }
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["LAMBDAVAULT_AUDIT_STREAM"] == {"Ref": "AuditStream"}


def test_extra_audit_streams_are_the_first_again_when_counted(template: dict[str, Any]) -> None:
    first = resource(template, "AuditStream")
    assert template["Parameters"]["AuditStreams"]["Default"] == 6
    for n in range(2, 9):
        extra = template["Resources"][f"AuditStream{n}"]
        assert extra["Condition"] == f"AuditStreams{n}"
        assert extra["Properties"] == {
            **first, "DeliveryStreamName": {"Fn::Sub": f"lambdavault-${{Stage}}-audit-{n}"}}
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["LAMBDAVAULT_AUDIT_STREAMS"] == {"Ref": "AuditStreams"}
    allowed = [statement for role in template["Resources"].values()
               if role["Type"] == "AWS::IAM::Role"
               for policy in role["Properties"].get("Policies", ())
               for statement in policy["PolicyDocument"]["Statement"]
               if statement.get("Sid") == "AuditStream"]
    assert allowed and all(
        "arn:aws:firehose:*:*:deliverystream/lambdavault-dev-audit-*" in statement["Resource"]
        and "firehose:PutRecordBatch" in statement["Action"] for statement in allowed)


def _holds(condition: Any, template: dict[str, Any], count: str) -> bool:
    """Evaluate the few condition functions the stream conditions use, for a stack made
    with ``AuditStreams`` = ``count``."""
    ((function, argument),) = condition.items()
    if function == "Condition":
        return _holds(template["Conditions"][argument], template, count)
    if function == "Fn::Not":
        return not _holds(argument[0], template, count)
    if function == "Fn::And":
        return all(_holds(part, template, count) for part in argument)
    if function == "Fn::Equals":
        return [count if side == {"Ref": "AuditStreams"} else side for side in argument] == [
            count, count]
    raise AssertionError(f"unexpected condition function {function}")


def test_audit_streams_counts_the_streams_made(template: dict[str, Any]) -> None:
    for count in template["Parameters"]["AuditStreams"]["AllowedValues"]:
        made = [n for n in range(2, 9) if _holds(
            {"Condition": template["Resources"][f"AuditStream{n}"]["Condition"]},
            template, str(count))]
        assert made == list(range(2, count + 1))


def test_alarms_cover_every_function(template: dict[str, Any]) -> None:
    functions = {
        name for name, r in template["Resources"].items()
        if r["Type"] == "AWS::Serverless::Function"
    }
    for alarm, metric in (("ErrorsAlarm", "Errors"), ("ThrottlesAlarm", "Throttles")):
        stats = [m["MetricStat"]["Metric"] for m in resource(template, alarm)["Metrics"]
                 if "MetricStat" in m]
        assert {m["MetricName"] for m in stats} == {metric}
        assert {m["Dimensions"][0]["Value"]["Ref"] for m in stats} == functions
    assert resource(template, "TableThrottlesAlarm")["MetricName"] == "ThrottledRequests"


def test_http_api_proxies_to_the_same_function_with_payload_1(template: dict[str, Any]) -> None:
    integration = resource(template, "HttpApiIntegration")
    assert integration["IntegrationUri"] == {"Fn::GetAtt": ["APIHandler", "Arn"]}
    assert integration["PayloadFormatVersion"] == "1.0"
    assert resource(template, "HttpApiRoute")["RouteKey"] == "ANY /v1/{proxy+}"
    assert resource(template, "HttpApiInvokePermission")["FunctionName"] == {"Ref": "APIHandler"}
    assert template["Outputs"]["HttpApiUrl"]["Value"] == {"Fn::GetAtt": ["HttpApi", "ApiEndpoint"]}


def test_rest_api_routes_every_vault_path_to_the_handler(template: dict[str, Any]) -> None:
    paths = resource(template, "RestAPI")["DefinitionBody"]["paths"]
    assert sorted(paths) == ["/ui", "/ui/{proxy+}", "/v1/{proxy+}"]
    # The web UI's static files (chalicelib/ui): read-only routes of the same function.
    assert set(paths["/ui"]) == set(paths["/ui/{proxy+}"]) == {"get", "head"}
    methods = paths["/v1/{proxy+}"]
    assert set(methods) == {"get", "head", "put", "post", "delete", "patch"}
    uri = methods["get"]["x-amazon-apigateway-integration"]["uri"]["Fn::Sub"]
    assert "${APIHandler.Arn}" in uri


def test_outputs_name_the_api_and_the_functions(template: dict[str, Any]) -> None:
    outputs = template["Outputs"]
    assert {"EndpointURL", "HttpApiUrl", "InvokeFunctionName", "APIHandlerName"} <= set(outputs)
    assert outputs["InvokeFunctionName"]["Value"] == {"Ref": "Invoke"}
