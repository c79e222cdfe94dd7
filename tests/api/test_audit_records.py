"""The records a file device writes: Vault's JSON audit format, secrets HMAC'd, over HTTP.

Expected fields are OpenBao 2.7's, recorded against `bao server -dev` with a file device.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.api.audit_support import CANARY, audit_hash, enable, of_request, records
from tests.api.tokens_support import create
from tests.support import VaultHTTP


@pytest.fixture
def log(vault: VaultHTTP, tmp_path: Path) -> Path:
    """A file device at file/, enabled by root."""
    target = tmp_path / "audit.log"
    enable(vault, "file", "file", file_path=str(target))
    return target


def test_enable_writes_the_probe_and_its_own_response(vault: VaultHTTP, log: Path) -> None:
    probe, enabled = records(log)
    assert probe["type"] == "request" and probe["request"]["path"] == "sys/audit/test"
    assert probe["auth"] == {"token_type": "default"}
    assert enabled["type"] == "response" and enabled["request"]["path"] == "sys/audit/file"


def test_every_request_gets_a_request_then_a_response_record(
    vault: VaultHTTP, log: Path
) -> None:
    vault.post("secret/data/c", {"data": {"v": CANARY}})
    vault.get("secret/data/c")
    written = records(log)[2:]
    assert [r["type"] for r in written] == ["request", "response"] * 2
    assert written[0]["request"]["id"] == written[1]["request"]["id"]
    write = written[0]
    assert write["request"]["operation"] == "create"
    assert write["request"]["mount_point"] == "secret/"
    assert write["request"]["mount_type"] == "kv"
    assert write["request"]["mount_class"] == "secret"
    assert write["request"]["namespace"] == {"id": "root"}
    assert write["auth"]["policies"] == ["root"] and write["auth"]["token_type"] == "service"
    assert write["auth"]["policy_results"] == {"allowed": True, "granting_policies": [
        {"name": "root", "namespace_id": "root", "type": "acl"}]}
    read_response = written[3]
    assert "mount_accessor" not in written[2]["request"]  # a read's request record
    assert read_response["response"]["data"]["metadata"]["version"] == 1


def test_secrets_tokens_and_accessors_are_hashed(vault: VaultHTTP, log: Path) -> None:
    child = create(vault, {"policies": ["default"], "ttl": "1h", "num_uses": 3})
    vault.get("auth/token/lookup-self", token=child["client_token"])
    vault.post("secret/data/c", {"data": {"v": CANARY}})
    vault.get("secret/data/c")
    text = log.read_text()
    for plain in (CANARY, child["client_token"], child["accessor"]):
        assert plain not in text
    root = audit_hash(vault, "file", "root")  # the root token's id is "root" in these tests
    assert {r["request"].get("client_token") for r in records(log)[2:]} == {
        root, audit_hash(vault, "file", child["client_token"])}
    digest = audit_hash(vault, "file", CANARY)
    write = of_request(log, "secret/data/c", "request")[0]
    assert write["request"]["data"] == {"data": {"v": digest}}
    read = of_request(log, "secret/data/c", "response")[1]
    assert read["response"]["data"]["data"] == {"v": digest}
    created = of_request(log, "auth/token/create", "response")[0]["response"]["auth"]
    assert created["client_token"] == audit_hash(vault, "file", child["client_token"])
    assert created["accessor"] == audit_hash(vault, "file", child["accessor"])
    assert created["num_uses"] == 3 and created["token_ttl"] == 3600
    lookup = of_request(log, "auth/token/lookup-self", "request")[0]
    assert lookup["auth"]["remaining_uses"] == 3 and lookup["auth"]["token_ttl"] == 3600
    assert lookup["auth"]["policy_results"]["granting_policies"] == [
        {"name": "default", "namespace_id": "root", "type": "acl"}]


def test_wrapped_responses_log_only_the_wrap_info(vault: VaultHTTP, log: Path) -> None:
    vault.post("secret/data/c", {"data": {"v": CANARY}})
    wrapped = vault.get("secret/data/c", headers={"X-Vault-Wrap-TTL": "60"}).json()["wrap_info"]
    unwrapped = vault.post("sys/wrapping/unwrap", token=wrapped["token"])
    assert unwrapped.json()["data"]["data"] == {"v": CANARY}
    assert CANARY not in log.read_text() and wrapped["token"] not in log.read_text()
    read = of_request(log, "secret/data/c", "response")[-1]
    assert read["request"]["wrap_ttl"] == 60
    assert "data" not in read["response"]
    assert read["response"]["wrap_info"] == {
        "ttl": 60, "token": audit_hash(vault, "file", wrapped["token"]),
        "accessor": audit_hash(vault, "file", wrapped["accessor"]),
        "creation_time": wrapped["creation_time"], "creation_path": "secret/data/c",
    }
    unwrap = of_request(log, "sys/wrapping/unwrap", "response")[0]
    assert unwrap["response"]["data"]["data"] == {"v": audit_hash(vault, "file", CANARY)}


def test_refused_requests_are_logged_with_their_error(vault: VaultHTTP, log: Path) -> None:
    assert vault.get("secret/data/c", token="s.bogus").status_code == 403
    request, response = of_request(log, "secret/data/c", "request") + of_request(
        log, "secret/data/c", "response")
    assert request["error"] == "permission denied" and request["auth"] == {"token_type": "default"}
    assert request["request"]["client_token"] == audit_hash(vault, "file", "s.bogus")
    assert response["error"] == "1 error occurred:\n\t* permission denied\n\n"
    assert "mount_accessor" not in response["request"]  # never routed, as in OpenBao
    assert "mount_accessor" not in response["response"]
    assert response["response"]["data"] == {"error": audit_hash(vault, "file", "permission denied")}


def test_errors_keep_the_message_hashed(vault: VaultHTTP, log: Path) -> None:
    assert vault.post("sys/audit/file", {"type": "stdout"}).status_code == 400
    response = of_request(log, "sys/audit/file", "response")[-1]
    assert response["error"] == "1 error occurred:\n\t* invalid request\n\n"
    message = audit_hash(vault, "file", "path already in use")
    assert response["response"]["data"] == {"error": message}


def test_unaudited_paths(vault: VaultHTTP, log: Path) -> None:
    for path in ("sys/health", "sys/seal-status", "sys/leader"):
        assert vault.get(path).status_code == 200
    assert {r["request"]["path"] for r in records(log)} == {"sys/audit/test", "sys/audit/file"}


def test_device_options(vault: VaultHTTP, tmp_path: Path) -> None:
    raw = tmp_path / "raw.log"
    enable(vault, "raw", "file", file_path=str(raw), log_raw="true", hmac_accessor="false",
           elide_list_responses="true", prefix="PFX ")
    vault.post("secret/data/c", {"data": {"v": CANARY}})
    vault.list("secret/metadata/")
    lines = raw.read_text().splitlines()
    assert all(line.startswith("PFX {") for line in lines)
    parsed = [json.loads(line[4:]) for line in lines]
    write = next(r for r in parsed if r["request"]["path"] == "secret/data/c")
    assert write["request"]["data"] == {"data": {"v": CANARY}}  # log_raw
    assert write["auth"]["client_token"] == "root"
    listing = next(r for r in parsed if r["request"]["operation"] == "list"
                   and r["type"] == "response")
    assert listing["response"]["data"] == {"keys": 1}  # elide_list_responses


def test_non_hmac_keys_of_a_mount(vault: VaultHTTP, log: Path) -> None:
    tune = vault.post("sys/mounts/secret/tune", {"audit_non_hmac_request_keys": ["note"]})
    assert tune.status_code in (200, 204), tune.text
    vault.post("secret/data/n", {"data": {"note": "public", "v": CANARY}})
    write = of_request(log, "secret/data/n", "request")[0]
    assert write["request"]["data"]["data"] == {
        "note": "public", "v": audit_hash(vault, "file", CANARY)}




def test_sealing_drops_the_devices_and_unsealing_starts_new_chains(
    fresh: VaultHTTP, tmp_path: Path
) -> None:
    from chalicelib.audit.verify import read_file, verify

    init = fresh.put("sys/init", {"recovery_shares": 1, "recovery_threshold": 1}).json()
    fresh.token = init["root_token"]
    log = tmp_path / "audit.log"
    enable(fresh, "file", "file", file_path=str(log))
    salt_hash = audit_hash(fresh, "file", CANARY)
    assert fresh.put("sys/seal").status_code == 204
    assert fresh.put("sys/unseal", {"key": init["recovery_keys"][0]}).json()["sealed"] is False
    assert fresh.get("sys/mounts").status_code == 200
    assert audit_hash(fresh, "file", CANARY) == salt_hash  # the salt is stored, not lost
    paths = [(r["type"], r["request"]["path"]) for r in records(log)]
    assert ("request", "sys/seal") in paths and ("response", "sys/seal") not in paths
    assert not any(path in ("sys/unseal", "sys/seal-status") for _, path in paths)
    report = verify(read_file(str(log)))
    assert report.ok and len(report.chains) == 2  # one before the seal, one after
