"""The JSON audit records: OpenBao's fields, order and omissions, hashed per device."""

from __future__ import annotations

import json

from chalicelib.audit.hashing import hmac_value
from chalicelib.audit.record import (
    Caller,
    FormatConfig,
    Mount,
    Outcome,
    Subject,
    probe_entry,
    request_entry,
    response_entry,
    to_json,
)

SALT = "salt"
TOKEN, ACCESSOR = "s.AAAAAAAAAAAAAAAAAAAAAAAA", "BBBBBBBBBBBBBBBBBBBBBBBB"
KV = Mount("secret/", "kv", "kv_1234abcd", "secret")


def h(value: str) -> str:
    return hmac_value(SALT, value)


def subject(**changes: object) -> Subject:
    caller = Caller(
        client_token=TOKEN, accessor=ACCESSOR, display_name="token", policies=("root",),
        token_type="service", issue_time="2026-11-23T00:16:26Z",
        policy_results={"allowed": True, "granting_policies": [
            {"name": "root", "namespace_id": "root", "type": "acl"}]},
    )
    fields: dict[str, object] = {
        "id": "req-1", "operation": "create", "path": "secret/data/c",
        "data": {"data": {"v": "CANARY"}, "options": {}}, "client_token": TOKEN,
        "client_token_accessor": ACCESSOR, "remote_address": "127.0.0.1", "mount": KV,
        "caller": caller,
    }
    return Subject(**{**fields, **changes})  # type: ignore[arg-type]


def test_request_record_matches_openbao_shape() -> None:
    entry = request_entry(subject(), FormatConfig(), SALT)
    assert list(entry) == ["time", "type", "auth", "request"]
    assert entry["auth"] == {
        "client_token": h(TOKEN), "accessor": h(ACCESSOR), "display_name": "token",
        "policies": ["root"], "token_policies": ["root"],
        "policy_results": {"allowed": True, "granting_policies": [
            {"name": "root", "namespace_id": "root", "type": "acl"}]},
        "token_type": "service", "token_issue_time": "2026-11-23T00:16:26Z",
    }
    assert entry["request"] == {
        "id": "req-1", "operation": "create", "mount_point": "secret/", "mount_type": "kv",
        "mount_accessor": "kv_1234abcd", "mount_class": "secret",
        "client_token": h(TOKEN), "client_token_accessor": h(ACCESSOR),
        "namespace": {"id": "root"}, "path": "secret/data/c",
        "data": {"data": {"v": h("CANARY")}, "options": {}}, "remote_address": "127.0.0.1",
    }


def test_reads_log_no_mount_accessor_in_their_request_record() -> None:
    entry = request_entry(subject(operation="read", data={}), FormatConfig(), SALT)
    assert "mount_accessor" not in entry["request"] and "data" not in entry["request"]
    response = response_entry(subject(operation="read"), Outcome(), FormatConfig(), SALT)
    assert response["request"]["mount_accessor"] == "kv_1234abcd"


def test_no_token_means_default_token_type_only() -> None:
    entry = request_entry(subject(caller=Caller()), FormatConfig(), SALT, error="permission denied")
    assert entry["auth"] == {"token_type": "default"}
    assert entry["error"] == "permission denied"


def test_response_record_hashes_data_auth_and_wrap_info() -> None:
    outcome = Outcome(
        data={"data": {"v": "CANARY"}, "metadata": {"created_time": "2026-11-23T00:16:29Z"}},
        auth={"client_token": "s.new", "accessor": "acc", "policies": ["default"],
              "token_policies": ["default"], "lease_duration": 3600, "num_uses": 3,
              "token_type": "service"},
        wrap_info={"token": "s.wrap", "accessor": "wacc", "ttl": 60,
                   "creation_time": "2026-11-23T00:16:30Z", "creation_path": "secret/data/c"},
        lease_id="kv/lease/1", warnings=("careful",),
    )
    entry = response_entry(subject(), outcome, FormatConfig(), SALT)
    assert list(entry) == ["time", "type", "auth", "request", "response"]
    response = entry["response"]
    assert list(response) == ["auth", "mount_point", "mount_type", "mount_accessor",
                              "mount_class", "secret", "data", "warnings", "wrap_info"]
    assert response["data"] == {"data": {"v": h("CANARY")},
                                "metadata": {"created_time": "2026-11-23T00:16:29Z"}}
    assert response["auth"] == {
        "client_token": h("s.new"), "accessor": h("acc"), "policies": ["default"],
        "token_policies": ["default"], "num_uses": 3, "token_type": "service",
        "token_ttl": 3600,
    }
    assert response["wrap_info"] == {
        "ttl": 60, "token": h("s.wrap"), "accessor": h("wacc"),
        "creation_time": "2026-11-23T00:16:30Z", "creation_path": "secret/data/c",
    }
    assert response["secret"] == {"lease_id": "kv/lease/1"}


def test_hmac_accessor_false_and_log_raw() -> None:
    plain_accessors = request_entry(subject(), FormatConfig(hmac_accessor=False), SALT)
    assert plain_accessors["auth"]["accessor"] == ACCESSOR
    assert plain_accessors["auth"]["client_token"] == h(TOKEN)
    raw = request_entry(subject(), FormatConfig(raw=True), SALT)
    assert raw["auth"]["client_token"] == TOKEN
    assert raw["request"]["data"] == {"data": {"v": "CANARY"}, "options": {}}


def test_elided_list_responses() -> None:
    outcome = Outcome(data={"keys": ["a", "b", "c"]})
    entry = response_entry(subject(operation="list"), outcome,
                           FormatConfig(elide_list_responses=True), SALT)
    assert entry["response"]["data"] == {"keys": 3}


def test_errors_are_kept_in_clear_and_messages_hashed() -> None:
    outcome = Outcome(data={"error": "path already in use"},
                      error="1 error occurred:\n\t* invalid request\n\n")
    entry = response_entry(subject(), outcome, FormatConfig(), SALT)
    assert entry["error"] == "1 error occurred:\n\t* invalid request\n\n"
    assert entry["response"]["data"] == {"error": h("path already in use")}


def test_json_lines_are_compact_and_escape_html_like_go() -> None:
    text = to_json({"a": "<b>&", "u": "é"})
    assert text == '{"a":"\\u003cb\\u003e\\u0026","u":"é"}'
    assert json.loads(text) == {"a": "<b>&", "u": "é"}


def test_probe_is_openbaos_test_message() -> None:
    probe = probe_entry("id-1")
    assert {k: v for k, v in probe.items() if k != "time"} == {
        "type": "request", "auth": {"token_type": "default"},
        "request": {"id": "id-1", "operation": "update", "namespace": {"id": "root"},
                    "path": "sys/audit/test"},
    }
