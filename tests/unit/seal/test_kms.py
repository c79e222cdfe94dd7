import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from chalicelib.core.errors import Unavailable, VaultError
from chalicelib.seal import kms
from chalicelib.seal.kms import SealError, kms_client, unwrap_root_key, wrap_root_key
from chalicelib.settings import settings

ROOT_KEY = bytes(range(32))
CLUSTER = "cluster-0001"
REPO = Path(__file__).resolve().parents[3]


def _kms_calls() -> list[tuple[str, dict[str, Any]]]:
    """Record every KMS operation the module's client makes (one entry per API call)."""
    calls: list[tuple[str, dict[str, Any]]] = []

    def record(params: dict[str, Any], model: Any, **_: Any) -> None:
        calls.append((model.name, dict(params)))

    kms_client().meta.events.register("provide-client-params.kms", record)
    return calls


def test_import_does_not_load_boto3():
    code = (
        "import sys, chalicelib.seal.kms; "
        "loaded = [m for m in ('boto3', 'botocore') if m in sys.modules]; "
        "assert not loaded, loaded"
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True)


def test_round_trip(kms_key: str):
    blob = wrap_root_key(ROOT_KEY, key_id=kms_key, cluster_id=CLUSTER)
    assert isinstance(blob, bytes)
    assert ROOT_KEY not in blob
    assert unwrap_root_key(blob, cluster_id=CLUSTER) == ROOT_KEY


def test_round_trip_through_an_alias(kms_key: str):
    import boto3

    boto3.client("kms", region_name="us-east-1").create_alias(
        AliasName="alias/lambdavault", TargetKeyId=kms_key
    )
    blob = wrap_root_key(bytearray(ROOT_KEY), key_id="alias/lambdavault", cluster_id=CLUSTER)
    assert unwrap_root_key(memoryview(blob), cluster_id=CLUSTER) == ROOT_KEY


def test_encryption_context_names_the_cluster(kms_key: str):
    calls = _kms_calls()
    blob = wrap_root_key(ROOT_KEY, key_id=kms_key, cluster_id=CLUSTER)
    unwrap_root_key(blob, cluster_id=CLUSTER)
    expected = {"lambdavault:cluster": CLUSTER, "lambdavault:purpose": "root-key"}
    assert [name for name, _ in calls] == ["Encrypt", "Decrypt"]
    assert all(params["EncryptionContext"] == expected for _, params in calls)
    assert calls[0][1]["KeyId"] == kms_key
    assert "KeyId" not in calls[1][1]


def test_unwrap_is_exactly_one_decrypt_call(kms_key: str):
    blob = wrap_root_key(ROOT_KEY, key_id=kms_key, cluster_id=CLUSTER)
    calls = _kms_calls()
    assert unwrap_root_key(blob, cluster_id=CLUSTER) == ROOT_KEY
    assert [name for name, _ in calls] == ["Decrypt"]


def test_failed_unwrap_is_also_one_call(kms_key: str):
    blob = wrap_root_key(ROOT_KEY, key_id=kms_key, cluster_id=CLUSTER)
    calls = _kms_calls()
    with pytest.raises(SealError):
        unwrap_root_key(blob, cluster_id="another-cluster")
    assert [name for name, _ in calls] == ["Decrypt"]


def test_wrong_cluster_fails_with_seal_error(kms_key: str, caplog: pytest.LogCaptureFixture):
    blob = wrap_root_key(ROOT_KEY, key_id=kms_key, cluster_id=CLUSTER)
    with pytest.raises(SealError) as info:
        unwrap_root_key(blob, cluster_id="another-cluster")
    assert isinstance(info.value, VaultError)
    assert info.value.status == 500
    assert info.value.message == "failed to unwrap the root key with KMS"
    assert info.value.__cause__ is None
    assert "InvalidCiphertextException" in caplog.text
    for material in (ROOT_KEY, blob):
        assert material.hex() not in caplog.text
        assert repr(material) not in caplog.text


def test_tampered_blob_fails_with_seal_error(kms_key: str):
    blob = bytearray(wrap_root_key(ROOT_KEY, key_id=kms_key, cluster_id=CLUSTER))
    blob[-1] ^= 0x01
    with pytest.raises(SealError):
        unwrap_root_key(bytes(blob), cluster_id=CLUSTER)


@pytest.mark.parametrize("blob", [b"", b"x" * 6145])
def test_impossible_blob_fails_without_calling_kms(aws: None, blob: bytes):
    calls = _kms_calls()
    with pytest.raises(SealError):
        unwrap_root_key(blob, cluster_id=CLUSTER)
    assert calls == []


def test_pinned_key_id(kms_key: str):
    import boto3

    other = boto3.client("kms", region_name="us-east-1").create_key()["KeyMetadata"]["KeyId"]
    blob = wrap_root_key(ROOT_KEY, key_id=kms_key, cluster_id=CLUSTER)
    assert unwrap_root_key(blob, cluster_id=CLUSTER, key_id=kms_key) == ROOT_KEY
    with pytest.raises(SealError):
        unwrap_root_key(blob, cluster_id=CLUSTER, key_id=other)


def test_wrap_with_unknown_key_fails_with_seal_error(aws: None):
    with pytest.raises(SealError, match="failed to wrap the root key with KMS"):
        wrap_root_key(ROOT_KEY, key_id="alias/does-not-exist", cluster_id=CLUSTER)


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"root_key": b""}, ValueError),
        ({"root_key": b"k" * 4097}, ValueError),
        ({"root_key": "not bytes"}, TypeError),
        ({"root_key": 32}, TypeError),
        ({"key_id": ""}, ValueError),
        ({"cluster_id": ""}, ValueError),
    ],
)
def test_wrap_rejects_bad_arguments(aws: None, kwargs: dict[str, Any], error: type[Exception]):
    arguments: dict[str, Any] = {"root_key": ROOT_KEY, "key_id": "alias/x", "cluster_id": CLUSTER}
    arguments.update(kwargs)
    root_key = arguments.pop("root_key")
    with pytest.raises(error) as info:
        wrap_root_key(root_key, **arguments)
    assert "not bytes" not in str(info.value)


class _FailingClient:
    def __init__(self, exc: Exception) -> None:
        self.exc = exc

    def encrypt(self, **_: Any) -> Any:
        raise self.exc

    def decrypt(self, **_: Any) -> Any:
        raise self.exc


def _client_error(code: str) -> ClientError:
    response: Any = {"Error": {"Code": code, "Message": "detail"}, "ResponseMetadata": {}}
    return ClientError(response, "Decrypt")


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (EndpointConnectionError(endpoint_url="https://kms.invalid"), Unavailable),
        (_client_error("ThrottlingException"), Unavailable),
        (_client_error("KMSInternalException"), Unavailable),
        (_client_error("AccessDeniedException"), SealError),
        (_client_error("DisabledException"), SealError),
        (_client_error("IncorrectKeyException"), SealError),
    ],
)
def test_failure_mapping(
    monkeypatch: pytest.MonkeyPatch, exc: Exception, expected: type[VaultError]
):
    monkeypatch.setattr(kms, "kms_client", lambda: _FailingClient(exc))
    with pytest.raises(expected) as info:
        unwrap_root_key(b"blob", cluster_id=CLUSTER)
    assert type(info.value) is expected
    assert info.value.__cause__ is None
    assert "detail" not in info.value.message
    with pytest.raises(expected):
        wrap_root_key(ROOT_KEY, key_id="alias/x", cluster_id=CLUSTER)


def test_client_is_built_once_and_reused(kms_key: str):
    assert kms_client() is kms_client()
    blob = wrap_root_key(ROOT_KEY, key_id=kms_key, cluster_id=CLUSTER)
    unwrap_root_key(blob, cluster_id=CLUSTER)
    assert kms_client.cache_info().misses == 1


def test_client_reads_region_and_endpoint_from_settings(aws: None, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("AWS_REGION", "eu-west-2")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://localhost:4566")
    settings.cache_clear()
    kms_client.cache_clear()
    client = kms_client()
    assert client.meta.region_name == "eu-west-2"
    assert client.meta.endpoint_url == "http://localhost:4566"


def test_generic_wrap_round_trip_with_purpose(kms_key: str):
    calls = _kms_calls()
    blob = kms.wrap(b"progress", key_id=kms_key, cluster_id=CLUSTER, purpose="unseal")
    assert kms.unwrap(blob, cluster_id=CLUSTER, purpose="unseal") == b"progress"
    expected = {"lambdavault:cluster": CLUSTER, "lambdavault:purpose": "unseal"}
    assert [params["EncryptionContext"] for _, params in calls] == [expected, expected]


def test_purposes_do_not_cross(kms_key: str):
    root_blob = wrap_root_key(ROOT_KEY, key_id=kms_key, cluster_id=CLUSTER)
    other_blob = kms.wrap(ROOT_KEY, key_id=kms_key, cluster_id=CLUSTER, purpose="unseal")
    with pytest.raises(SealError, match="failed to unwrap the unseal blob with KMS"):
        kms.unwrap(root_blob, cluster_id=CLUSTER, purpose="unseal")
    with pytest.raises(SealError, match="failed to unwrap the root key with KMS"):
        unwrap_root_key(other_blob, cluster_id=CLUSTER)


@pytest.mark.parametrize("purpose", ["", None])
def test_purpose_is_required(aws: None, purpose: Any):
    with pytest.raises(ValueError, match="purpose"):
        kms.wrap(b"x", key_id="alias/x", cluster_id=CLUSTER, purpose=purpose)
    with pytest.raises(ValueError, match="purpose"):
        kms.unwrap(b"x", cluster_id=CLUSTER, purpose=purpose)
