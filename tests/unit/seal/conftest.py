"""Seal test fixtures (moto and credentials come from tests/conftest.py's `aws`)."""

import pytest

from tests.support import REGION


@pytest.fixture
def kms_key(aws: None) -> str:
    """A fresh symmetric KMS key (in moto), created with a client of its own."""
    import boto3

    client = boto3.client("kms", region_name=REGION)
    return client.create_key(Description="lambdavault test")["KeyMetadata"]["KeyId"]
