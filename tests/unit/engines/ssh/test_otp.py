"""The OTP store of the ssh engine against DynamoDB (moto): the salt is created once,
only salted ids are stored, and an OTP is consumed exactly once, including when two
verifies interleave between the read and the conditional delete."""

from __future__ import annotations

import hashlib
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest

from chalicelib.core.mounts import MountEntry
from chalicelib.core.operation import Operation
from chalicelib.engines.ssh import otp as otp_store
from chalicelib.engines.ssh.backend import backend
from chalicelib.engines.ssh.role import KEY_TYPE_OTP, Role, write_role
from chalicelib.framework.testing import BackendHarness
from chalicelib.storage.dynamodb import DynamoDBPhysical
from chalicelib.storage.physical import Entry
from chalicelib.storage.view import StorageView


@pytest.fixture
def ssh(physical: DynamoDBPhysical) -> BackendHarness:
    harness = BackendHarness(backend(), MountEntry.new("ssh/", "ssh"), physical)
    role = Role(key_type=KEY_TYPE_OTP, default_user="ubuntu", cidr_list="10.0.0.0/8")
    write_role(harness.storage, "web", role)
    return harness


def issue(ssh: BackendHarness, ip: str = "10.1.2.3") -> str:
    reply = ssh.send(Operation.UPDATE, "creds/web", {"ip": ip})
    assert reply.status == 200, reply.body
    key: str = reply.body["data"]["key"]
    return key


def verify(ssh: BackendHarness, otp: str) -> tuple[int, dict]:
    reply = ssh.send(Operation.UPDATE, "verify", {"otp": otp})
    return reply.status, reply.body


def test_only_the_salted_id_is_stored_and_it_is_vaults_salt_id(ssh: BackendHarness):
    otp = issue(ssh)
    salt = ssh.storage.get(otp_store.SALT_KEY)
    assert salt is not None
    salted = otp_store.salted_id(salt.value.decode(), otp)
    assert salted == hashlib.sha256((salt.value.decode() + otp).encode()).hexdigest()
    assert ssh.storage.list("otp/") == [salted]
    assert ssh.storage.get_json("otp/" + salted) == {
        "username": "ubuntu", "ip": "10.1.2.3", "role_name": "web"}


def test_concurrent_salt_creators_agree_on_one(ssh: BackendHarness, atomic_calls: None):
    barrier = threading.Barrier(4)

    def create() -> str:
        barrier.wait()
        return otp_store.stored_salt(ssh.storage)  # each as a cold container would

    with ThreadPoolExecutor(4) as pool:
        salts = set(pool.map(lambda _: create(), range(4)))
    stored = ssh.storage.get(otp_store.SALT_KEY)
    assert stored is not None and salts == {stored.value.decode()}


def test_a_warm_container_reads_the_salt_once(ssh: BackendHarness, calls: Counter[str]):
    otp_store.mount_salt(ssh.storage)
    before = sum(calls.values())
    otp_store.mount_salt(ssh.storage)
    assert sum(calls.values()) == before


def test_a_colliding_draw_is_drawn_again(ssh: BackendHarness):
    draws = iter(["same", "same", "other"])
    entry = otp_store.OTPEntry("ubuntu", "10.0.0.1", "web")
    first, _ = otp_store.create_otp(ssh.storage, entry, lambda: next(draws))
    second, _ = otp_store.create_otp(ssh.storage, entry, lambda: next(draws))
    assert (first, second) == ("same", "other")
    assert len(ssh.storage.list("otp/")) == 2


def test_endless_collisions_end_in_an_error_without_the_otp(ssh: BackendHarness):
    entry = otp_store.OTPEntry("ubuntu", "10.0.0.1", "web")
    otp_store.create_otp(ssh.storage, entry, lambda: "fixed-otp-value")
    with pytest.raises(Exception, match="could not draw an unused OTP") as raised:
        otp_store.create_otp(ssh.storage, entry, lambda: "fixed-otp-value")
    assert "fixed-otp-value" not in str(raised.value)


def test_verify_consumes_once(ssh: BackendHarness):
    otp = issue(ssh)
    status, body = verify(ssh, otp)
    assert (status, body["data"]) == (200, {"username": "ubuntu", "ip": "10.1.2.3",
                                            "role_name": "web"})
    assert verify(ssh, otp) == (400, {"errors": ["OTP not found"]})
    assert ssh.storage.list("otp/") == []


class RacingView(StorageView):
    """A view whose first read of an OTP entry lets a rival verify run to completion
    before the read returns: the rival consumes the OTP between our read and our
    conditional delete."""

    def __init__(self, ssh: BackendHarness, rival: Callable[[], None]) -> None:
        super().__init__(ssh.barrier, ssh.mount.storage_prefix)
        self._rival: Callable[[], None] | None = rival

    def get(self, key: str) -> Entry | None:
        entry = super().get(key)
        if key.startswith(otp_store.OTP_PREFIX) and self._rival is not None:
            rival, self._rival = self._rival, None
            rival()
        return entry


def test_the_loser_of_a_race_between_read_and_delete_gets_nothing(ssh: BackendHarness):
    otp = issue(ssh)
    won: list[otp_store.OTPEntry | None] = []
    racing = RacingView(ssh, lambda: won.append(otp_store.consume_otp(ssh.storage, otp)))
    lost = otp_store.consume_otp(racing, otp)
    assert won == [otp_store.OTPEntry("ubuntu", "10.1.2.3", "web")]
    assert lost is None


def test_the_loser_of_the_race_gets_vaults_refusal_through_the_backend(ssh: BackendHarness):
    otp = issue(ssh)
    plain = ssh.storage
    rival: list[tuple[int, dict]] = []

    def rival_verifies() -> None:
        ssh.storage = plain  # the rival request sees an ordinary view
        rival.append(verify(ssh, otp))

    racing = RacingView(ssh, rival_verifies)
    ssh.storage = racing
    assert verify(ssh, otp) == (400, {"errors": ["OTP not found"]})
    assert rival[0][0] == 200
    assert rival[0][1]["data"] == {"username": "ubuntu", "ip": "10.1.2.3", "role_name": "web"}


def test_many_threads_verify_one_otp_and_exactly_one_wins(ssh: BackendHarness,
                                                          atomic_calls: None):
    otp = issue(ssh)
    start = threading.Barrier(6)

    def attempt() -> otp_store.OTPEntry | None:
        start.wait()
        return otp_store.consume_otp(ssh.storage, otp)

    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(lambda _: attempt(), range(6)))
    assert [r for r in results if r is not None] == [
        otp_store.OTPEntry("ubuntu", "10.1.2.3", "web")]
