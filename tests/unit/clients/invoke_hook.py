"""Answer lambda:Invoke of our function in-process, behind boto3's real code path.

moto's Lambda runs functions in Docker, which these tests cannot use. A botocore
``before-call.lambda.Invoke`` hook answers instead: it reads the serialised request boto3
built (function name in the URL, JSON payload in the body), calls app.py's ``invoke``
handler, and hands back a streaming payload for boto3 to read, as Lambda would.

Test modules import the fixtures below (``invoke_hook``, ``lambda_client``).
"""

from __future__ import annotations

import io
import json
import time
import uuid
from typing import Any
from urllib.parse import unquote

import pytest
from botocore.awsrequest import AWSResponse
from botocore.response import StreamingBody

from tests.support import REGION, ROOT_TOKEN

FUNCTION_NAME = "lambdavault-test-invoke"


class InvokeHook:
    """Register with :meth:`attach`; ``calls`` counts the invocations it answered."""

    def __init__(self, function_name: str = FUNCTION_NAME) -> None:
        self.function_name = function_name
        self.calls = 0
        self.events: list[dict[str, Any]] = []

    def attach(self, client: Any) -> Any:
        client.meta.events.register("before-call.lambda.Invoke", self)
        return client

    def __call__(self, params: dict[str, Any], **kwargs: Any) -> tuple[AWSResponse, dict] | None:
        name = unquote(params["url_path"].split("/functions/", 1)[1].split("/", 1)[0])
        if name != self.function_name:
            return None  # not ours: moto answers
        import app
        from chalicelib.transports.devserver import LocalLambdaContext

        self.calls += 1
        event = json.loads(params["body"])
        self.events.append(event)
        context = LocalLambdaContext(str(uuid.uuid4()), time.monotonic() + 28)
        payload = json.dumps(app.invoke(event, context)).encode()
        http = AWSResponse(params["url"], 200, {}, None)
        parsed = {
            "StatusCode": 200,
            "ExecutedVersion": "$LATEST",
            "Payload": StreamingBody(io.BytesIO(payload), len(payload)),
            "ResponseMetadata": {"HTTPStatusCode": 200},
        }
        return http, parsed


@pytest.fixture
def invoke_hook() -> InvokeHook:
    return InvokeHook()


@pytest.fixture
def lambda_client(resources: None, invoke_hook: InvokeHook) -> Any:
    """A boto3 Lambda client of a dev-initialised vault; Invoke runs app.py in-process."""
    import boto3

    from chalicelib.core.dev import bootstrap_dev

    bootstrap_dev(ROOT_TOKEN)
    return invoke_hook.attach(boto3.client("lambda", region_name=REGION))
