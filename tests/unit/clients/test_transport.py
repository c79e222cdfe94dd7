"""The Invoke transport's edges: what it sends, and failures on the way."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from typing import Any

import pytest
import requests
from botocore.exceptions import ClientError

from chalicelib.clients.transport import INVOKE_BASE_URI, LambdaTransport, invoke_event


def prepared(method: str, path: str, **kwargs: Any) -> requests.PreparedRequest:
    return requests.Request(method, f"{INVOKE_BASE_URI}{path}", **kwargs).prepare()


class FakeLambda:
    """Just enough of a boto3 Lambda client to fail in the ways these tests need."""

    def __init__(self, answer: dict[str, Any] | Exception) -> None:
        self.answer = answer

    def invoke(self, **params: Any) -> dict[str, Any]:
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def test_event_carries_token_vault_headers_and_data() -> None:
    request = prepared(
        "POST", "/v1/secret/data/a%20b", json={"data": {"k": "v"}},
        headers={"X-Vault-Token": "s.x", "X-Vault-Wrap-TTL": "60", "User-Agent": "hvac"},
    )
    assert invoke_event(request) == {
        "method": "POST",
        "path": "secret/data/a b",
        "data": {"data": {"k": "v"}},
        "token": "s.x",
        "headers": {"X-Vault-Wrap-TTL": "60"},
    }


def test_reads_send_their_query_as_data() -> None:
    request = prepared("GET", "/v1/secret/metadata/app", params={"list": "true"})
    event = invoke_event(request)
    assert event is not None
    assert (event["method"], event["data"], event["token"]) == ("GET", {"list": "true"}, "")


def test_paths_outside_v1_answer_404_without_invoking() -> None:
    transport = LambdaTransport("fn", FakeLambda(AssertionError("not called")))  # type: ignore[arg-type]
    response = transport.send(prepared("GET", "/health"))
    assert response.status_code == 404
    assert response.json() == {"errors": ["no such path"]}


def test_a_failed_function_is_a_502_envelope() -> None:
    answer = {"FunctionError": "Unhandled", "Payload": io.BytesIO(b'{"errorMessage": "x"}')}
    transport = LambdaTransport("fn", FakeLambda(answer))  # type: ignore[arg-type]
    response = transport.send(prepared("GET", "/v1/sys/health"))
    assert response.status_code == 502
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {"errors": ["the function failed (Unhandled)"]}


def test_an_invoke_error_is_a_connection_error_without_details() -> None:
    denied = ClientError(
        {"Error": {"Code": "AccessDeniedException", "Message": "arn:... not authorized"}}, "Invoke"
    )
    transport = LambdaTransport("fn", FakeLambda(denied))  # type: ignore[arg-type]
    with pytest.raises(requests.exceptions.ConnectionError) as raised:
        transport.send(prepared("GET", "/v1/sys/health"))
    assert str(raised.value) == "lambda:Invoke fn failed: ClientError"


def test_a_204_has_no_body() -> None:
    payload = json.dumps({"status": 204, "headers": {}, "body": None}).encode()
    transport = LambdaTransport("fn", FakeLambda({"Payload": io.BytesIO(payload)}))  # type: ignore[arg-type]
    response = transport.send(prepared("DELETE", "/v1/secret/data/x"))
    assert (response.status_code, response.content) == (204, b"")


def test_importing_the_package_needs_no_hvac() -> None:
    probe = "import app, chalicelib.clients, sys; print('hvac' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
