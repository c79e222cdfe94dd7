"""An aws mount over a moto table, with moto's IAM and STS behind it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from chalicelib.core.mounts import MountEntry
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.engines.aws.backend import backend
from chalicelib.framework.testing import BackendHarness
from chalicelib.leases.secret import LeaseInfo
from chalicelib.storage.dynamodb import DynamoDBPhysical
from chalicelib.tokens.entry import TokenEntry
from tests.support import REGION

READ, UPDATE, DELETE, LIST = Operation.READ, Operation.UPDATE, Operation.DELETE, Operation.LIST
POLICY = (
    '{"Version": "2012-10-17", "Statement": '
    '[{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}'
)


@pytest.fixture
def aws_mount(physical: DynamoDBPhysical) -> BackendHarness:
    harness = BackendHarness(backend(), MountEntry.new("aws/", "aws"), physical)
    harness.token = TokenEntry(accessor="a", policies=("root",), display_name="token-ci")
    return harness


@pytest.fixture
def iam(aws: None) -> Any:
    return boto3.client("iam", region_name=REGION)


def ok(harness: BackendHarness, operation: Operation, path: str, data: dict | None = None) -> Any:
    """Send a request that must succeed; the reply's body."""
    reply = harness.send(operation, path, data)
    assert reply.status in (200, 204), (reply.status, reply.body)
    return reply.body


def respond(harness: BackendHarness, path: str, data: dict | None = None) -> Response:
    """A credentials read through the backend, before rendering: the Response with its
    Secret (the envelope's lease fields come from the lease manager, not the engine)."""
    request = Request(
        operation=Operation.READ,
        path=harness.mount.router_path + path,
        data=dict(data or {}),
        mount=harness.mount,
        mount_path=harness.mount.router_path,
        storage=harness.storage,
        token=harness.token,
    )
    response = harness.backend.handle(request, harness.backend.match(path))
    assert response is not None
    return response


def lease_of(response: Response, *, age: timedelta = timedelta(0)) -> LeaseInfo:
    """The LeaseInfo the lease manager would pass back for `response`'s secret."""
    assert response.secret is not None
    issued = datetime.now(UTC) - age
    return LeaseInfo(
        lease_id="aws/creds/r/test",
        internal=response.secret.internal,
        issue_time=issued,
        expire_time=issued + timedelta(seconds=response.secret.ttl or 3600),
    )
