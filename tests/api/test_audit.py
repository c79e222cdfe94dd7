"""sys/audit and sys/audit-hash over HTTP, and audit failing closed.

Expected bodies and error texts are OpenBao 2.7's, recorded against `bao server -dev`
(with `unsafe_allow_api_audit_creation`, which API-enabled devices need there).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.api.audit_support import CANARY, INTERNAL, audit_hash, enable, of_request
from tests.api.tokens_support import allow, create
from tests.support import VaultHTTP


@pytest.fixture
def log(vault: VaultHTTP, tmp_path: Path) -> Path:
    """A file device at file/, enabled by root."""
    target = tmp_path / "audit.log"
    enable(vault, "file", "file", file_path=str(target))
    return target


# -- sys/audit ------------------------------------------------------------------------


def test_no_devices_list_empty(vault: VaultHTTP) -> None:
    reply = vault.get("sys/audit")
    assert reply.status_code == 200 and reply.json()["data"] == {}


def test_enable_list_and_disable(vault: VaultHTTP, tmp_path: Path) -> None:
    target = str(tmp_path / "a.log")
    reply = vault.put("sys/audit/team/a", {
        "type": "file", "description": "team A", "local": True,
        "options": {"file_path": target, "hmac_accessor": False},
    })
    assert reply.status_code == 204, reply.text
    body = vault.get("sys/audit").json()
    expected = {"description": "team A", "local": True, "path": "team/a/", "type": "file",
                "options": {"file_path": target, "hmac_accessor": "0"}}
    assert body["data"] == {"team/a/": expected}
    assert body["team/a/"] == expected  # repeated at the top level, as Vault
    assert vault.delete("sys/audit/team/a").status_code == 204
    assert vault.get("sys/audit").json()["data"] == {}
    assert vault.delete("sys/audit/team/a").status_code == 204  # gone already: still 204


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        ("nope", {"type": "nope"}, 'unknown backend type: "nope"'),
        ("none", {}, 'unknown backend type: ""'),
        ("nofp", {"type": "file"}, "file_path is required"),
        ("badbool", {"type": "file", "options": {"file_path": "/tmp/x", "log_raw": "maybe"}},
         'strconv.ParseBool: parsing "maybe": invalid syntax'),
        ("fmt", {"type": "stdout", "options": {"format": "jsonx"}},
         'jsonx formatting has been removed, consider switching to json by omitting "format" '
         'or setting it to "json"'),
    ],
)
def test_enable_refuses_bad_devices(
    vault: VaultHTTP, path: str, body: dict[str, Any], message: str
) -> None:
    reply = vault.post(f"sys/audit/{path}", body)
    assert (reply.status_code, reply.json()) == (400, {"errors": [message]})


def test_enable_refuses_an_unopenable_file(vault: VaultHTTP, tmp_path: Path) -> None:
    blocker = tmp_path / "dir"
    blocker.mkdir()
    reply = vault.post("sys/audit/f", {"type": "file", "options": {"file_path": str(blocker)}})
    assert reply.status_code == 400
    assert reply.json()["errors"][0].startswith(
        f'sanity check failed; unable to open "{blocker}" for writing: ')


def test_paths_in_use_are_refused(vault: VaultHTTP, log: Path) -> None:
    for path in ("file", "file/sub"):
        reply = vault.post(f"sys/audit/{path}", {"type": "stdout"})
        assert (reply.status_code, reply.json()) == (400, {"errors": ["path already in use"]})


def test_sys_audit_needs_sudo(vault: VaultHTTP) -> None:
    allow(vault, "audit-nosudo", "sys/audit*", "create", "read", "update", "delete", "list")
    allow(vault, "audit-sudo", "sys/audit*", "create", "read", "update", "delete", "sudo")
    plain = create(vault, {"policies": ["audit-nosudo"]})["client_token"]
    sudo = create(vault, {"policies": ["audit-sudo"]})["client_token"]
    assert vault.get("sys/audit", token=plain).status_code == 403
    assert vault.get("sys/audit", token=sudo).status_code == 200


# -- sys/audit-hash ---------------------------------------------------------------------


def test_audit_hash(vault: VaultHTTP, log: Path) -> None:
    reply = vault.post("sys/audit-hash/file", {"input": CANARY})
    body = reply.json()
    assert reply.status_code == 200 and body["hash"] == body["data"]["hash"]
    assert body["hash"].startswith("hmac-sha256:") and len(body["hash"]) == 12 + 64
    assert audit_hash(vault, "file", CANARY) == body["hash"]  # stable for a device
    assert vault.post("sys/audit-hash/file", {"input": ""}).json() == {
        "errors": ['the "input" parameter is empty']}
    assert vault.post("sys/audit-hash/nope", {"input": "x"}).json() == {
        "errors": ['unknown audit backend "nope/"']}


def test_a_reenabled_device_has_a_new_salt(vault: VaultHTTP, log: Path) -> None:
    before = audit_hash(vault, "file", CANARY)
    vault.delete("sys/audit/file")
    enable(vault, "file", "file", file_path=str(log))
    assert audit_hash(vault, "file", CANARY) != before


# -- fail closed ------------------------------------------------------------------------


def test_no_device_accepting_the_request_refuses_it(vault: VaultHTTP, log: Path) -> None:
    vault.post("secret/data/c", {"data": {"v": "before"}})
    log.unlink()
    log.mkdir()  # the device can no longer open its file
    reply = vault.post("secret/data/c", {"data": {"v": "after"}})
    assert (reply.status_code, reply.json()) == (500, INTERNAL)
    assert vault.get("secret/data/c").status_code == 500  # reads are refused too
    log.rmdir()
    assert vault.get("secret/data/c").json()["data"]["data"] == {"v": "before"}


def test_one_working_device_is_enough(vault: VaultHTTP, log: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.log"
    enable(vault, "other", "file", file_path=str(other))
    log.unlink()
    log.mkdir()
    assert vault.post("secret/data/c", {"data": {"v": "x"}}).status_code == 200
    assert of_request(other, "secret/data/c", "response")


def test_a_failed_response_record_is_a_500_after_the_fact(
    vault: VaultHTTP, log: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.audit.devices import DeviceError
    from chalicelib.audit.devices.file import Device

    original = Device.write

    def no_responses(self: Device, data: bytes) -> None:
        if b'"type":"response"' in data:
            raise DeviceError("disk full")
        original(self, data)

    monkeypatch.setattr(Device, "write", no_responses)
    reply = vault.post("secret/data/c", {"data": {"v": "written"}})
    assert (reply.status_code, reply.json()) == (500, INTERNAL)
    monkeypatch.undo()
    assert vault.get("secret/data/c").json()["data"]["data"] == {"v": "written"}  # as Vault
