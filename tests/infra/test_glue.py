"""The Glue table Athena queries the audit bucket through (moto's CloudFormation skips Glue,
so the packaged template is checked as written)."""

from __future__ import annotations

import re
from typing import Any

from chalicelib.audit.chain import Chain
from chalicelib.audit.record import (
    Caller,
    FormatConfig,
    Mount,
    Outcome,
    Subject,
    request_entry,
    response_entry,
)
from chalicelib.core import jsonio
from tests.infra.test_template import resource

HiveType = str | dict[str, Any] | list[Any]


def table_input(template: dict[str, Any]) -> dict[str, Any]:
    table: dict[str, Any] = resource(template, "AuditTable")["TableInput"]
    return table


def test_database_and_table_are_named_for_athena(template: dict[str, Any]) -> None:
    database = resource(template, "AuditDatabase")
    assert database["DatabaseInput"]["Name"] == {"Fn::Sub": "lambdavault_${Stage}"}
    table = resource(template, "AuditTable")
    assert table["DatabaseName"] == {"Ref": "AuditDatabase"}
    assert table["TableInput"]["Name"] == "audit"
    assert table["TableInput"]["TableType"] == "EXTERNAL_TABLE"
    output = template["Outputs"]["AuditTableName"]["Value"]
    assert output == {"Fn::Sub": "${AuditDatabase}.${AuditTable}"}


def test_json_lines_through_the_openx_serde(template: dict[str, Any]) -> None:
    storage = table_input(template)["StorageDescriptor"]
    assert storage["SerdeInfo"]["SerializationLibrary"] == "org.openx.data.jsonserde.JsonSerDe"
    assert storage["InputFormat"] == "org.apache.hadoop.mapred.TextInputFormat"
    assert storage["Location"] == {"Fn::Sub": "s3://${AuditBucket}/audit/"}


def test_partitions_are_projected_from_the_streams_key_layout(template: dict[str, Any]) -> None:
    table = table_input(template)
    parameters = table["Parameters"]
    assert parameters["projection.enabled"] == "true"
    keys = [key["Name"] for key in table["PartitionKeys"]]
    assert keys == ["year", "month", "day"]
    for key in keys:
        assert parameters[f"projection.{key}.type"] == "integer"
    assert parameters["projection.month.range"] == "1,12"
    assert parameters["projection.day.range"] == "1,31"
    # Firehose writes zero-padded months and days (MM, dd): so must the projection.
    assert parameters["projection.month.digits"] == parameters["projection.day.digits"] == "2"
    # The template is the stream's prefix with each timestamp field as its partition key.
    prefix = resource(template, "AuditStream")["ExtendedS3DestinationConfiguration"]["Prefix"]
    fields = {"yyyy": "year", "MM": "month", "dd": "day"}
    expected = re.sub(r"!\{timestamp:(\w+)\}", lambda m: "${!" + fields[m[1]] + "}", prefix)
    location = parameters["storage.location.template"]["Fn::Sub"]
    assert location == f"s3://${{AuditBucket}}/{expected}"
    assert location.startswith(table["StorageDescriptor"]["Location"]["Fn::Sub"])
    assert not any(r["Type"] == "AWS::Glue::Crawler" for r in template["Resources"].values())


def test_columns_declare_every_field_our_records_carry(template: dict[str, Any]) -> None:
    columns = {c["Name"]: parse_type(c["Type"])
               for c in table_input(template)["StorageDescriptor"]["Columns"]}
    for record in full_records():
        assert undeclared(record, columns) == [], f"columns missing for a {record['type']}"
    auth = columns["auth"]
    assert isinstance(auth, dict)
    assert {"entity_id", "accessor", "display_name", "policies", "metadata"} <= set(auth)
    assert auth["metadata"] == ["map", "string", "string"]


def full_records() -> list[dict[str, Any]]:
    """A request and its response with every field set, chained as a device writes them."""
    caller = Caller(client_token="t", accessor="a", display_name="userpass-alice",
                    policies=("dev",), metadata={"username": "alice"}, entity_id="e",
                    token_type="service", token_ttl=60, issue_time="2026-01-01T00:00:00Z",
                    remaining_uses=2,
                    policy_results={"allowed": True, "granting_policies": [
                        {"name": "dev", "namespace_id": "root", "type": "acl"}]})
    subject = Subject(id="r", operation="update", path="secret/data/x", data={"data": {"k": 1}},
                      client_token="t", client_token_accessor="a", remote_address="10.0.0.1",
                      wrap_ttl=60, mount=Mount("secret/", "kv", "kv_1", "secret"), caller=caller)
    issued = {"client_token": "c", "accessor": "b", "display_name": "token", "policies": ["p"],
              "token_policies": ["p"], "metadata": {"k": "v"}, "num_uses": 1, "entity_id": "e",
              "token_type": "service", "lease_duration": 60}
    wrap = {"ttl": 60, "token": "w", "accessor": "wa", "creation_time": "2026-01-01T00:00:00Z",
            "creation_path": "secret/data/x", "wrapped_accessor": "b"}
    outcome = Outcome(data={"version": 1}, auth=issued, wrap_info=wrap, lease_id="l",
                      warnings=("w",), error="1 error occurred:\n\t* failed\n\n")
    config = FormatConfig()
    lines: list[bytes] = []
    chain = Chain("container/device")
    for entry in (request_entry(subject, config, "salt"),
                  response_entry(subject, outcome, config, "salt")):
        chain.append([entry], "", lines.append)
    return [jsonio.loads(line) for line in lines]


def undeclared(value: Any, declared: HiveType, path: str = "record") -> list[str]:
    """The fields of ``value`` its declared Hive type has no place for. A ``string`` takes
    any JSON (the OpenX SerDe hands nested JSON to a string column as its text)."""
    if declared == "string":
        return []
    if isinstance(value, dict) and isinstance(declared, dict):
        found = [f"{path}.{key}" for key in value if key not in declared]
        for key in declared.keys() & value.keys():
            found += undeclared(value[key], declared[key], f"{path}.{key}")
        return found
    if isinstance(value, list) and isinstance(declared, list) and declared[0] == "array":
        return [found for item in value for found in undeclared(item, declared[1], f"{path}[]")]
    if isinstance(value, dict) and isinstance(declared, list) and declared[0] == "map":
        return [found for key, item in value.items()
                for found in undeclared(item, declared[2], f"{path}.{key}")]
    scalars = {"boolean": bool, "int": int, "bigint": int}
    if isinstance(declared, str) and isinstance(value, scalars.get(declared, ())):
        return []
    return [f"{path} (a {type(value).__name__}, declared {declared})"]


def parse_type(text: str) -> HiveType:
    """A Hive type as a tree: ``struct<a:int>`` -> {"a": "int"}, ``array<string>`` ->
    ["array", "string"], ``map<string,int>`` -> ["map", "string", "int"]."""
    parsed, rest = _parse(text.replace(" ", ""))
    assert rest == "", f"unparsed: {rest!r}"
    return parsed


def _parse(text: str) -> tuple[HiveType, str]:
    name = re.match(r"\w+", text)
    assert name is not None, text
    kind, rest = name[0], text[name.end():]
    if kind == "struct":
        fields: dict[str, HiveType] = {}
        while rest[0] in "<,":
            field = re.match(r"(\w+):", rest[1:])
            assert field is not None, rest
            fields[field[1]], rest = _parse(rest[1 + field.end():])
        assert rest[0] == ">", rest
        return fields, rest[1:]
    if kind in ("array", "map"):
        items: list[Any] = [kind]
        while rest[0] in "<,":
            item, rest = _parse(rest[1:])
            items.append(item)
        assert rest[0] == ">", rest
        return items, rest[1:]
    return kind, rest
