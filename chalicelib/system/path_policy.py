"""sys/policy and sys/policies/acl: ACL policies, versioned, with optional check-and-set.

Policies live in the system view under ``policy/<name>``; every change bumps the cluster's
``policies`` generation so each container recompiles its ACLs on its next request.
"""

from __future__ import annotations

from typing import Any

from chalicelib.core import jsonio
from chalicelib.core.errors import BadRequest
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.core.runtime import now_iso, runtime
from chalicelib.framework import Field, FieldData, FieldType, Path
from chalicelib.framework.path import Handler
from chalicelib.storage.physical import ConditionFailed, Delete, Put
from chalicelib.storage.view import StorageView

# The policy engine is imported by the handlers that use it, not here: every request loads
# the system backend, and only some need policies (as in chalicelib.tokens.acl_cache).
POLICY_PREFIX = "policy/"
POLICIES_GENERATION = "policies"


def policy_key(name: str) -> str:
    return POLICY_PREFIX + name


def policy_record(name: str, text: str, version: int, cas_required: bool) -> dict[str, Any]:
    """The stored form of a policy (the token store's ACL loader reads ``raw``)."""
    return {
        "name": name,
        "raw": text,
        "version": version,
        "cas_required": cas_required,
        "modified": now_iso(),
    }


def _view(request: Request) -> StorageView:
    assert request.storage is not None
    return request.storage


def _names(request: Request) -> list[str]:
    from chalicelib.policy import ROOT_POLICY_NAME

    stored = [name for name in _view(request).list(POLICY_PREFIX) if not name.endswith("/")]
    return sorted({*stored, ROOT_POLICY_NAME})


def _list(request: Request, data: FieldData) -> Response:
    names = _names(request)
    return Response(data={"keys": names, "policies": names}, legacy_top_level=True)


def _list_acl(request: Request, data: FieldData) -> Response:
    return Response(data={"keys": _names(request)})


def _read(text_field: str, legacy: bool) -> Handler:
    def handler(request: Request, data: FieldData) -> Response | None:
        entry = _view(request).get(policy_key(data["name"].lower()))
        if entry is None:
            return None
        record = jsonio.loads(entry.value)
        body = {
            "name": record["name"],
            text_field: record["raw"],
            "version": record["version"],
            "cas_required": record["cas_required"],
            "modified": record["modified"],
            "allow_wildcards_in_identity_templates": False,
            "allow_slashes_in_identity_templates": False,
        }
        return Response(data=body, legacy_top_level=legacy)

    return handler


def _write(request: Request, data: FieldData) -> None:
    from chalicelib.policy import ROOT_POLICY_NAME, parse_policy

    name = data["name"].lower()
    text = data["policy"] or data["rules"]
    if name == ROOT_POLICY_NAME:
        raise BadRequest('cannot update "root" policy')
    if not text:
        raise BadRequest("'policy' parameter not supplied or empty")
    parse_policy(name, text)  # raises a 400 with the parser's message
    view = _view(request)
    current = view.get(policy_key(name))
    record = jsonio.loads(current.value) if current else None
    _check_cas(record, data)
    version = record["version"] + 1 if record else 1
    cas_required = data["cas_required"] or bool(record and record["cas_required"])
    body = jsonio.dumpb(policy_record(name, text, version, cas_required))
    put = Put(policy_key(name), body, current.version if current else 0)
    try:
        runtime().commit(view, [put], [POLICIES_GENERATION])
    except ConditionFailed:
        raise BadRequest("policy was changed concurrently; retry") from None


def _check_cas(record: dict[str, Any] | None, data: FieldData) -> None:
    current = record["version"] if record else 0
    required = data["cas_required"] or bool(record and record["cas_required"])
    if data.is_set("cas"):
        if data["cas"] != current:
            raise BadRequest(
                f"check-and-set parameter {data['cas']} did not match the current version {current}"
            )
    elif required:
        raise BadRequest("check-and-set parameter required for this call")


def _delete(request: Request, data: FieldData) -> None:
    from chalicelib.policy import DEFAULT_POLICY_NAME, ROOT_POLICY_NAME

    name = data["name"].lower()
    if name == DEFAULT_POLICY_NAME:
        raise BadRequest("cannot delete default policy")
    if name == ROOT_POLICY_NAME:
        raise BadRequest('cannot delete "root" policy')
    runtime().commit(_view(request), [Delete(policy_key(name))], [POLICIES_GENERATION])


_WRITE_FIELDS = {
    "policy": Field(FieldType.STRING, ""),
    "rules": Field(FieldType.STRING, ""),
    "cas": Field(FieldType.INT),
    "cas_required": Field(FieldType.BOOL, False),
}


def paths() -> list[Path]:
    op = Operation
    return [
        Path(
            "policy/?",
            {op.READ: _list, op.LIST: _list},
            synopsis="List the ACL policies (legacy path).",
        ),
        Path(
            "policy/{name}",
            {op.READ: _read("rules", legacy=True), op.UPDATE: _write, op.DELETE: _delete},
            _WRITE_FIELDS,
            synopsis="Read, write or delete an ACL policy (legacy path).",
        ),
        Path("policies/acl/?", {op.LIST: _list_acl}, synopsis="List the ACL policies."),
        Path(
            "policies/acl/{name}",
            {op.READ: _read("policy", legacy=False), op.UPDATE: _write, op.DELETE: _delete},
            _WRITE_FIELDS,
            synopsis="Read, write or delete an ACL policy.",
        ),
    ]
