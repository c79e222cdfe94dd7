"""The SAM expansion the moto deploy test relies on."""

from __future__ import annotations

from typing import Any

import pytest

from tests.infra.sam import expand


def _template(**function: Any) -> dict[str, Any]:
    properties = {"Handler": "app.job", "Runtime": "python3.11", "Role": "arn", **function}
    return {
        "Transform": "AWS::Serverless-2016-10-31",
        "Globals": {"Function": {"Environment": {"Variables": {"A": "global", "B": "global"}}}},
        "Resources": {"Job": {"Type": "AWS::Serverless::Function", "Properties": properties}},
    }


def test_globals_merge_into_the_function_which_wins() -> None:
    template = _template(Environment={"Variables": {"B": "mine"}}, CodeUri="./deployment.zip")
    expanded = expand(template, "bucket", "key")
    assert "Transform" not in expanded and "Globals" not in expanded
    function = expanded["Resources"]["Job"]
    assert function["Type"] == "AWS::Lambda::Function"
    properties = function["Properties"]
    assert properties["Environment"] == {"Variables": {"A": "global", "B": "mine"}}
    assert properties["Code"] == {"S3Bucket": "bucket", "S3Key": "key"}


def test_schedule_events_become_a_rule_and_a_permission() -> None:
    events = {"JobEvent": {"Type": "Schedule", "Properties": {"Schedule": "rate(1 minute)"}}}
    resources = expand(_template(Events=events), "b", "k")["Resources"]
    rule = resources["JobEvent"]["Properties"]
    assert rule["ScheduleExpression"] == "rate(1 minute)"
    assert rule["Targets"][0]["Arn"] == {"Fn::GetAtt": ["Job", "Arn"]}
    permission = resources["JobEventPermission"]["Properties"]
    assert permission["Principal"] == "events.amazonaws.com"
    assert permission["SourceArn"] == {"Fn::GetAtt": ["JobEvent", "Arn"]}


def test_what_it_cannot_expand_raises() -> None:
    with pytest.raises(NotImplementedError, match="AutoPublishAlias"):
        expand(_template(AutoPublishAlias="live"), "b", "k")
    events = {"Q": {"Type": "SQS", "Properties": {}}}
    with pytest.raises(NotImplementedError, match="SQS"):
        expand(_template(Events=events), "b", "k")
    other = {"Resources": {"T": {"Type": "AWS::Serverless::SimpleTable", "Properties": {}}}}
    with pytest.raises(NotImplementedError, match="SimpleTable"):
        expand(other, "b", "k")
