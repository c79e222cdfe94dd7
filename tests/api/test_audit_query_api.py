"""sys/audit-query and sys/audit-verify: a device's recent records and chain check over HTTP.

File devices are read from their log, s3 devices from the bucket their Firehose stream
delivers to (moto, naming objects as AWS does: evaluated day partitions).
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from chalicelib.audit import readback
from chalicelib.audit.verify import read_bucket
from chalicelib.cli.devenv import firehose_keys_as_aws
from tests.api.audit_support import BUCKET, create_stream, enable
from tests.api.tokens_support import create, write_policy
from tests.support import REGION, VaultHTTP

PASSWORD = "correct horse"


def query(vault: VaultHTTP, device: str, **params: Any) -> dict[str, Any]:
    reply = vault.get(f"sys/audit-query/{device}", params=params)
    assert reply.status_code == 200, reply.text
    return reply.json()["data"]


def verify(vault: VaultHTTP, device: str, **params: Any) -> dict[str, Any]:
    reply = vault.get(f"sys/audit-verify/{device}", params=params)
    assert reply.status_code == 200, reply.text
    return reply.json()["data"]


def paths_of(found: dict[str, Any]) -> list[str]:
    return [access["path"] for access in found["requests"]]


def session(vault: VaultHTTP) -> None:
    assert vault.post("secret/data/team/a", {"data": {"k": "1"}}).status_code == 200
    assert vault.get("secret/data/team/a").status_code == 200
    assert vault.get("secret/data/team/missing").status_code == 404
    assert vault.get("sys/mounts").status_code == 200


@pytest.fixture
def log(vault: VaultHTTP, tmp_path: Path) -> Path:
    target = tmp_path / "audit.log"
    enable(vault, "file", "file", file_path=str(target))
    return target


@pytest.fixture
def alice(vault: VaultHTTP) -> dict[str, Any]:
    """A userpass login (its token has an entity) that has done a few requests."""
    assert vault.post("sys/auth/userpass", {"type": "userpass"}).status_code == 204
    write_policy(vault, "team", 'path "secret/data/team/*" { capabilities = ["read"] }')
    reply = vault.post("auth/userpass/users/alice", {"password": PASSWORD, "policies": "team"})
    assert reply.status_code == 204, reply.text
    login = vault.post("auth/userpass/login/alice", {"password": PASSWORD}, token="")
    login = login.json()["auth"]
    assert vault.get("secret/data/team/a", token=login["client_token"]).status_code in (200, 404)
    assert vault.get("sys/mounts", token=login["client_token"]).status_code == 403
    return login


# -- a file device ----------------------------------------------------------------------


def test_query_shows_recent_requests_newest_first(vault: VaultHTTP, log: Path) -> None:
    session(vault)
    found = query(vault, "file")
    assert paths_of(found)[:4] == ["sys/mounts", "secret/data/team/missing",
                                   "secret/data/team/a", "secret/data/team/a"]
    newest = found["requests"][0]
    assert newest["operation"] == "read" and newest["status"] == "ok"
    assert newest["accessor"].startswith("hmac-sha256:")  # as recorded: hashed
    assert found["requests"][1]["status"] == "not found"
    assert found["device"] == "file/" and found["type"] == "file"
    read = log.read_bytes()
    assert read.endswith(b"\n") and read.count(b"\n") == found["coverage"]["records"] + 2
    # All the log but the query's request and response records, written together after the
    # answer was made (a read changes nothing: its request record waits for the response).
    before_query = read[:-1].rfind(b"\n")
    assert found["extent"] == {"source": str(log), "objects_read": 1,
                               "bytes_read": read[:before_query].rfind(b"\n") + 1,
                               "objects_skipped": 0,
                               "truncated": False, "truncated_reason": "",
                               "complete_from": None}
    assert found["matched"] == len(found["requests"])
    assert "sys/audit-query/file" not in paths_of(found)  # the query leaves itself out
    assert "sys/audit-query/file" in paths_of(query(vault, "file"))  # the next one sees it


def test_query_filters_by_path_entity_alias_and_accessor(
    vault: VaultHTTP, log: Path, alice: dict[str, Any]
) -> None:
    session(vault)
    assert paths_of(query(vault, "file", path_prefix="secret/data/team/m")) == [
        "secret/data/team/missing"]
    hers = ["sys/mounts", "secret/data/team/a", "auth/userpass/login/alice"]
    assert paths_of(query(vault, "file", entity="alice")) == hers
    assert paths_of(query(vault, "file", entity=alice["entity_id"])) == hers
    assert paths_of(query(vault, "file", accessor=alice["accessor"])) == hers
    denied = query(vault, "file", entity="alice", path_prefix="sys/")["requests"]
    assert [a["status"] for a in denied] == ["error: permission denied"]
    assert {a["display_name"] for a in denied} == {"userpass-alice"}
    assert query(vault, "file", entity="bob")["requests"] == []


def test_query_window_and_limit(vault: VaultHTTP, log: Path) -> None:
    session(vault)
    assert query(vault, "file", until="1h")["requests"] == []
    assert query(vault, "file", since="2000-01-01", until="2000-01-02")["coverage"]["records"] > 0
    two = query(vault, "file", limit=2)
    assert len(two["requests"]) == 2 and two["matched"] > 2
    assert paths_of(two) == paths_of(query(vault, "file"))[:2]


def test_verify_reports_ok_then_the_tampered_record(vault: VaultHTTP, log: Path) -> None:
    session(vault)
    checked = verify(vault, "file")
    assert checked["ok"] is True and checked["problems"] == [] and checked["partial"] is False
    assert checked["summary"] == f"OK: {checked['records']} records in 1 chains verified"
    [chain] = checked["chains"]
    assert chain["first_seq"] == 1 and chain["last_seq"] == checked["records"]
    lines = log.read_text().splitlines()
    index = next(i for i, line in enumerate(lines) if "secret/data/team/missing" in line)
    lines[index] = lines[index].replace("team/missing", "team/elsewhere")
    log.write_text("\n".join(lines) + "\n")
    tampered = verify(vault, "file")
    assert tampered["ok"] is False and tampered["summary"].startswith("FAILED: 1 problem(s)")
    [problem] = tampered["problems"]
    assert problem["where"] == f"{log}:{index + 1}"
    assert problem["message"].startswith(f"seq {index + 1} was modified or replaced")


def test_a_long_file_is_read_from_its_end(
    vault: VaultHTTP, log: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    session(vault)
    size = log.stat().st_size
    monkeypatch.setattr(readback, "Limits", functools.partial(readback.Limits, bytes=size // 2))
    found = query(vault, "file")
    extent = found["extent"]
    assert extent["truncated"] is True and "only the end of the file" in extent["truncated_reason"]
    assert 0 < extent["bytes_read"] < size // 2
    assert 0 < found["coverage"]["records"] < len(log.read_text().splitlines())
    assert found["coverage"]["unreadable"] == 0  # started at a whole line
    checked = verify(vault, "file")
    assert checked["ok"] is True and checked["partial"] is True
    assert checked["chains"][0]["first_seq"] > 1


# -- an s3 device -----------------------------------------------------------------------


@pytest.fixture
def s3(vault: VaultHTTP, monkeypatch: pytest.MonkeyPatch) -> Any:
    """An s3 device on the deployment's stream."""
    firehose_keys_as_aws(monkeypatch.setattr)
    client = boto3.client("s3", region_name=REGION)
    client.create_bucket(Bucket=BUCKET)
    create_stream()
    enable(vault, "s3", "s3")
    return client


def test_s3_query_and_verify(vault: VaultHTTP, s3: Any) -> None:
    session(vault)
    found = query(vault, "s3", path_prefix="secret/")
    assert paths_of(found) == ["secret/data/team/missing", "secret/data/team/a",
                               "secret/data/team/a"]
    assert found["extent"]["source"] == f"s3://{BUCKET}/audit/year=!{{timestamp:yyyy}}/" \
                                        "month=!{timestamp:MM}/day=!{timestamp:dd}/"
    keys = [item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert found["extent"]["objects_read"] == len(keys) - 1  # all but this query's own object
    assert all(key.startswith("audit/year=2") for key in keys)  # evaluated day partitions
    checked = verify(vault, "s3")
    assert checked["ok"] is True and checked["partial"] is True, checked
    assert checked["records"] == len(list(read_bucket(s3, BUCKET))) - 2  # but its own two


def test_s3_verify_detects_an_edited_object(vault: VaultHTTP, s3: Any) -> None:
    session(vault)
    lines = sorted(read_bucket(s3, BUCKET), key=lambda line: json.loads(line.raw)["chain_seq"])
    target = lines[4]
    key = target.source.removeprefix(f"s3://{BUCKET}/")
    edited = target.raw.replace(b'"operation":"read"', b'"operation":"delete"', 1)
    assert edited != target.raw
    body = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    s3.put_object(Bucket=BUCKET, Key=key, Body=body.replace(target.raw, edited))
    checked = verify(vault, "s3")
    assert checked["ok"] is False
    assert [p["where"] for p in checked["problems"]] == [target.where]
    assert "seq 5 was modified" in checked["problems"][0]["message"]


def test_s3_reads_at_most_the_object_limit(
    vault: VaultHTTP, s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    session(vault)
    monkeypatch.setattr(readback, "Limits", functools.partial(readback.Limits, objects=3))
    found = query(vault, "s3")
    extent = found["extent"]
    assert extent["objects_read"] == 3 and extent["objects_skipped"] > 0
    assert extent["truncated"] and extent["truncated_reason"] == "object limit (3) reached"
    # moto writes an object per call: a read's two records, or one record of a write (the
    # objects of one second are ordered by name, which is random).
    assert 3 <= found["coverage"]["records"] <= 6
    # Records delivered near the cut may sit in objects left out: none is checked in part.
    checked = verify(vault, "s3")
    assert checked["extent"]["complete_from"] > checked["window"]["until"]
    assert checked["summary"] == "FAILED: nothing to check in full (object limit (3) " \
                                 "reached): narrow the window"


def test_s3_window_outside_the_records_reads_nothing(vault: VaultHTTP, s3: Any) -> None:
    session(vault)
    found = query(vault, "s3", since="2020-01-01", until="2020-01-02T00:00:00Z")
    assert found["requests"] == [] and found["extent"]["objects_read"] == 0
    assert found["window"] == {"since": "2020-01-01T00:00:00Z", "until": "2020-01-02T00:00:00Z"}
    checked = verify(vault, "s3", since="2020-01-01", until="2020-01-02")
    assert checked["ok"] is False and checked["summary"] == "FAILED: no audit records found"


# -- refusals ---------------------------------------------------------------------------


REFUSED = [
    ("sys/audit-query/nope", {}, 'unknown audit backend "nope/"'),
    ("sys/audit-verify/nope", {}, 'unknown audit backend "nope/"'),
    ("sys/audit-query/file", {"since": "yesterday"},
     'invalid time "yesterday": want RFC 3339 (2024-05-01T00:00:00Z), a date (2024-05-01) '
     "or a duration ago (24h, 7d)"),
    ("sys/audit-verify/file", {"until": "2024-13-01"}, 'invalid time "2024-13-01"'),
    ("sys/audit-query/file", {"since": "1h", "until": "2h"}, '"since" is later than "until"'),
    ("sys/audit-query/file", {"until": "9999-12-31"}, "must fall between 1970 and 9998"),
    ("sys/audit-verify/file", {"since": "30000d"},
     "must fall between 1970 and 9998"),
    ("sys/audit-verify/file", {"since": "1960-01-01"}, "must fall between 1970 and 9998"),
    ("sys/audit-query/file", {"limit": "0"}, '"limit" must be between 1 and 1000'),
    ("sys/audit-query/file", {"limit": "1001"}, '"limit" must be between 1 and 1000'),
    ("sys/audit-query/out", {}, 'audit device "out/" writes to stdout, which this server '
                                "cannot read back: only s3 and file devices can be queried"),
    ("sys/audit-verify/out", {}, "only s3 and file devices can be queried"),
]


def test_bad_requests_get_400(vault: VaultHTTP, log: Path) -> None:
    enable(vault, "out", "stdout")
    for path, params, message in REFUSED:
        reply = vault.get(path, params=params)
        assert reply.status_code == 400, (path, params, reply.text)
        [error] = reply.json()["errors"]
        assert message in error, (path, params)


def test_a_deleted_log_is_reported_missing(vault: VaultHTTP, log: Path) -> None:
    session(vault)
    log.unlink()  # the device starts a new file with its next record: this query's
    assert paths_of(query(vault, "file")) == []
    checked = verify(vault, "file")
    [problem] = checked["problems"]
    assert problem["message"].startswith("records seq 1-") and "are missing (deleted?)" in \
        problem["message"]


def test_reading_the_log_needs_sudo(vault: VaultHTTP, log: Path) -> None:
    grant = 'path "sys/audit-*" { capabilities = ["read"%s] }'
    write_policy(vault, "reader", grant % "")
    write_policy(vault, "auditor", grant % ', "sudo"')
    reader = create(vault, {"policies": ["reader"]})["client_token"]
    auditor = create(vault, {"policies": ["auditor"]})["client_token"]
    for path in ("sys/audit-query/file", "sys/audit-verify/file"):
        assert vault.get(path, token=reader).status_code == 403
        assert vault.get(path, token=auditor).status_code == 200
    assert vault.get("sys/audit-query/file", token="").status_code in (400, 403)
