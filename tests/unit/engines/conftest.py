"""Fixtures for engine tests: a moto-backed table and backends mounted over it."""

from collections.abc import Callable

import pytest

from chalicelib.core.mounts import MountEntry
from chalicelib.engines.cubbyhole.backend import backend as cubbyhole_backend
from chalicelib.engines.kv.backend import backend as kv_backend
from chalicelib.framework.testing import BackendHarness
from chalicelib.storage.dynamodb import DynamoDBPhysical

MountFactory = Callable[..., BackendHarness]
BACKENDS = {"kv": kv_backend, "cubbyhole": cubbyhole_backend}


@pytest.fixture
def mount(physical: DynamoDBPhysical) -> MountFactory:
    """mount("kv", path="secret/", options={"version": "2"}) -> a harness over its own view."""

    def make(type_name: str, path: str = "secret/", **kwargs) -> BackendHarness:
        entry = MountEntry.new(path, type_name, **kwargs)
        return BackendHarness(BACKENDS[type_name](), entry, physical)

    return make


@pytest.fixture
def kv2(mount: MountFactory) -> BackendHarness:
    return mount("kv", options={"version": "2"})


@pytest.fixture
def kv1(mount: MountFactory) -> BackendHarness:
    return mount("kv", path="kv/", options={"version": "1"})
