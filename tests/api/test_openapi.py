"""sys/internal/specs/openapi and ``?help=1``: documents generated from path declarations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from openapi_spec_validator import validate

from chalicelib.engines import registry
from chalicelib.engines.registry import backend_for
from chalicelib.framework.openapi import openapi_template
from tests.api import audit_support
from tests.support import VaultHTTP

SPEC = "sys/internal/specs/openapi"


def _mount_extras(vault: VaultHTTP) -> None:
    assert vault.post("sys/mounts/transit", {"type": "transit"}).status_code == 204
    assert vault.post("sys/mounts/kv1", {"type": "kv", "options": {"version": "1"}}).ok
    assert vault.post("sys/auth/userpass", {"type": "userpass"}).status_code == 204
    assert vault.post("sys/auth/team-login", {"type": "approle"}).status_code == 204


def _expected_paths(prefix: str, type_name: str, *, auth: bool) -> set[str]:
    backend = backend_for(type_name, auth=auth)
    return {"/" + prefix + openapi_template(path.pattern) for path in backend.paths}


def _schema(document: dict[str, Any], path: str, method: str = "post") -> dict[str, Any]:
    reference = document["paths"][path][method]["requestBody"]["content"]["application/json"]
    name = reference["schema"]["$ref"].rsplit("/", 1)[1]
    return document["components"]["schemas"][name]


def test_document_is_valid_and_documents_every_mount_at_its_path(vault: VaultHTTP) -> None:
    _mount_extras(vault)
    reply = vault.get(SPEC)
    assert reply.status_code == 200
    assert reply.headers["Content-Type"].startswith("application/json")
    document = reply.json()
    validate(document)  # raises on any OpenAPI 3 violation (unique operationIds included)
    assert document["openapi"] == "3.0.2" and document["servers"] == [{"url": "/v1"}]
    paths = set(document["paths"])
    expected = {
        ("sys/", "system", False), ("cubbyhole/", "cubbyhole", False),
        ("identity/", "identity", False), ("transit/", "transit", False),
        ("auth/token/", "token", True), ("auth/userpass/", "userpass", True),
        ("auth/team-login/", "approle", True),
    }  # fmt: skip
    for prefix, type_name, auth in expected:
        assert _expected_paths(prefix, type_name, auth=auth) <= paths, prefix
    # kv is documented as the version its mount serves.
    assert "/secret/data/{path}" in paths and "/secret/metadata/{path}" in paths
    assert "/kv1/{path}" in paths and "/kv1/data/{path}" not in paths
    assert "/sys/internal/specs/openapi" in paths
    # A second mount of a type: the same paths under it, operation ids kept unique.
    assert vault.post("sys/mounts/transit2", {"type": "transit"}).status_code == 204
    twice = vault.get(SPEC).json()
    validate(twice)
    second = twice["paths"]["/transit2/keys/{name}"]["get"]
    assert second["operationId"] == "transit-read-keys-name-2"


def test_operations_parameters_and_request_bodies(vault: VaultHTTP) -> None:
    _mount_extras(vault)
    document = vault.get(SPEC).json()
    user = document["paths"]["/auth/userpass/users/{username}"]
    assert set(user) >= {"get", "post", "delete", "parameters"}
    assert user["x-vault-createSupported"] is True
    assert user["parameters"] == [{
        "name": "username", "in": "path", "required": True,
        "schema": {"type": "string", "pattern": "^[^/]+$"},
    }]  # fmt: skip
    assert user["post"]["operationId"] == "userpass-write-users-username"
    assert user["post"]["tags"] == ["auth"]
    assert user["delete"]["responses"] == {"204": {"description": "empty body"}}
    body = _schema(document, "/auth/userpass/users/{username}")
    assert body["type"] == "object"
    assert body["properties"]["token_ttl"] == {
        "type": "integer", "format": "seconds", "default": 0,
        "description": "The initial lifetime of the issued tokens.",
    }  # fmt: skip
    assert body["properties"]["token_policies"]["items"] == {"type": "string"}
    assert body["properties"]["token_no_default_policy"]["type"] == "boolean"
    assert "username" not in body["properties"]  # a capture is a path parameter

    keys = _schema(document, "/transit/keys/{name}")["properties"]
    assert keys["type"]["default"] == "aes256-gcm96" and keys["exportable"]["type"] == "boolean"
    # A LIST-only path: GET with a required list=true.
    listing = document["paths"]["/auth/userpass/users"]["get"]
    assert listing["parameters"][0]["required"] is True
    assert listing["parameters"][0]["schema"]["enum"] == ["true"]
    login = document["paths"]["/auth/userpass/login/{username}"]
    assert login["x-vault-unauthenticated"] is True and "get" not in login
    assert document["paths"]["/sys/audit/{path}"]["x-vault-sudo"] is True
    assert document["paths"]["/sys/mounts"]["get"]["tags"] == ["system"]


def test_generic_mount_paths(vault: VaultHTTP) -> None:
    _mount_extras(vault)
    document = vault.get(SPEC, params={"generic_mount_paths": "true"}).json()
    validate(document)
    paths = document["paths"]
    assert "/auth/{team_login_mount_path}/role/{role_name}" in paths
    assert "/{transit_mount_path}/keys/{name}" in paths
    # Singletons keep their fixed paths.
    assert "/sys/mounts" in paths and "/auth/token/create" in paths
    mount = next(
        p for p in paths["/{transit_mount_path}/keys/{name}"]["parameters"]
        if p["name"] == "transit_mount_path"
    )
    assert mount["schema"]["default"] == "transit" and mount["required"] is True


def test_document_shows_what_the_caller_may_reach(vault: VaultHTTP) -> None:
    _mount_extras(vault)
    vault.post("sys/mounts/transit/tune", {"listing_visibility": "unauth"})
    vault.put("sys/policies/acl/kvx", {"policy": 'path "kv1/x" { capabilities = ["read"] }'})
    token = vault.post("auth/token/create", {"policies": ["kvx"]}).json()["auth"]["client_token"]

    anonymous = VaultHTTP(vault.url).get(SPEC)
    assert anonymous.status_code == 200
    assert {path.split("/")[1] for path in anonymous.json()["paths"]} == {"transit"}
    assert VaultHTTP(vault.url, "not-a-token").get(SPEC).status_code == 403
    limited = VaultHTTP(vault.url, token).get(SPEC).json()
    validate(limited)
    mounts = {path.split("/")[1] for path in limited["paths"]}
    assert {"kv1", "transit"} <= mounts and "secret" not in mounts and "userpass" not in {
        path.split("/")[2] for path in limited["paths"] if path.startswith("/auth/")
    }


def _help(client: VaultHTTP, path: str, method: str = "GET") -> dict[str, Any]:
    reply = client.request(method, path, params={"help": "1"})
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert set(body) == {"help", "openapi", "see_also"} and body["see_also"] is None
    validate(body["openapi"])
    return body


# Request path -> a line of its help, and the one OpenAPI path its document holds.
HELPED = {
    "secret/data/foo": ("Matching Route: ^data/(?P<path>.*)$", "/data/{path}"),
    "sys/mounts": ("Request:        mounts", "/mounts"),
    "sys/seal": ("Matching Route: ^seal$", "/seal"),  # not the seal handler's 405
    "transit/keys/k1": ("Matching Route: ^keys/(?P<name>[^/]+)$", "/keys/{name}"),
    "auth/userpass/users/bob": ("token_ttl (duration (sec))", "/users/{username}"),
    "auth/token/create": ("Matching Route: ^create$", "/create"),
}


def test_help_on_paths_mount_roots_and_unknown_paths(vault: VaultHTTP) -> None:
    _mount_extras(vault)
    for path, (line, documented) in HELPED.items():
        body = _help(vault, path)
        assert line in body["help"] and "## DESCRIPTION" in body["help"], path
        assert list(body["openapi"]["paths"]) == [documented]
    for path in ("transit/", "transit"):
        body = _help(vault, path)
        assert body["help"].startswith("## DESCRIPTION") and "## PATHS" in body["help"]
        assert "^keys/(?P<name>[^/]+)$" in body["help"]
        assert "/encrypt/{name}" in body["openapi"]["paths"]
    # As any request: no route in the mount, no mount at all.
    unsupported = vault.get("transit/nosuch", params={"help": "1"})
    assert unsupported.status_code == 404
    assert unsupported.json() == {"errors": ["1 error occurred:\n\t* unsupported path\n\n"]}
    missing = vault.get("nonexist/foo", params={"help": "1"})
    assert missing.status_code == 404
    message = 'no handler for route "nonexist/foo". route entry not found.'
    assert missing.json() == {"errors": [message]}


def test_help_needs_a_token_but_no_policy(vault: VaultHTTP, tmp_path: Path) -> None:
    _mount_extras(vault)
    log = tmp_path / "audit.log"
    audit_support.enable(vault, "file", "file", file_path=str(log))
    vault.put("sys/policies/acl/deny", {"policy": 'path "transit/*" { capabilities = ["deny"] }'})
    token = vault.post("auth/token/create", {"policies": ["deny"]}).json()["auth"]["client_token"]
    denied = VaultHTTP(vault.url, token)
    assert denied.get("transit/keys/k1").status_code == 403
    text = _help(denied, "transit/keys/k1")["help"]
    assert "Manage" in text and "deletion_allowed" in text  # synopsis, long description
    assert _help(vault, "transit/keys/k1", method="POST")["help"].startswith("Request:")

    anonymous = VaultHTTP(vault.url)
    refused = anonymous.get("transit/keys/k1", params={"help": "1"})
    assert refused.status_code == 403 and refused.json() == {"errors": ["permission denied"]}
    # An unauthenticated path's help needs no token.
    assert "password" in _help(anonymous, "auth/userpass/login/bob")["help"]
    helped = [
        record for record in audit_support.records(log)
        if record["type"] == "response" and record["request"]["operation"] == "help"
    ]  # fmt: skip
    assert {record["request"]["path"] for record in helped} == {
        "transit/keys/k1", "auth/userpass/login/bob",
    }  # fmt: skip


def test_a_mount_of_a_type_no_longer_served_is_left_out(
    vault: VaultHTTP, monkeypatch: pytest.MonkeyPatch
) -> None:
    kv = "chalicelib.engines.kv.backend:backend"
    monkeypatch.setitem(registry.SECRETS_ENGINES, "retired", kv)
    registry.backend_for.cache_clear()
    assert vault.post("sys/mounts/old", {"type": "retired"}).status_code == 204
    monkeypatch.delitem(registry.SECRETS_ENGINES, "retired")
    registry.backend_for.cache_clear()
    reply = vault.get(SPEC)
    assert reply.status_code == 200
    assert "/secret/data/{path}" in reply.json()["paths"]
    assert not any(path.startswith("/old/") for path in reply.json()["paths"])
