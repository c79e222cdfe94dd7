"""The direct-invoke function: the invoke contract, through boto3's lambda:Invoke."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support import ROOT_TOKEN
from tests.unit.clients.invoke_hook import FUNCTION_NAME


def invoke(client: Any, event: Any) -> dict[str, Any]:
    answer = client.invoke(FunctionName=FUNCTION_NAME, Payload=json.dumps(event).encode())
    assert "FunctionError" not in answer
    reply: dict[str, Any] = json.loads(answer["Payload"].read())
    return reply


def test_write_read_and_list_kv(lambda_client: Any) -> None:
    written = invoke(lambda_client, {
        "method": "POST", "path": "secret/data/app/db",
        "data": {"data": {"password": "hunter2"}}, "token": ROOT_TOKEN,
    })
    assert written["status"] == 200
    assert written["body"]["data"]["version"] == 1
    read = invoke(lambda_client, {
        "method": "GET", "path": "secret/data/app/db", "token": ROOT_TOKEN
    })
    assert read["status"] == 200
    assert read["headers"]["Content-Type"] == "application/json"
    assert read["body"]["data"]["data"] == {"password": "hunter2"}
    listed = invoke(lambda_client, {
        "method": "LIST", "path": "secret/metadata/app", "token": ROOT_TOKEN
    })
    assert listed["body"]["data"]["keys"] == ["db"]


def test_read_data_travels_as_query_parameters(lambda_client: Any) -> None:
    for value in ("one", "two"):
        invoke(lambda_client, {
            "method": "PUT", "path": "secret/data/versions",
            "data": {"data": {"v": value}}, "token": ROOT_TOKEN,
        })
    old = invoke(lambda_client, {
        "method": "GET", "path": "secret/data/versions", "data": {"version": 1},
        "token": ROOT_TOKEN,
    })
    assert old["body"]["data"]["data"] == {"v": "one"}


def test_acl_applies_as_over_http(lambda_client: Any) -> None:
    created = invoke(lambda_client, {
        "method": "POST", "path": "auth/token/create",
        "data": {"policies": ["default"]}, "token": ROOT_TOKEN,
    })
    token = created["body"]["auth"]["client_token"]
    denied = invoke(lambda_client, {"method": "GET", "path": "secret/data/x", "token": token})
    assert denied == {
        "status": 403,
        "headers": {"Content-Type": "application/json", "Cache-Control": "no-store"},
        "body": {"errors": ["1 error occurred:\n\t* permission denied\n\n"]},
    }
    anonymous = invoke(lambda_client, {"method": "GET", "path": "secret/data/x"})
    assert anonymous["status"] == 403


def test_an_empty_write_answers_204_without_body(lambda_client: Any) -> None:
    invoke(lambda_client, {
        "method": "POST", "path": "secret/data/gone", "data": {"data": {"a": "b"}},
        "token": ROOT_TOKEN,
    })
    deleted = invoke(lambda_client, {
        "method": "DELETE", "path": "secret/data/gone", "token": ROOT_TOKEN
    })
    assert deleted["status"] == 204
    assert deleted["body"] is None


def test_wrapping_header_is_honoured(lambda_client: Any) -> None:
    answer = invoke(lambda_client, {
        "method": "POST", "path": "sys/wrapping/wrap", "data": {"k": "v"},
        "token": ROOT_TOKEN, "headers": {"X-Vault-Wrap-TTL": "60s"},
    })
    assert answer["status"] == 200
    assert answer["body"]["wrap_info"]["ttl"] == 60


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ([1, 2], "expected a JSON object"),
        ("GET secret/data/x", "expected a JSON object"),
        ({"path": "secret/data/x"}, '"method" and "path" are required'),
        ({"method": "GET"}, '"method" and "path" are required'),
        ({"method": 7, "path": "x"}, '"method" must be a string'),
        ({"method": "GET", "path": "x", "data": [1]}, '"data" must be a JSON object'),
        ({"method": "GET", "path": "x", "token": {"id": 1}}, '"token" must be a string'),
        ({"method": "GET", "path": "x", "headers": {"X-A": 1}}, 'header "X-A" must be a string'),
        ({"method": "BREW", "path": "x"}, "unsupported method BREW"),
        ({"method": "POST", "path": "secret/data/", "data": {"a": 1}}, "ending in '/'"),
    ],
)
def test_bad_events_get_the_error_envelope(lambda_client: Any, event: Any, message: str) -> None:
    reply = invoke(lambda_client, event)
    assert reply["status"] == 400
    [error] = reply["body"]["errors"]
    assert message in error


def test_requests_are_audited_like_http(lambda_client: Any, tmp_path: Any) -> None:
    log = tmp_path / "audit.log"
    enabled = invoke(lambda_client, {
        "method": "POST", "path": "sys/audit/file",
        "data": {"type": "file", "options": {"file_path": str(log)}}, "token": ROOT_TOKEN,
    })
    assert enabled["status"] == 204
    invoke(lambda_client, {"method": "GET", "path": "secret/data/nothing", "token": ROOT_TOKEN})
    records = [json.loads(line) for line in log.read_text().splitlines()]
    read = [r for r in records if r["request"]["path"] == "secret/data/nothing"]
    assert [r["type"] for r in read] == ["request", "response"]
    assert read[0]["auth"]["client_token"].startswith("hmac-sha256:")
