"""A pki mount's storage view over moto."""

from __future__ import annotations

import pytest

from chalicelib.core.mounts import MountEntry
from chalicelib.engines.pki.backend import backend
from chalicelib.framework.testing import BackendHarness
from chalicelib.storage.dynamodb import DynamoDBPhysical
from chalicelib.storage.view import StorageView


@pytest.fixture
def view(physical: DynamoDBPhysical) -> StorageView:
    return BackendHarness(backend(), MountEntry.new("pki/", "pki"), physical).storage

