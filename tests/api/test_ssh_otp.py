"""The ssh engine's one-time passwords over HTTP: creds under an OTP role (Vault's
checks and texts), its lease, verify consuming an OTP exactly once (also under
concurrent verifies), revocation, and no plain OTP in the table, the logs or the audit
trail."""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.api.audit_support import enable, of_request
from tests.api.test_leases import sweep
from tests.api.test_rabbitmq import table_dump
from tests.support import VaultHTTP


@pytest.fixture(scope="module", name="vault")
def module_cluster(module_vault: VaultHTTP) -> VaultHTTP:
    """One cluster for the module's tests (each mounts its engine afresh)."""
    return module_vault


UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")
NOT_FOUND = (400, {"errors": ["OTP not found"]})
OUTSIDE = (400, {"errors": ["Error validating IP: IP does not belong to role"]})


def otp_role(vault: VaultHTTP, name: str, **fields: Any) -> None:
    reply = vault.post(f"ssh/roles/{name}", {"key_type": "otp", **fields})
    assert reply.status_code in (200, 204), reply.text


@pytest.fixture
def ssh(vault: VaultHTTP) -> VaultHTTP:
    vault.delete("sys/mounts/ssh")  # the module's tests share a cluster
    assert vault.post("sys/mounts/ssh", {"type": "ssh"}).status_code == 204
    otp_role(vault, "web", default_user="ubuntu", cidr_list="10.0.0.0/8,192.168.1.0/24",
             exclude_cidr_list="10.9.0.0/16", allowed_users="alice,bob")
    return vault


def answer(reply: requests.Response) -> tuple[int, Any]:
    return reply.status_code, reply.json()


def creds(vault: VaultHTTP, body: dict[str, Any], role: str = "web") -> dict[str, Any]:
    reply = vault.post(f"ssh/creds/{role}", body)
    assert reply.status_code == 200, reply.text
    result: dict[str, Any] = reply.json()
    return result


def verify(vault: VaultHTTP, otp: str) -> requests.Response:
    """As vault-ssh-helper asks: no token."""
    return vault.post("ssh/verify", {"otp": otp}, token="")


def test_creds_give_a_uuid_otp_with_a_lease_that_is_not_renewable(ssh: VaultHTTP):
    body = creds(ssh, {"ip": "10.1.2.3"})
    data = body["data"]
    assert UUID.match(data["key"])
    assert data == {"key": data["key"], "key_type": "otp", "username": "ubuntu",
                    "ip": "10.1.2.3", "port": 22}
    assert body["lease_id"].startswith("ssh/creds/web/")
    assert (body["renewable"], body["lease_duration"]) == (False, 2764800)
    reply = ssh.put("sys/leases/renew", {"lease_id": body["lease_id"]})
    assert answer(reply) == (400, {"errors": ["lease is not renewable"]})


def test_an_ipv4_mapped_address_is_shown_as_ipv4(ssh: VaultHTTP):
    assert creds(ssh, {"ip": "::ffff:192.168.1.7"})["data"]["ip"] == "192.168.1.7"


@pytest.mark.parametrize(("role", "body", "expected"), [
    ("web", {}, (400, {"errors": ["Missing ip"]})),
    ("nope", {"ip": "10.0.0.1"}, (400, {"errors": ['Role "nope" not found']})),
    ("web", {"ip": "10.0.0.1", "username": "mallory"},
     (400, {"errors": ["Username is not present is allowed users list"]})),
    ("web", {"ip": "not-an-ip"}, (400, {"errors": ['Invalid IP "not-an-ip"']})),
    ("web", {"ip": "fe80::1%eth0"}, (400, {"errors": ['Invalid IP "fe80::1%eth0"']})),
    ("web", {"ip": "11.0.0.1"}, OUTSIDE),
    ("web", {"ip": "10.9.3.4"}, OUTSIDE),  # inside cidr_list and exclude_cidr_list
    ("web", {"ip": "2001:db8::1"}, OUTSIDE),
])
def test_creds_refusals_in_vaults_order_and_words(ssh: VaultHTTP, role: str,
                                                  body: dict[str, Any], expected: Any):
    assert answer(ssh.post(f"ssh/creds/{role}", body)) == expected


def test_username_rules(ssh: VaultHTTP):
    for username in ("alice", "bob", "ubuntu"):
        assert creds(ssh, {"ip": "10.0.0.1", "username": username})["data"]["username"] == (
            username)
    otp_role(ssh, "fixed", default_user="root", cidr_list="10.0.0.0/8")
    reply = ssh.post("ssh/creds/fixed", {"ip": "10.0.0.1", "username": "alice"})
    assert answer(reply) == (400, {"errors": [
        "Username has to be either in allowed users list or has to be a default username"]})
    otp_role(ssh, "anyone", default_user="ubuntu", cidr_list="10.0.0.0/8", allowed_users="*")
    assert creds(ssh, {"ip": "10.0.0.1", "username": "zed"}, "anyone")["data"]["username"] == (
        "zed")


def test_verify_answers_once_without_a_token(ssh: VaultHTTP):
    otp = creds(ssh, {"ip": "192.168.1.9", "username": "bob"})["data"]["key"]
    reply = verify(ssh, otp)
    assert reply.status_code == 200, reply.text
    assert reply.json()["data"] == {"username": "bob", "ip": "192.168.1.9", "role_name": "web"}
    assert answer(verify(ssh, otp)) == NOT_FOUND
    assert answer(verify(ssh, "")) == NOT_FOUND


def test_the_helpers_echo_check(ssh: VaultHTTP):
    reply = verify(ssh, "verify-echo-request")
    assert reply.status_code == 200
    assert reply.json()["data"] == {"message": "verify-echo-response"}


def test_two_concurrent_verifies_of_one_otp_one_wins(ssh: VaultHTTP):
    for _ in range(3):
        otp = creds(ssh, {"ip": "10.0.0.1"})["data"]["key"]
        start = threading.Barrier(2)

        def attempt(otp: str = otp, start: threading.Barrier = start) -> int:
            client = VaultHTTP(ssh.url)  # a connection of its own
            start.wait()
            return verify(client, otp).status_code

        with ThreadPoolExecutor(2) as pool:
            statuses = sorted(pool.map(lambda _: attempt(), range(2)))
        assert statuses == [200, 400]


def test_revoking_the_lease_makes_verify_refuse(ssh: VaultHTTP):
    body = creds(ssh, {"ip": "10.0.0.1"})
    assert ssh.put("sys/leases/revoke", {"lease_id": body["lease_id"]}).status_code == 204
    assert answer(verify(ssh, body["data"]["key"])) == NOT_FOUND


def test_a_used_otps_lease_is_left_to_expire_and_revokes_cleanly(ssh: VaultHTTP):
    body = creds(ssh, {"ip": "10.0.0.1"})
    assert verify(ssh, body["data"]["key"]).status_code == 200
    lookup = ssh.put("sys/leases/lookup", {"lease_id": body["lease_id"]})
    assert lookup.status_code == 200
    assert ssh.put("sys/leases/revoke", {"lease_id": body["lease_id"]}).status_code == 204


def test_the_sweeper_deletes_an_expired_unused_otp(ssh: VaultHTTP):
    assert ssh.post("sys/mounts/ssh/tune", {"default_lease_ttl": "60s"}).status_code == 204
    body = creds(ssh, {"ip": "10.0.0.1"})
    assert body["lease_duration"] == 60
    sweep(offset=120)
    assert answer(verify(ssh, body["data"]["key"])) == NOT_FOUND


def test_no_plain_otp_in_the_table_the_logs_or_the_audit_trail(
    ssh: VaultHTTP, tmp_path: Path, capfd: pytest.CaptureFixture[str]
):
    log = tmp_path / "audit.log"
    enable(ssh, "file", "file", file_path=str(log))
    otps = [creds(ssh, {"ip": "10.0.0.1"})["data"]["key"] for _ in range(2)]
    assert verify(ssh, otps[0]).status_code == 200
    dump = table_dump()
    assert all(otp not in dump for otp in otps)
    assert all(otp not in log.read_text() for otp in otps)
    assert all(otp not in "".join(capfd.readouterr()) for otp in otps)
    issued = of_request(log, "ssh/creds/web", "response")
    assert [r["response"]["data"]["key"][:12] for r in issued] == ["hmac-sha256:"] * 2
    (verified,) = of_request(log, "ssh/verify", "request")
    assert verified["request"]["data"]["otp"].startswith("hmac-sha256:")
