"""The s3 device's Firehose calls: one per request that changes nothing, the request record
first for one that does, refused records, and containers spread over several streams.

Every AWS call is recorded in order by the fault injector's botocore ``before-call`` hook
(tests/api/fault_support.py); what moto delivered is read back from the bucket, where moto
writes one object per Firehose record.
"""

from __future__ import annotations

import json
import re
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse

from chalicelib.cli.devenv import firehose_keys_as_aws
from chalicelib.cli.main import main
from chalicelib.engines.transit.store import KeyStore
from chalicelib.settings import Settings
from chalicelib.storage import writeguard
from tests.api.audit_support import BUCKET, CANARY, INTERNAL, STREAM, create_stream, enable
from tests.api.fault_support import (
    FIREHOSE,
    Call,
    Fault,
    Injector,
    fault_injector,  # noqa: F401 (fixture)
)
from tests.api.tokens_support import create
from tests.support import REGION, VaultHTTP

SECRET = "secret/data/streams"
WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems",
                    "BatchWriteItem"})
PUT_BATCH = Call("firehose", "PutRecordBatch")
# Firehose's object names: <stream>-<version>-<YYYY-MM-DD-HH-MM-SS>-<random>.
OBJECT_NAME = re.compile(r"(?P<stream>.+)-\d+-\d{4}(?:-\d\d){5}-[^/]+")


def _refused(call: Call, params: dict[str, Any]) -> tuple[AWSResponse, dict[str, Any]]:
    """Firehose answers 200 but takes nothing: FailedPutCount and an ErrorCode per record."""
    count = len(json.loads(params["body"])["Records"])
    parsed = {
        "FailedPutCount": count, "Encrypted": False,
        "RequestResponses": [{"ErrorCode": "ServiceUnavailableException",
                              "ErrorMessage": "Slow down."}] * count,
        "ResponseMetadata": {"HTTPStatusCode": 200, "HTTPHeaders": {}},
    }
    return AWSResponse("https://fault.invalid/", 200, {}, None), parsed


REFUSED = Fault("FailedPutCount", FIREHOSE, _refused, frozenset({"PutRecordBatch"}))


@pytest.fixture
def s3(vault: VaultHTTP, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The bucket, the deployment's stream and two more (``<stream>-2``, ``<stream>-3``)."""
    firehose_keys_as_aws(monkeypatch.setattr)
    monkeypatch.setattr("chalicelib.audit.devices.s3._RETRY_BACKOFF", 0.0)
    client = boto3.client("s3", region_name=REGION)
    client.create_bucket(Bucket=BUCKET)
    for name in (STREAM, f"{STREAM}-2", f"{STREAM}-3"):
        create_stream(name)
    return client


@pytest.fixture
def audited(vault: VaultHTTP, s3: Any, injector: Injector) -> Injector:
    """An s3 device on the deployment's stream, a secret, and a warm container."""
    enable(vault, "s3", "s3")
    assert vault.post(SECRET, {"data": {"v": CANARY}}).status_code == 200
    assert vault.get(SECRET).status_code == 200
    return injector


def delivered(s3: Any) -> list[list[dict[str, Any]]]:
    """The records of every object moto wrote (one per Firehose record), oldest first."""
    objects = []
    for item in s3.list_objects_v2(Bucket=BUCKET).get("Contents", ()):
        body = s3.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read()
        objects.append([json.loads(line) for line in body.splitlines()])
    return sorted(objects, key=lambda records: (records[0]["chain_id"], records[0]["chain_seq"]))


def kinds(objects: list[list[dict[str, Any]]], path: str) -> list[list[str]]:
    return [[r["type"] for r in records] for records in objects
            if records[0]["request"]["path"] == path]


def verified(capsys: pytest.CaptureFixture[str]) -> str:
    status = main(["audit", "verify", "--bucket", BUCKET])
    out = capsys.readouterr().out
    assert status == 0, out
    return out.strip().splitlines()[-1]


# -- one call per request that changes nothing -------------------------------------------


@pytest.mark.parametrize("method, path", [
    ("GET", SECRET), ("LIST", "secret/metadata/"), ("GET", "sys/mounts"),
    ("GET", "secret/data/missing"),  # a 404 is an answer too
    ("GET", "sys/policies/acl/nope"),
])
def test_a_read_puts_its_two_records_in_one_call_after_the_operation(
    vault: VaultHTTP, s3: Any, audited: Injector, method: str, path: str
) -> None:
    before = len(delivered(s3))
    audited.restart()
    vault.request(method, path)
    firehose = [call for call in audited.calls if call.service == "firehose"]
    assert firehose == [PUT_BATCH]
    assert audited.calls[-1] == PUT_BATCH  # after every storage call of the operation
    assert kinds(delivered(s3)[before:], path) == [["request", "response"]]


@pytest.mark.parametrize("path, body", [
    ("transit/encrypt/k", {"plaintext": "aGk="}),
    ("transit/hmac/k", {"input": "aGk="}),
    ("auth/token/lookup", {"token": "root"}),
    ("sys/capabilities-self", {"paths": [SECRET]}),
    ("sys/tools/random", {}),
])
def test_an_update_that_only_computes_puts_its_two_records_in_one_call(
    vault: VaultHTTP, s3: Any, audited: Injector, path: str, body: dict[str, Any]
) -> None:
    _transit_key(vault)
    audited.restart()
    reply = vault.post(path, body)
    assert reply.status_code == 200, reply.text
    assert [call for call in audited.calls if call.service == "firehose"] == [PUT_BATCH]
    assert audited.calls[-1] == PUT_BATCH
    assert kinds(delivered(s3), path) == [["request", "response"]]


def test_a_refused_request_is_logged_in_one_call(
    vault: VaultHTTP, s3: Any, audited: Injector
) -> None:
    token = create(vault, {"policies": ["default"]})["client_token"]
    audited.restart()
    assert vault.get(SECRET, token=token).status_code == 403
    assert [call for call in audited.calls if call.service == "firehose"] == [PUT_BATCH]
    [[request, response]] = [records for records in delivered(s3)
                             if records[0]["request"]["path"] == SECRET
                             and records[0].get("error")]
    assert "permission denied" in request["error"] and "permission denied" in response["error"]


# -- the request record first for a request that changes something ------------------------


def _around_the_change(injector: Injector) -> list[str]:
    """The calls as firehose, then "write" for every storage write, in order."""
    shown = []
    for call in injector.calls:
        if call.service == "firehose":
            shown.append(call.operation)
        elif call.service == "dynamodb" and call.operation in WRITES:
            shown.append("write")
    return [name for n, name in enumerate(shown) if n == 0 or shown[n - 1] != name]


@pytest.mark.parametrize("method, path, headers", [
    ("POST", SECRET, {}),  # a write
    ("GET", SECRET, {"X-Vault-Wrap-TTL": "60"}),  # a read whose wrapped answer is stored
])
def test_a_change_has_its_request_record_accepted_before_it_happens(
    vault: VaultHTTP, s3: Any, audited: Injector, method: str, path: str,
    headers: dict[str, str],
) -> None:
    audited.restart()
    reply = vault.request(method, path, {"data": {"v": "2"}} if method == "POST" else None,
                          headers=headers)
    assert reply.status_code == 200, reply.text
    assert _around_the_change(audited) == ["PutRecordBatch", "write", "PutRecordBatch"]
    assert kinds(delivered(s3), path)[-2:] == [["request"], ["response"]]


def _transit_key(vault: VaultHTTP) -> None:
    assert vault.post("sys/mounts/transit", {"type": "transit"}).status_code == 204
    assert vault.post("transit/keys/k", {}).status_code in (200, 204)


def test_encrypt_creating_its_key_has_its_request_record_accepted_first(
    vault: VaultHTTP, s3: Any, audited: Injector
) -> None:
    assert vault.post("sys/mounts/transit", {"type": "transit"}).status_code == 204
    audited.restart()
    assert vault.post("transit/encrypt/new", {"plaintext": "aGk="}).status_code == 200
    assert _around_the_change(audited) == ["PutRecordBatch", "write", "PutRecordBatch"]
    assert kinds(delivered(s3), "transit/encrypt/new") == [["request"], ["response"]]


def test_an_undeclared_write_in_production_follows_its_request_record(
    vault: VaultHTTP, s3: Any, audited: Injector, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A path declared to change nothing that writes anyway (here transit's encrypt, made
    to write a probe key as its handler loads the key; the existence check before it loads
    it too): outside strict mode the waiting request record goes out before that write,
    the response record after it."""
    _transit_key(vault)
    monkeypatch.delenv("LAMBDAVAULT_STRICT_SIDE_EFFECTS")
    monkeypatch.setattr(writeguard, "settings", Settings.from_environ)  # read now
    load, loads = KeyStore.load, []

    def writing_load(store: KeyStore, name: str) -> Any:
        loads.append(name)
        if len(loads) == 2:  # the handler's
            store.view.put("probe", b"x")
        return load(store, name)

    monkeypatch.setattr(KeyStore, "load", writing_load)
    audited.restart()
    assert vault.post("transit/encrypt/k", {"plaintext": "aGk="}).status_code == 200
    assert _around_the_change(audited) == ["PutRecordBatch", "write", "PutRecordBatch"]
    assert kinds(delivered(s3), "transit/encrypt/k") == [["request"], ["response"]]


def test_a_token_on_its_last_use_is_revoked_after_the_request_record(
    vault: VaultHTTP, s3: Any, audited: Injector
) -> None:
    token = create(vault, {"num_uses": 1})["client_token"]
    audited.restart()
    assert vault.get(SECRET, token=token).status_code == 200
    # As Vault: the use is spent before the ACL check, the token revoked after the read.
    assert _around_the_change(audited) == ["write", "PutRecordBatch", "write", "PutRecordBatch"]
    assert vault.get(SECRET, token=token).status_code == 403


# -- refused records ------------------------------------------------------------------------


def test_refused_records_fail_the_request_and_leak_nothing(
    vault: VaultHTTP, s3: Any, audited: Injector, capsys: pytest.CaptureFixture[str]
) -> None:
    before = delivered(s3)
    audited.restart()
    with audited.down(REFUSED):
        reply = vault.get(SECRET)
        write = vault.post("secret/data/refused", {"data": {"v": CANARY}})
    assert (reply.status_code, reply.json()) == (500, INTERNAL)
    assert CANARY not in reply.text
    assert (write.status_code, write.json()) == (500, INTERNAL)
    # Each record sent once and again twice; the write never ran.
    assert audited.calls.count(PUT_BATCH) == 6
    assert not any(call.operation in WRITES for call in audited.calls)
    assert delivered(s3) == before
    assert vault.get("secret/data/refused").status_code == 404
    assert vault.get(SECRET).json()["data"]["data"] == {"v": CANARY}
    # The chain went on from the last record taken: nothing missing, nothing claimed twice.
    assert verified(capsys).startswith("OK:")


def test_a_refused_record_is_sent_again(
    vault: VaultHTTP, s3: Any, audited: Injector, capsys: pytest.CaptureFixture[str]
) -> None:
    audited.restart()
    assert vault.get(SECRET).status_code == 200
    audited.restart(REFUSED, fail_at=audited.calls.index(PUT_BATCH))  # the read's only one
    reply = vault.get(SECRET)
    assert reply.status_code == 200 and reply.json()["data"]["data"] == {"v": CANARY}
    assert audited.failed == [PUT_BATCH] and audited.calls.count(PUT_BATCH) == 2
    assert kinds(delivered(s3), SECRET)[-1] == ["request", "response"]
    assert verified(capsys).startswith("OK:")


# -- several streams ----------------------------------------------------------------------


def _containers_until_two_streams(vault: VaultHTTP) -> set[str]:
    """New containers (a runtime each) serve a write and a read until the containers have
    picked two of the three streams; the odds that 30 all pick one are 1 in 3**29."""
    from chalicelib.audit.broker import broker_for
    from chalicelib.core.runtime import runtime

    picked = {broker_for(runtime()).devices["s3/"].stream}  # the container that enabled it
    for n in range(30):
        runtime.cache_clear()
        assert vault.post(SECRET, {"data": {"n": n}}).status_code == 200
        assert vault.get(SECRET).status_code == 200
        picked.add(broker_for(runtime()).devices["s3/"].stream)
        if len(picked) > 1:
            break
    return picked


def test_containers_spread_over_streams_and_every_chain_verifies(
    vault: VaultHTTP, s3: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    enable(vault, "s3", "s3", streams="3")
    picked = _containers_until_two_streams(vault)
    assert len(picked) == 2 and picked <= {STREAM, f"{STREAM}-2", f"{STREAM}-3"}
    streams_of: dict[str, set[str]] = {}  # chain id -> the streams its records went to
    records = 0
    for item in s3.list_objects_v2(Bucket=BUCKET)["Contents"]:
        name = OBJECT_NAME.fullmatch(item["Key"].rsplit("/", 1)[1])
        assert name is not None, item["Key"]
        body = s3.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read()
        for line in body.splitlines():
            streams_of.setdefault(json.loads(line)["chain_id"], set()).add(name["stream"])
            records += 1
    assert len(streams_of) > 1  # the enabling container's chain and at least one more
    assert all(len(streams) == 1 for streams in streams_of.values())  # a chain stays put
    assert set.union(*streams_of.values()) == picked
    assert verified(capsys) == f"OK: {records} records in {len(streams_of)} chains verified"
    checked = vault.get("sys/audit-verify/s3").json()["data"]
    assert checked["ok"] is True and len(checked["chains"]) == len(streams_of), checked


def test_a_missing_stream_is_refused_when_the_device_is_enabled(
    vault: VaultHTTP, s3: Any
) -> None:
    reply = vault.post("sys/audit/s3", {"type": "s3", "options": {"streams": "4"}})
    assert reply.status_code == 400
    # Checked as another container's stream, or as this one's by the test message.
    [error] = reply.json()["errors"]
    assert error in (f'delivery stream "{STREAM}-4": ResourceNotFoundException',
                     "audit backend failed test message: PutRecordBatch to stream "
                     f'"{STREAM}-4": ResourceNotFoundException')
    bad = vault.post("sys/audit/s3", {"type": "s3", "options": {"streams": "a b"}})
    assert bad.json()["errors"] == [
        '"streams" must be a count or comma-separated delivery stream names']
    assert vault.get("sys/audit").json()["data"] == {}
