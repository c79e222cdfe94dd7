from collections.abc import Iterator

import pytest

from chalicelib.settings import settings

_REGION = "us-east-1"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, tmp_path) -> Iterator[None]:
    """Fake credentials and region, no real AWS config, and moto's ``mock_aws`` around the test.

    The settings and KMS client caches are cleared on the way in and out, so the client is
    rebuilt from this environment (inside the mock) and none leaks into other tests.
    """
    from moto import mock_aws

    from chalicelib.seal.kms import kms_client

    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_KMS", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", _REGION)
    monkeypatch.setenv("AWS_DEFAULT_REGION", _REGION)
    settings.cache_clear()
    kms_client.cache_clear()
    try:
        with mock_aws():
            yield
    finally:
        settings.cache_clear()
        kms_client.cache_clear()


@pytest.fixture
def kms_key(aws: None) -> str:
    """A fresh symmetric KMS key (in moto), created with a client of its own."""
    import boto3

    client = boto3.client("kms", region_name=_REGION)
    return client.create_key(Description="lambdavault test")["KeyMetadata"]["KeyId"]
