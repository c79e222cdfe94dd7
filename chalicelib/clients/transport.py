"""A `requests` transport that sends each HTTP request to Lambdavault through lambda:Invoke.

Mounted on a session, it lets hvac's own request code (URLs, query parameters, headers,
JSON bodies, error handling) run unchanged: only the last hop is an Invoke instead of a
socket. The event and reply follow chalicelib/transports/invoke.py.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

if TYPE_CHECKING:
    from botocore.client import BaseClient

__all__ = ["INVOKE_BASE_URI", "LambdaTransport"]

# Never resolved: the session routes this prefix to the transport, not to the network.
INVOKE_BASE_URI = "http://lambdavault.invoke"
_API_PREFIX = "/v1/"
_QUERY_METHODS = frozenset({"GET", "HEAD", "LIST"})


class LambdaTransport(BaseAdapter):
    def __init__(self, function_name: str, lambda_client: BaseClient | None = None) -> None:
        super().__init__()
        self.function_name = function_name
        self._client = lambda_client

    @property
    def client(self) -> BaseClient:
        if self._client is None:  # created on first use, then reused for the container's life
            import boto3

            self._client = boto3.client("lambda")
        return self._client

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        event = invoke_event(request)
        if event is None:
            return _response(request, HTTPStatus.NOT_FOUND, {}, {"errors": ["no such path"]})
        try:
            answer = self.client.invoke(
                FunctionName=self.function_name, Payload=json.dumps(event).encode()
            )
            payload = answer["Payload"].read()
        except Exception as error:  # botocore's errors: the server is unreachable, as over HTTP
            raise requests.exceptions.ConnectionError(
                f"lambda:Invoke {self.function_name} failed: {type(error).__name__}",
                request=request,
            ) from error
        if answer.get("FunctionError"):
            message = f"the function failed ({answer['FunctionError']})"
            return _response(request, HTTPStatus.BAD_GATEWAY, {}, {"errors": [message]})
        reply = json.loads(payload)
        body = reply.get("body")
        if reply.get("isBase64Encoded"):
            body = base64.b64decode(body)
        return _response(request, reply["status"], reply.get("headers") or {}, body)

    def close(self) -> None:
        pass  # boto3 clients hold no per-session resources worth closing


def invoke_event(request: requests.PreparedRequest) -> dict[str, Any] | None:
    """The invoke event for one prepared HTTP request; None for a path outside /v1/."""
    url = urlsplit(request.url or "")
    path = unquote(url.path)
    if not path.startswith(_API_PREFIX):
        return None
    method = (request.method or "GET").upper()
    headers = {name: value for name, value in request.headers.items()}
    token = headers.pop("X-Vault-Token", "")
    query = dict(parse_qsl(url.query, keep_blank_values=True))
    body = json.loads(request.body) if request.body else None
    data = {**query, **(body or {})} if method not in _QUERY_METHODS else query
    return {
        "method": method,
        "path": path[len(_API_PREFIX):],
        "data": data,
        "token": token,
        # Only Vault's own headers mean anything to the pipeline.
        "headers": {k: v for k, v in headers.items() if k.lower().startswith("x-vault-")},
    }


def _response(
    request: requests.PreparedRequest, status: int, headers: Mapping[str, str], body: Any
) -> requests.Response:
    response = requests.Response()
    response.status_code = int(status)
    response.reason = HTTPStatus(status).phrase
    response.headers = CaseInsensitiveDict(headers)
    if body is not None:
        response.headers.setdefault("Content-Type", "application/json")
    # A bare body (PEM text, DER bytes) arrives as it is; anything else is Vault's JSON.
    if isinstance(body, bytes):
        response._content = body
    elif isinstance(body, str):
        response._content = body.encode()
    else:
        response._content = b"" if body is None else json.dumps(body).encode()
    response.encoding = "utf-8"
    response.url = request.url or ""
    response.request = request
    return response
