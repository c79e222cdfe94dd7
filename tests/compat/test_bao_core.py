"""Issue 2 through the real OpenBao CLI: status, secrets, auth, seal and unseal, init."""

from __future__ import annotations

import json
import os
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer

from tests.compat.conftest import Server, free_port, recovery_key, start_server, stop_server

pytestmark = pytest.mark.compat


def test_status_of_a_dev_server(dev_server: Server) -> None:
    result = dev_server.bao("status")
    assert "Seal Type                awskms" in result.out
    assert "Sealed                   false" in result.out
    status = dev_server.bao("status", "-format=json").json()
    assert status["initialized"] is True and status["sealed"] is False


def test_secrets_enable_list_tune_move_disable(dev_server: Server) -> None:
    dev_server.bao("secrets", "enable", "-path=kv1", "-description=first", "kv")
    listed = dev_server.bao("secrets", "list", "-format=json").json()
    assert listed["kv1/"]["type"] == "kv" and listed["kv1/"]["description"] == "first"

    again = dev_server.bao("secrets", "enable", "-path=kv1", "kv", check=False)
    assert again.code == 2 and "path is already in use at kv1/" in again.err
    unknown = dev_server.bao("secrets", "enable", "nosuchtype", check=False)
    assert unknown.code == 2 and "plugin not found in the catalog: nosuchtype" in unknown.err

    dev_server.bao("secrets", "tune", "-default-lease-ttl=1h", "-max-lease-ttl=2h", "kv1/")
    tune = dev_server.bao("read", "-format=json", "sys/mounts/kv1/tune").json()
    assert tune["data"]["default_lease_ttl"] == 3600 and tune["data"]["max_lease_ttl"] == 7200

    moved = dev_server.bao("secrets", "move", "kv1/", "kv2/")
    assert "Success" in moved.out
    listed = dev_server.bao("secrets", "list", "-format=json").json()
    assert "kv1/" not in listed and listed["kv2/"]["config"]["default_lease_ttl"] == 3600

    dev_server.bao("secrets", "disable", "kv2/")
    assert "kv2/" not in dev_server.bao("secrets", "list", "-format=json").json()


def test_auth_list(dev_server: Server) -> None:
    listed = dev_server.bao("auth", "list", "-format=json").json()
    assert listed["token/"]["type"] == "token"
    detailed = dev_server.bao("auth", "list", "-detailed")
    assert "token/" in detailed.out


def test_seal_then_unseal_with_the_recovery_key(dev_server: Server) -> None:
    dev_server.bao("operator", "seal")
    sealed = dev_server.bao("status", check=False)
    assert sealed.code == 2 and "Sealed                   true" in sealed.out
    refused = dev_server.bao("secrets", "list", check=False)
    assert refused.code == 2 and "Vault is sealed" in refused.err
    dev_server.bao("operator", "unseal", recovery_key(dev_server.output))
    assert dev_server.bao("status").code == 0
    assert "cubbyhole/" in dev_server.bao("secrets", "list").out


@pytest.fixture
def deployment(tmp_path: Path):
    """A fresh, uninitialised deployment: AWS resources in moto, `lambdavault server` on them."""
    port = free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    moto.start()
    endpoint = f"http://127.0.0.1:{port}"
    env = {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "LAMBDAVAULT_TABLE": "fresh",
        "LAMBDAVAULT_KMS_KEY_ID": "alias/fresh",
    }
    kms = boto3.client("kms", endpoint_url=endpoint, region_name="us-east-1",
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName="alias/fresh", TargetKeyId=key)
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        from chalicelib.settings import settings
        from chalicelib.storage.dynamotable import create_table

        settings.cache_clear()
        create_table()
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        settings.cache_clear()
    server = start_server([], tmp_path / "server.log", env)
    try:
        yield server
    finally:
        stop_server(server)
        moto.stop()


def test_operator_init_against_a_fresh_server(deployment: Server) -> None:
    before = deployment.bao("status", token=None, check=False)
    assert before.code == 2 and "Initialized              false" in before.out
    init = deployment.bao(
        "operator", "init", "-recovery-shares=3", "-recovery-threshold=2", "-format=json",
        token=None,
    ).json()
    assert len(init["recovery_keys_b64"]) == 3
    token = init["root_token"]
    assert deployment.bao("status", token=None).code == 0
    again = deployment.bao("operator", "init", token=None, check=False)
    assert again.code != 0 and "already initialized" in again.err.lower()

    deployment.bao("operator", "seal", token=token)
    deployment.bao("operator", "unseal", init["recovery_keys_b64"][0], token=None)
    progress = deployment.bao("status", "-format=json", token=None, check=False).json()
    assert progress["sealed"] is True and progress["progress"] == 1
    deployment.bao("operator", "unseal", init["recovery_keys_b64"][2], token=None)
    assert json.loads(deployment.bao("status", "-format=json", token=None).out)["sealed"] is False
    assert deployment.bao("secrets", "list", token=token).code == 0
