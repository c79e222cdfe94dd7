"""Fixtures for the storage tests: a moto-backed table, a call counter, a barrier."""

from collections import Counter
from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws
from pynamodb.connection.base import Connection

from chalicelib.settings import settings
from chalicelib.storage import Barrier, Keyring
from chalicelib.storage.dynamodb import DynamoDBPhysical, create_table

TABLE = "lambdavault-storage-test"


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "LAMBDAVAULT_TABLE": TABLE,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    settings.cache_clear()
    yield
    settings.cache_clear()


@pytest.fixture
def physical() -> Iterator[DynamoDBPhysical]:
    with mock_aws():
        create_table()
        yield DynamoDBPhysical()


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Counts DynamoDB API calls by operation name (one per request pynamodb makes)."""
    counter: Counter[str] = Counter()
    original = Connection._make_api_call

    def counting(self: Connection, operation_name: str, operation_kwargs: dict) -> dict:
        counter[operation_name] += 1
        return original(self, operation_name, operation_kwargs)

    monkeypatch.setattr(Connection, "_make_api_call", counting)
    return counter


@pytest.fixture
def keyring() -> Keyring:
    return Keyring.generate()


@pytest.fixture
def barrier(physical: DynamoDBPhysical, keyring: Keyring) -> Barrier:
    return Barrier(physical, keyring)


@pytest.fixture
def raw_items(physical: DynamoDBPhysical):
    """Every item of the table as the low-level API returns it (a full Scan)."""

    def scan() -> list[dict]:
        client = boto3.client("dynamodb", region_name="us-east-1")
        pages = client.get_paginator("scan").paginate(TableName=TABLE, ConsistentRead=True)
        return [item for page in pages for item in page["Items"]]

    return scan
