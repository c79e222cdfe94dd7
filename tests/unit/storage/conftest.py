"""Fixtures for the storage tests (the table and call counter come from tests/conftest.py)."""

import boto3
import pytest

from chalicelib.storage import Barrier, Keyring
from chalicelib.storage.dynamodb import DynamoDBPhysical

TABLE = "lambdavault-test"  # set by the root conftest's `aws` fixture


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
