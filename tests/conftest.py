"""Shared fixtures: moto-backed AWS, the app behind the dev HTTP adapter, Vault clients."""

from __future__ import annotations

import os
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from chalicelib.storage.dynamodb import DynamoDBPhysical

from tests.support import REGION, ROOT_TOKEN, VaultHTTP, reset_process_state

# A read that writes storage without declaring side_effects fails instead of logging (in
# this process and the dev servers the tests start: see chalicelib/storage/writeguard.py).
os.environ["LAMBDAVAULT_STRICT_SIDE_EFFECTS"] = "1"

# lambda:Invoke of the app answered in-process (invoke_hook, lambda_client fixtures);
# a real OpenLDAP directory (ldap_support: the slapd fixture).
pytest_plugins = ["tests.unit.clients.invoke_hook", "tests.ldap_support"]


@contextmanager
def _fake_aws(monkeypatch: pytest.MonkeyPatch, home: Path) -> Iterator[None]:
    """Fake credentials, no real AWS config, and moto's mock around what follows."""
    from moto import mock_aws

    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    env = {
        "AWS_CONFIG_FILE": str(home / "aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "aws-credentials"),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "LAMBDAVAULT_TABLE": "lambdavault-test",
        "LAMBDAVAULT_KMS_KEY_ID": "alias/lambdavault-test",
        "POWERTOOLS_METRICS_DISABLED": "true",
        # Several tests play two containers on one table and expect the second to see the
        # first's change on its next request; tests/api/test_cluster_state.py covers the
        # production TTL (the dev server's suites run with it too).
        "LAMBDAVAULT_CLUSTER_STATE_TTL": "0",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    reset_process_state()
    try:
        with mock_aws():
            yield
    finally:
        reset_process_state()


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Fake credentials, no real AWS config, and moto's mock around the test."""
    with _fake_aws(monkeypatch, tmp_path):
        yield


@pytest.fixture
def atomic_calls(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make each DynamoDB call atomic, as the real service is, for tests with threads.

    moto's TransactWriteItems checks conditions and applies writes without a lock (and
    deep-copies tables other threads are changing); DynamoDB itself serialises each call
    on the items it touches. Our own read-validate-write steps still interleave freely.
    """
    from chalicelib.storage.dynamodb import DynamoDBPhysical

    lock = threading.Lock()
    original = DynamoDBPhysical._call  # every DynamoDB call of the runtime goes through it

    def serialised(self: DynamoDBPhysical, operation_name: str, operation_kwargs: dict) -> dict:
        with lock:
            return original(self, operation_name, operation_kwargs)

    monkeypatch.setattr(DynamoDBPhysical, "_call", serialised)


@pytest.fixture
def physical(aws: None) -> DynamoDBPhysical:
    """The storage layer over a fresh moto table."""
    from chalicelib.storage.dynamodb import DynamoDBPhysical
    from chalicelib.storage.dynamotable import create_table

    create_table()
    return DynamoDBPhysical()


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """DynamoDB API calls by operation name (DynamoDBPhysical._call makes every one)."""
    from chalicelib.storage.dynamodb import DynamoDBPhysical

    counter: Counter[str] = Counter()
    original = DynamoDBPhysical._call

    def counting(self: DynamoDBPhysical, operation: str, params: dict[str, Any]) -> dict:
        counter[operation] += 1
        return original(self, operation, params)

    monkeypatch.setattr(DynamoDBPhysical, "_call", counting)
    # The barrier's encryption tally flushes once a minute (or per 1,000 writes), whichever
    # request it falls on: not part of what a test counts (tests/unit/storage covers it).
    monkeypatch.setattr("chalicelib.storage.encryptions.FLUSH_SECONDS", float("inf"))
    return counter


def _create_resources() -> None:
    import boto3

    from chalicelib.storage.dynamotable import create_table

    create_table()
    kms = boto3.client("kms", region_name=REGION)
    key_id = kms.create_key(Description="lambdavault test")["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName="alias/lambdavault-test", TargetKeyId=key_id)


@contextmanager
def _serving() -> Iterator[str]:
    import app
    from chalicelib.transports.devserver import serve

    httpd = serve(app.app)
    try:
        yield httpd.url
    finally:
        httpd.close()


def _dev_client(url: str) -> VaultHTTP:
    from chalicelib.core.dev import bootstrap_dev

    bootstrap_dev(ROOT_TOKEN)
    return VaultHTTP(url, ROOT_TOKEN)


@pytest.fixture
def resources(aws: None) -> None:
    """The table and KMS key a deployment has (the dev server creates the same)."""
    _create_resources()


@pytest.fixture
def server(resources: None) -> Iterator[str]:
    """The Chalice app behind the dev HTTP adapter on a free loopback port."""
    with _serving() as url:
        yield url


@pytest.fixture
def fresh(server: str) -> VaultHTTP:
    """A client of an uninitialised server."""
    return VaultHTTP(server)


@pytest.fixture
def vault(server: str) -> VaultHTTP:
    """A client of a dev-initialised server, holding the root token."""
    return _dev_client(server)


@pytest.fixture(scope="module")
def module_vault(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VaultHTTP]:
    """``vault``, one cluster for a whole module: ~0.2 s of CPU less per test. For modules
    whose tests each work under names of their own and need no fresh process state; such a
    module overrides its ``vault`` with a module-scoped fixture returning this one.
    No test of the module may use ``aws``: a second moto mock resets the first's data."""
    with pytest.MonkeyPatch.context() as monkeypatch, _fake_aws(
        monkeypatch, tmp_path_factory.mktemp("aws")
    ):
        _create_resources()
        with _serving() as url:
            yield _dev_client(url)
