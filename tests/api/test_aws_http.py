"""The aws engine over HTTP: configuration, roles, credentials and their leases, end to end
(moto's IAM and STS behind the dev server)."""

from __future__ import annotations

import time

import boto3
import pytest

from tests.support import REGION, VaultHTTP


@pytest.fixture(scope="module", name="vault")
def module_cluster(module_vault: VaultHTTP) -> VaultHTTP:
    """One cluster for the module's tests (each mounts its engine afresh)."""
    return module_vault


POLICY = (
    '{"Version": "2012-10-17", "Statement": '
    '[{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}'
)
ROLE_ARN = "arn:aws:iam::123456789012:role/deployer"


@pytest.fixture
def aws_vault(vault: VaultHTTP) -> VaultHTTP:
    vault.delete("sys/mounts/aws")  # the module's tests share a cluster
    assert vault.post("sys/mounts/aws", {"type": "aws"}).status_code == 204
    role = {"credential_type": "iam_user", "policy_document": POLICY}
    for name in ("r", "s"):
        assert vault.post(f"aws/roles/{name}", role).status_code == 204
    return vault


def iam():
    return boto3.client("iam", region_name=REGION)


def users() -> set[str]:
    return {user["UserName"] for user in iam().list_users()["Users"]}


def creds(vault: VaultHTTP, path: str = "aws/creds/r", **kwargs) -> dict:
    reply = vault.get(path, **kwargs)
    assert reply.status_code == 200, reply.text
    return reply.json()


def user_of(vault: VaultHTTP, lease_id: str) -> str:
    """The IAM user behind a lease: the only user whose key is the lease's."""
    from chalicelib.core.runtime import runtime
    from chalicelib.leases.manager import store

    lease = store(runtime()).load(lease_id)
    assert lease is not None
    return lease.internal["username"]


def test_config_root_never_reveals_the_secret_key(aws_vault: VaultHTTP):
    assert aws_vault.get("aws/config/root").status_code == 404
    config = {"access_key": "AKIAEXAMPLE", "secret_key": "s3cr3t-value", "region": REGION}
    assert aws_vault.post("aws/config/root", config).status_code == 204
    reply = aws_vault.get("aws/config/root")
    assert reply.status_code == 200
    assert reply.json()["data"]["access_key"] == "AKIAEXAMPLE"
    assert "secret_key" not in reply.json()["data"]
    assert "s3cr3t-value" not in reply.text


def test_role_errors_use_vaults_envelope(aws_vault: VaultHTTP):
    reply = aws_vault.post("aws/roles/bad", {"credential_type": "iam_user", "role_arns": ROLE_ARN})
    assert reply.status_code == 400
    assert reply.json() == {"errors": [
        'error(s) validating supplied role data: "1 error occurred:\\n\\t* cannot supply '
        "role_arns when credential_type isn't assumed_role\\n\\n\""
    ]}
    assert aws_vault.get("aws/creds/nope").json() == {"errors": ['Role "nope" not found']}
    assert aws_vault.list("aws/roles").json()["data"]["keys"] == ["r", "s"]


def test_iam_user_creds_are_leased_and_authenticate(aws_vault: VaultHTTP):
    body = creds(aws_vault)
    prefix, _, ident = body["lease_id"].rpartition("/")
    assert prefix == "aws/creds/r" and len(ident) == 24
    assert body["renewable"] is True
    assert body["lease_duration"] == 2764800  # no config/lease: the mount's default
    data = body["data"]
    sts = boto3.client(
        "sts", region_name=REGION, aws_access_key_id=data["access_key"],
        aws_secret_access_key=data["secret_key"],
    )
    username = user_of(aws_vault, body["lease_id"])
    assert username.startswith("vault-root-r-")
    assert sts.get_caller_identity()["Arn"] == f"arn:aws:iam::123456789012:user/{username}"


def test_config_lease_sets_the_lease_and_renew_is_capped(aws_vault: VaultHTTP):
    lease = {"lease": "1h", "lease_max": "2h"}
    assert aws_vault.post("aws/config/lease", lease).status_code == 204
    body = creds(aws_vault)
    assert body["lease_duration"] == 3600
    renew = {"lease_id": body["lease_id"], "increment": "3h"}
    reply = aws_vault.post("sys/leases/renew", renew)
    assert reply.status_code == 200
    renewed = reply.json()
    assert 7190 <= renewed["lease_duration"] <= 7200
    assert renewed["warnings"][0].startswith('TTL of "3h" exceeded the effective max_ttl of "')
    assert renewed["warnings"][0].endswith('"; TTL value is capped accordingly')


def test_revoke_deletes_the_iam_user(aws_vault: VaultHTTP):
    body = creds(aws_vault)
    username = user_of(aws_vault, body["lease_id"])
    assert username in users()
    assert aws_vault.post("sys/leases/revoke", {"lease_id": body["lease_id"]}).status_code == 204
    assert username not in users()
    lookup = aws_vault.post("sys/leases/lookup", {"lease_id": body["lease_id"]})
    assert lookup.status_code == 400


def test_revoke_prefix_revokes_all_of_a_roles_users(aws_vault: VaultHTTP):
    mine = [user_of(aws_vault, creds(aws_vault)["lease_id"]) for _ in range(3)]
    other = user_of(aws_vault, creds(aws_vault, "aws/creds/s")["lease_id"])
    listed = aws_vault.list("sys/leases/lookup/aws/creds/r/")
    assert len(listed.json()["data"]["keys"]) == 3
    assert aws_vault.post("sys/leases/revoke-prefix/aws/creds/r").status_code == 204
    assert users() == {other}
    assert not set(mine) & users()


def test_revoking_the_token_revokes_its_aws_users(aws_vault: VaultHTTP):
    token = aws_vault.post("auth/token/create", {"policies": ["root"]}).json()["auth"]
    theirs = user_of(aws_vault, creds(aws_vault, token=token["client_token"])["lease_id"])
    kept = user_of(aws_vault, creds(aws_vault)["lease_id"])
    assert theirs.startswith("vault-token-r-")
    reply = aws_vault.post("auth/token/revoke", {"token": token["client_token"]})
    assert reply.status_code == 204
    assert users() == {kept}


def test_the_sweeper_revokes_an_expired_user_with_no_client_action(aws_vault: VaultHTTP):
    from chalicelib.leases.sweeper import sweep

    assert aws_vault.post("aws/config/lease", {"lease": "5s", "lease_max": "5s"}).status_code == 204
    body = creds(aws_vault)
    assert body["lease_duration"] == 5
    username = user_of(aws_vault, body["lease_id"])
    assert sweep(now=int(time.time())).revoked == 0
    assert sweep(now=int(time.time()) + 10).revoked == 1
    assert username not in users()


@pytest.mark.parametrize(
    ("role", "path", "params", "fields"),
    [
        (
            {"credential_type": "assumed_role", "role_arns": ROLE_ARN},
            "aws/sts/t", {"ttl": "15m"}, {"security_token", "session_token", "arn"},
        ),
        (
            {"credential_type": "federation_token", "policy_document": POLICY},
            "aws/sts/t", {"ttl": "900"}, {"security_token", "session_token"},
        ),
        ({"credential_type": "session_token"}, "aws/creds/t", {"ttl": 900}, {"session_token"}),
    ],
)
def test_sts_creds_are_leased_for_their_lifetime_only(aws_vault, role, path, params, fields):
    assert aws_vault.post("aws/roles/t", role).status_code == 204
    body = creds(aws_vault, path, params=params)
    assert set(body["data"]) == {"access_key", "secret_key", "ttl", *fields}
    assert body["renewable"] is False
    assert 890 <= body["lease_duration"] <= 900
    assert body["lease_id"].startswith(f"{path}/")
    reply = aws_vault.post("sys/leases/renew", {"lease_id": body["lease_id"]})
    assert reply.json() == {"errors": ["lease is not renewable"]}
    # Revoking does nothing in AWS (the credentials expire) but ends the lease.
    assert aws_vault.post("sys/leases/revoke", {"lease_id": body["lease_id"]}).status_code == 204
    assert aws_vault.post("sys/leases/lookup", {"lease_id": body["lease_id"]}).status_code == 400


def test_sts_write_with_parameters(aws_vault: VaultHTTP):
    role = {"credential_type": "assumed_role", "role_arns": [ROLE_ARN, "arn:aws:iam::1:role/x"]}
    assert aws_vault.post("aws/roles/a", role).status_code == 204
    reply = aws_vault.post("aws/sts/a", {"role_arn": ROLE_ARN, "role_session_name": "deploy"})
    assert reply.status_code == 200
    assert reply.json()["data"]["arn"].endswith("assumed-role/deployer/deploy")
    missing = aws_vault.get("aws/sts/a")
    assert missing.status_code == 400
