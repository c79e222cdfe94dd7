"""The aws engine through the real CLI: `bao secrets enable aws`, roles, `bao read
aws/creds/...`, and the leases with `bao lease` and `bao list sys/leases/lookup`.

The dev server's AWS is its embedded moto server; boto3 is pointed there to check what
the engine did in IAM.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import boto3
import pytest

from tests.compat.conftest import Server

pytestmark = pytest.mark.compat

POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
}


def moto(server: Server, service: str, **credentials: str):
    match = re.search(r"^(http://127\.0\.0\.1:\d+) for boto3", server.output, re.MULTILINE)
    assert match, server.output
    keys = credentials or {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    return boto3.client(service, endpoint_url=match.group(1), region_name="us-east-1", **keys)


def users(server: Server) -> set[str]:
    return {user["UserName"] for user in moto(server, "iam").list_users()["Users"]}


@pytest.fixture
def aws(dev_server: Server, tmp_path: Path) -> Server:
    """An aws mount whose root credentials are an IAM user's static keys."""
    iam = moto(dev_server, "iam")
    iam.create_user(UserName="vault-root")
    key = iam.create_access_key(UserName="vault-root")["AccessKey"]
    dev_server.bao("secrets", "enable", "aws")
    dev_server.bao(
        "write", "aws/config/root", f"access_key={key['AccessKeyId']}",
        f"secret_key={key['SecretAccessKey']}", "region=us-east-1",
    )
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps(POLICY))
    dev_server.bao(
        "write", "aws/roles/r", "credential_type=iam_user", f"policy_document=@{policy}"
    )
    return dev_server


def read_creds(server: Server, path: str = "aws/creds/r", *params: str) -> dict:
    return server.bao("read", "-format=json", path, *params).json()


def wait_until_gone(server: Server, username: str, seconds: float = 30) -> None:
    """The dev server sweeps leases every few seconds, as the scheduled job does in AWS."""
    deadline = time.monotonic() + seconds
    while username in users(server):
        assert time.monotonic() < deadline, f"{username} still exists after {seconds}s"
        time.sleep(0.5)


def creds_user(server: Server, body: dict) -> str:
    data = body["data"]
    sts = moto(
        server, "sts", aws_access_key_id=data["access_key"],
        aws_secret_access_key=data["secret_key"],
    )
    return sts.get_caller_identity()["Arn"].rpartition("/")[2]


def test_config_and_roles(aws: Server):
    config = aws.bao("read", "-format=json", "aws/config/root").json()["data"]
    assert config["access_key"].startswith("AKIA") and "secret_key" not in config
    role = aws.bao("read", "-format=json", "aws/roles/r").json()["data"]
    assert role["credential_type"] == "iam_user"
    assert json.loads(role["policy_document"]) == POLICY
    assert "r" in aws.bao("list", "aws/roles").out
    bad = aws.bao("write", "aws/roles/bad", "credential_type=nope", check=False)
    assert bad.code == 2 and "unrecognized credential type: nope" in bad.err
    rotated = aws.bao("write", "-format=json", "-force", "aws/config/rotate-root").json()["data"]
    assert rotated["access_key"] != config["access_key"]
    keys = moto(aws, "iam").list_access_keys(UserName="vault-root")["AccessKeyMetadata"]
    assert [k["AccessKeyId"] for k in keys] == [rotated["access_key"]]


def test_read_creds_then_lookup_renew_and_revoke(aws: Server):
    body = read_creds(aws)
    lease_id = body["lease_id"]
    assert re.fullmatch(r"aws/creds/r/\w{24}", lease_id)
    assert body["renewable"] is True
    username = creds_user(aws, body)  # the new keys authenticate as the new user
    assert username.startswith("vault-root-r-")

    lookup = aws.bao("lease", "lookup", "-format=json", lease_id).json()["data"]
    assert lookup["id"] == lease_id and lookup["renewable"] is True
    renewed = aws.bao("lease", "renew", "-format=json", "-increment=30m", lease_id).json()
    assert renewed["lease_id"] == lease_id and renewed["lease_duration"] == 1800
    listed = aws.bao("list", "-format=json", "sys/leases/lookup/aws/creds/r/").json()
    assert listed == [lease_id.rpartition("/")[2]]

    assert username in users(aws)
    aws.bao("lease", "revoke", "-sync", lease_id)
    assert username not in users(aws)
    gone = aws.bao("lease", "lookup", lease_id, check=False)
    assert gone.code == 2


def test_revoke_prefix_revokes_every_user_of_the_role(aws: Server):
    for _ in range(2):
        read_creds(aws)
    assert len(users(aws)) == 3  # two generated and the root user
    aws.bao("lease", "revoke", "-sync", "-prefix", "aws/creds/r")
    assert users(aws) == {"vault-root"}
    empty = aws.bao("list", "sys/leases/lookup/aws/creds/r/", check=False)
    assert empty.code == 2


def test_sts_credentials(aws: Server):
    aws.bao(
        "write", "aws/roles/deploy", "credential_type=assumed_role",
        "role_arns=arn:aws:iam::123456789012:role/deployer",
    )
    body = read_creds(aws, "aws/sts/deploy", "ttl=15m")
    assert body["renewable"] is False and 890 <= body["lease_duration"] <= 900
    assert body["data"]["arn"].startswith("arn:aws:sts::123456789012:assumed-role/deployer/")
    assert body["data"]["session_token"]
    refused = aws.bao("lease", "renew", body["lease_id"], check=False)
    assert refused.code == 2 and "lease is not renewable" in refused.err


def test_the_dev_server_revokes_expired_and_queued_leases_by_itself(aws: Server):
    queued = read_creds(aws)
    revoked = aws.bao("lease", "revoke", queued["lease_id"])  # no -sync: queued, as Vault
    assert "queued" in revoked.out.lower()
    wait_until_gone(aws, creds_user(aws, queued))

    aws.bao("write", "aws/config/lease", "lease=5s", "lease_max=5s")
    short = read_creds(aws)
    assert short["lease_duration"] == 5
    wait_until_gone(aws, creds_user(aws, short))
    assert aws.bao("lease", "lookup", short["lease_id"], check=False).code == 2
