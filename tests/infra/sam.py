"""Expand the few SAM resource types `chalice package` emits into plain CloudFormation.

moto's CloudFormation cannot run the ``AWS::Serverless-2016-10-31`` transform, so the
deploy test expands it here, the way SAM documents it, for exactly what Chalice writes:
``Globals.Function`` (merged into each function), ``AWS::Serverless::Function`` (with
``Schedule`` events) and ``AWS::Serverless::Api``. Anything else raises, so a new SAM
construct in the package cannot slip through untested.
"""

from __future__ import annotations

import copy
from typing import Any

Template = dict[str, Any]


def expand(template: Template, code_bucket: str, code_key: str) -> Template:
    """A copy of ``template`` without the transform; function code is read from S3."""
    expanded = copy.deepcopy(template)
    expanded.pop("Transform", None)
    defaults = expanded.pop("Globals", {}).get("Function", {})
    resources: dict[str, Any] = {}
    for name, resource in expanded["Resources"].items():
        kind = resource["Type"]
        if kind == "AWS::Serverless::Function":
            resources.update(_function(name, resource, defaults, code_bucket, code_key))
        elif kind == "AWS::Serverless::Api":
            resources.update(_rest_api(name, resource))
        elif kind.startswith("AWS::Serverless::"):
            raise NotImplementedError(f"{name}: SAM type {kind} is not expanded")
        else:
            resources[name] = resource
    expanded["Resources"] = resources
    return expanded


def _function(
    name: str, resource: Template, defaults: Template, bucket: str, key: str
) -> dict[str, Template]:
    sam = _with_globals(resource["Properties"], defaults)
    unknown = set(sam) - _FUNCTION_PROPERTIES
    if unknown:
        raise NotImplementedError(f"{name}: SAM function properties {sorted(unknown)}")
    properties = {
        "Code": {"S3Bucket": bucket, "S3Key": key},
        "Handler": sam["Handler"],
        "Runtime": sam["Runtime"],
        "Role": sam["Role"],
        "Timeout": sam.get("Timeout", 3),
        "MemorySize": sam.get("MemorySize", 128),
        "Architectures": sam.get("Architectures", ["x86_64"]),
        "Environment": sam.get("Environment", {}),
        "TracingConfig": {"Mode": sam.get("Tracing", "PassThrough")},
        "Tags": [{"Key": k, "Value": v} for k, v in sam.get("Tags", {}).items()],
    }
    if "VpcConfig" in sam:
        properties["VpcConfig"] = sam["VpcConfig"]
    expanded = {name: {"Type": "AWS::Lambda::Function", "Properties": properties}}
    for event_name, event in sam.get("Events", {}).items():
        if event["Type"] != "Schedule":
            raise NotImplementedError(f"{name}: SAM event type {event['Type']}")
        expanded.update(_schedule(name, event_name, event["Properties"]))
    return expanded


_FUNCTION_PROPERTIES = frozenset(
    {
        "Architectures", "CodeUri", "Environment", "Events", "Handler", "MemorySize", "Role",
        "Runtime", "Tags", "Timeout", "Tracing", "VpcConfig",
    }
)


def _with_globals(properties: Template, defaults: Template) -> Template:
    """SAM's rule for Globals: maps merge (the function's keys win), scalars are replaced."""
    merged = copy.deepcopy(defaults)
    for key, value in properties.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge_maps(merged[key], value)
        else:
            merged[key] = value
    return merged


def _merge_maps(base: Template, override: Template) -> Template:
    merged = dict(base)
    for key, value in override.items():
        both_maps = isinstance(value, dict) and isinstance(merged.get(key), dict)
        merged[key] = _merge_maps(merged[key], value) if both_maps else value
    return merged


def _schedule(function: str, event_name: str, event: Template) -> dict[str, Template]:
    rule = event_name  # SAM names the rule after the event
    return {
        rule: {
            "Type": "AWS::Events::Rule",
            "Properties": {
                "ScheduleExpression": event["Schedule"],
                "State": "ENABLED",
                "Targets": [{"Arn": {"Fn::GetAtt": [function, "Arn"]}, "Id": f"{rule}Target"}],
            },
        },
        f"{rule}Permission": {
            "Type": "AWS::Lambda::Permission",
            "Properties": {
                "Action": "lambda:InvokeFunction",
                "FunctionName": {"Ref": function},
                "Principal": "events.amazonaws.com",
                "SourceArn": {"Fn::GetAtt": [rule, "Arn"]},
            },
        },
    }


def _rest_api(name: str, resource: Template) -> dict[str, Template]:
    """The RestApi from its Swagger body. SAM adds a Deployment and a Stage; they are left
    out because moto's RestApi ignores ``Body`` and refuses to deploy an API without
    methods, so the routes are checked on the template instead."""
    sam = resource["Properties"]
    return {
        name: {
            "Type": "AWS::ApiGateway::RestApi",
            "Properties": {
                "Name": sam["DefinitionBody"]["info"]["title"],
                "Body": sam["DefinitionBody"],
                "EndpointConfiguration": {"Types": [sam.get("EndpointConfiguration", "EDGE")]},
            },
        },
    }
