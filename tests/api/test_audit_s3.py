"""The s3 device end to end in moto: Firehose PutRecordBatch into the audit bucket, then
`lambdavault audit verify` over what landed there.

moto's Firehose writes one S3 object per Firehose record at once (real Firehose buffers many
records into one object); the chain checks do not depend on either. A read's two audit
records travel as one Firehose record, a write's as two (tests/api/test_audit_streams.py).
"""

from __future__ import annotations

import gzip
import json
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.client import BaseClient

from chalicelib.audit.verify import read_bucket
from chalicelib.cli.main import main
from chalicelib.core.leanaws import LeanClient
from tests.api.audit_support import BUCKET, STREAM, create_stream
from tests.support import REGION, VaultHTTP

CANARY = "canary-5d1c2b7a"
INTERNAL = {"errors": ["internal error"]}


@pytest.fixture
def s3(vault: VaultHTTP) -> Any:
    """The deployment's audit bucket and stream (as infra/ and the dev server create them)."""
    client = boto3.client("s3", region_name=REGION)
    client.create_bucket(Bucket=BUCKET)
    create_stream(STREAM)
    return client


@pytest.fixture
def audited(vault: VaultHTTP, s3: Any) -> VaultHTTP:
    """An s3 device on the deployment's stream (the default when no stream is named)."""
    reply = vault.post("sys/audit/s3", {"type": "s3"})
    assert reply.status_code == 204, reply.text
    return vault


def stored(s3: Any) -> list[dict[str, Any]]:
    """Every record in the bucket, ordered by chain and sequence."""
    lines = read_bucket(s3, BUCKET)
    found = [json.loads(line.raw) for line in lines]
    return sorted(found, key=lambda r: (r["chain_id"], r["chain_seq"]))


def verify_bucket(capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    status = main(["audit", "verify", "--bucket", BUCKET])
    return status, capsys.readouterr().out


SESSION: list[tuple[str, str, dict[str, Any] | None]] = [
    ("POST", "secret/data/a", {"data": {"k": "1"}}),
    ("GET", "secret/data/a", None),
    ("LIST", "secret/metadata/", None),
    ("GET", "sys/mounts", None),
    ("POST", "auth/token/create", {"policies": ["default"]}),
    ("DELETE", "secret/data/a", None),
    ("GET", "secret/data/missing", None),
]


def test_a_session_leaves_two_records_per_request_in_order(
    audited: VaultHTTP, s3: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    for method, path, body in SESSION:
        audited.request(method, path, body)
    found = stored(s3)
    assert len({r["chain_id"] for r in found}) == 1  # one container, one device
    assert [r["chain_seq"] for r in found] == list(range(1, 2 + 2 * len(SESSION) + 1))
    probe, enabled, *session = found
    assert probe["request"]["path"] == "sys/audit/test"
    assert enabled["type"] == "response" and enabled["request"]["path"] == "sys/audit/s3"
    assert [r["type"] for r in session] == ["request", "response"] * len(SESSION)
    assert [r["request"]["path"] for r in session[::2]] == [path for _, path, _ in SESSION]
    assert all(a["request"]["id"] == b["request"]["id"]
               for a, b in zip(session[::2], session[1::2], strict=True))
    keys = [item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert all(key.startswith("audit/year=") for key in keys)  # date-partitioned prefix
    status, out = verify_bucket(capsys)
    assert status == 0, out
    assert out.strip().endswith(f"OK: {len(found)} records in 1 chains verified")


def test_a_canary_secret_never_appears_in_clear(audited: VaultHTTP, s3: Any) -> None:
    assert audited.post("secret/data/c", {"data": {"v": CANARY}}).status_code == 200
    assert audited.get("secret/data/c").json()["data"]["data"] == {"v": CANARY}
    wrap = audited.get("secret/data/c", headers={"X-Vault-Wrap-TTL": "60"}).json()["wrap_info"]
    unwrapped = audited.post("sys/wrapping/unwrap", token=wrap["token"]).json()
    assert unwrapped["data"]["data"] == {"v": CANARY}
    digest = audited.post("sys/audit-hash/s3", {"input": CANARY}).json()["data"]["hash"]
    blobs = [s3.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read()
             for item in s3.list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert not any(CANARY.encode() in blob for blob in blobs)
    assert not any(wrap["token"].encode() in blob for blob in blobs)
    found = stored(s3)
    write = next(r for r in found if r["type"] == "request"
                 and r["request"]["path"] == "secret/data/c")
    assert write["request"]["data"]["data"]["v"] == digest
    read = next(r for r in found if r["type"] == "response" and r["request"]["operation"] == "read"
                and r["request"]["path"] == "secret/data/c")
    assert read["response"]["data"]["data"]["v"] == digest


# -- tampering ---------------------------------------------------------------------------


def _objects(s3: Any) -> list[tuple[str, dict[str, Any]]]:
    """(key, record) for every object, ordered by the chain."""
    pairs = []
    for item in s3.list_objects_v2(Bucket=BUCKET)["Contents"]:
        body = s3.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read()
        pairs.append((item["Key"], json.loads(body)))
    return sorted(pairs, key=lambda pair: pair[1]["chain_seq"])


def _put(s3: Any, key: str, record: dict[str, Any]) -> None:
    body = json.dumps(record, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"
    s3.put_object(Bucket=BUCKET, Key=key, Body=body)


def edit(s3: Any) -> list[str]:
    key, record = _objects(s3)[4]
    record["request"]["path"] = "secret/data/innocent"
    _put(s3, key, record)
    return [f"s3://{BUCKET}/{key}:1: seq 5 was modified or replaced"]


def delete(s3: Any) -> list[str]:
    objects = _objects(s3)
    s3.delete_object(Bucket=BUCKET, Key=objects[4][0])
    return [f"s3://{BUCKET}/{objects[5][0]}:1: records seq 5 are missing (deleted?) after seq 4"]


def swap(s3: Any) -> list[str]:
    """Move two records into each other's place in the sequence."""
    (key_a, a), (key_b, b) = _objects(s3)[4:6]
    a["chain_seq"], b["chain_seq"] = b["chain_seq"], a["chain_seq"]
    _put(s3, key_a, a)
    _put(s3, key_b, b)
    return [f"s3://{BUCKET}/{key_b}:1: seq 5 was modified or replaced",
            f"s3://{BUCKET}/{key_a}:1: seq 6 was modified or replaced"]


@pytest.mark.parametrize("tamper", [edit, delete, swap])
def test_verify_names_the_tampered_record(
    audited: VaultHTTP, s3: Any, capsys: pytest.CaptureFixture[str],
    tamper: Callable[[Any], list[str]],
) -> None:
    for n in range(4):
        audited.post(f"secret/data/t{n}", {"data": {"n": str(n)}})
    expected = tamper(s3)
    status, out = verify_bucket(capsys)
    assert status == 1
    problems = [line for line in out.splitlines() if line.startswith("s3://")]
    assert len(problems) == len(expected), out
    for line, start in zip(problems, expected, strict=True):
        assert line.startswith(start), out
    assert out.strip().splitlines()[-1].startswith("FAILED:")


def test_verify_reads_objects_the_deployed_stream_gzipped(
    audited: VaultHTTP, s3: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """The deployed delivery stream compresses objects (infra/); moto's does not."""
    for n in range(3):
        audited.post(f"secret/data/g{n}", {"data": {"n": str(n)}})
    for item in s3.list_objects_v2(Bucket=BUCKET)["Contents"]:
        body = s3.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read()
        s3.put_object(Bucket=BUCKET, Key=item["Key"], Body=gzip.compress(body))
    status, out = verify_bucket(capsys)
    assert status == 0, out


# -- fail closed --------------------------------------------------------------------------


def test_a_device_that_fails_its_test_message_is_not_enabled(vault: VaultHTTP, s3: Any) -> None:
    reply = vault.post("sys/audit/s3", {"type": "s3", "options": {"stream": "missing"}})
    assert (reply.status_code, reply.json()) == (400, {"errors": [
        'audit backend failed test message: PutRecordBatch to stream "missing": '
        "ResourceNotFoundException"]})
    assert vault.get("sys/audit").json()["data"] == {}


def test_a_failing_device_blocks_requests_and_nothing_happens(
    vault: VaultHTTP, s3: Any
) -> None:
    reply = vault.post("sys/audit/broken", {
        "type": "s3", "options": {"stream": "missing", "skip_test": "true"}})
    # Enabled, but its own response record has nowhere to go: a 500, as Vault answers.
    assert (reply.status_code, reply.json()) == (500, INTERNAL)
    write = vault.post("secret/data/blocked", {"data": {"v": CANARY}})
    assert (write.status_code, write.json()) == (500, INTERNAL)
    assert vault.get("sys/audit").status_code == 500  # even the way out is audited, as Vault
    create_stream("missing")  # the destination comes back
    assert vault.get("secret/data/blocked").status_code == 404  # the write never happened
    assert not any(CANARY.encode() in line.raw for line in read_bucket(s3, BUCKET))


# -- cost and containers -------------------------------------------------------------------


@pytest.fixture
def aws_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[Counter[str]]:
    seen: Counter[str] = Counter()
    original = BaseClient._make_api_call

    def counting(self: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        seen[f"{self.meta.service_model.service_name}:{operation}"] += 1
        return original(self, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", counting)
    lean_call = LeanClient.call  # the hot DynamoDB and Firehose calls never enter botocore's

    def counting_lean(self: LeanClient, operation: str, params: dict[str, Any]) -> Any:
        seen[f"{self.service_name}:{operation}"] += 1
        return lean_call(self, operation, params)

    monkeypatch.setattr(LeanClient, "call", counting_lean)
    yield seen


def _warm_read(vault: VaultHTTP, calls: Counter[str]) -> Counter[str]:
    assert vault.get("secret/data/w").status_code == 200  # warms the ACL and the device
    calls.clear()
    assert vault.get("secret/data/w").status_code == 200
    return Counter(calls)


def test_a_warm_audited_read_adds_one_put_record_batch_and_nothing_else(
    vault: VaultHTTP, s3: Any, aws_calls: Counter[str]
) -> None:
    vault.post("secret/data/w", {"data": {"v": "1"}})
    plain = _warm_read(vault, aws_calls)
    assert vault.post("sys/audit/s3", {"type": "s3"}).status_code == 204
    audited = _warm_read(vault, aws_calls)
    # The audit table is cached per generation: storage calls are unchanged.
    assert audited - plain == Counter({"firehose:PutRecordBatch": 1})
    assert plain - audited == Counter()


def test_other_containers_follow_enable_and_disable(
    vault: VaultHTTP, s3: Any, aws_calls: Counter[str]
) -> None:
    from chalicelib.audit.broker import broker_for
    from chalicelib.core.runtime import Runtime
    from chalicelib.storage.dynamodb import DynamoDBPhysical

    other = Runtime(DynamoDBPhysical())  # a second container of the same deployment
    other.begin([])
    assert broker_for(other).current(other) == []
    assert vault.post("sys/audit/s3", {"type": "s3"}).status_code == 204
    other.begin([])
    aws_calls.clear()
    devices = broker_for(other).current(other)
    assert [d.entry.path for d in devices] == ["s3/"]
    assert aws_calls == Counter({"dynamodb:GetItem": 1})  # the table, once per change
    mine = broker_for(__import__("chalicelib.core.runtime").core.runtime.runtime())
    assert devices[0].chain.id != mine.devices["s3/"].chain.id  # one chain per container
    assert devices[0].entry.salt == mine.devices["s3/"].entry.salt  # same hashes everywhere
    assert vault.delete("sys/audit/s3").status_code == 204
    other.begin([])
    assert broker_for(other).current(other) == []
