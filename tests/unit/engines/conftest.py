"""Fixtures for engine tests: a moto-backed table and backends mounted over it."""

import threading
from collections import Counter
from collections.abc import Callable, Iterator

import pytest
from moto import mock_aws
from pynamodb.connection.base import Connection

from chalicelib.core.mounts import MountEntry
from chalicelib.engines.cubbyhole.backend import backend as cubbyhole_backend
from chalicelib.engines.kv.backend import backend as kv_backend
from chalicelib.framework.testing import BackendHarness
from chalicelib.settings import settings
from chalicelib.storage.dynamodb import DynamoDBPhysical, create_table

TABLE = "lambdavault-engines-test"


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path) -> Iterator[None]:
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(tmp_path / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials"),
        "LAMBDAVAULT_TABLE": TABLE,
    }.items():
        monkeypatch.setenv(name, value)
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
    """DynamoDB API calls by operation name; tests clear it before the request they measure."""
    counter: Counter[str] = Counter()
    original = Connection._make_api_call

    def counting(self: Connection, operation_name: str, operation_kwargs: dict) -> dict:
        counter[operation_name] += 1
        return original(self, operation_name, operation_kwargs)

    monkeypatch.setattr(Connection, "_make_api_call", counting)
    return counter


@pytest.fixture
def atomic_calls(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make each DynamoDB call atomic, as the real service is, for tests with threads.

    moto's TransactWriteItems checks conditions and applies writes without a lock (and
    deep-copies tables other threads are changing); DynamoDB itself serialises each call
    on the items it touches. Our own read-validate-write steps still interleave freely.
    """
    lock = threading.Lock()
    original = Connection._make_api_call

    def serialised(self: Connection, operation_name: str, operation_kwargs: dict) -> dict:
        with lock:
            return original(self, operation_name, operation_kwargs)

    monkeypatch.setattr(Connection, "_make_api_call", serialised)


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
