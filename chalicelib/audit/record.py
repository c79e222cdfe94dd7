"""Vault's JSON audit records (OpenBao's ``audit/format.go``), built from plain values.

A :class:`Subject` is what one request looks like to the audit log, gathered once per
request; :func:`request_entry` and :func:`response_entry` turn it into the ``request`` and
``response`` records for one device, hashed with that device's salt unless ``log_raw``.
Fields are in Go's struct order and empty ones are left out (Go's ``omitempty``), so the
records read like OpenBao's line for line.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, NamedTuple

from chalicelib.audit.hashing import HashFn, elide_list, hash_data, hasher, sorted_copy
from chalicelib.core import jsonio
from chalicelib.tokens.clock import now_ns, rfc3339

ROOT_NAMESPACE = {"id": "root"}
_NO_DATA: Mapping[str, Any] = MappingProxyType({})

# The value types below are NamedTuples: they are defined on every cold start, and a
# frozen dataclass costs ~7x more to define (it compiles its generated methods).


class FormatConfig(NamedTuple):
    """The options every device type shares (OpenBao's ``FormatterConfig`` + prefix)."""

    raw: bool = False
    hmac_accessor: bool = True
    elide_list_responses: bool = False
    prefix: str = ""


class Caller(NamedTuple):
    """The ``auth`` section: who made the request (empty for no or an invalid token)."""

    client_token: str = ""
    accessor: str = ""
    display_name: str = ""
    policies: tuple[str, ...] = ()
    metadata: Mapping[str, str] | None = None
    entity_id: str = ""
    # The entity's and its groups' policies, added at request time (chalicelib.identity).
    identity_policies: tuple[str, ...] = ()
    token_type: str = "default"  # noqa: S105 - Vault's name for "no token", not a secret
    token_ttl: int = 0
    issue_time: str = ""
    remaining_uses: int = 0
    policy_results: Mapping[str, Any] | None = None


class Mount(NamedTuple):
    point: str
    type: str
    accessor: str
    mount_class: str


class Subject(NamedTuple):
    """One request as the audit log sees it, before any device hashes it."""

    id: str
    operation: str
    path: str
    data: Mapping[str, Any] = _NO_DATA
    client_token: str = ""
    client_token_accessor: str = ""
    remote_address: str = ""
    wrap_ttl: int = 0
    mount: Mount | None = None
    caller: Caller = Caller()
    non_hmac_request_keys: tuple[str, ...] = ()
    non_hmac_response_keys: tuple[str, ...] = ()


class Outcome(NamedTuple):
    """What the client got, in the shape of Vault's logical.Response."""

    data: Mapping[str, Any] | None = None
    auth: Mapping[str, Any] | None = None
    wrap_info: Mapping[str, Any] | None = None
    lease_id: str = ""
    warnings: tuple[str, ...] = ()
    error: str = ""


def _present(entries: dict[str, Any]) -> dict[str, Any]:
    """Go's ``omitempty`` for struct fields: "", 0, False, None and empty maps/lists go."""
    return {k: v for k, v in entries.items() if v not in ("", 0, None, False, {}, [], ())}


class _Hashing:
    """How one device treats sensitive values: HMAC'd, or raw with ``log_raw``."""

    def __init__(self, config: FormatConfig, salt: str) -> None:
        self.config = config
        self._fn: HashFn | None = None if config.raw else hasher(salt)

    def secret(self, value: str) -> str:
        return self._fn(value) if self._fn and value else value

    def accessor(self, value: str) -> str:
        return self.secret(value) if self.config.hmac_accessor else value

    def data(self, data: Mapping[str, Any] | None, skip: tuple[str, ...]) -> Any:
        if not data:
            return None
        return hash_data(data, self._fn, skip) if self._fn else sorted_copy(data)


def _auth(caller: Caller, h: _Hashing) -> dict[str, Any]:
    entry = _present({
        "client_token": h.secret(caller.client_token),
        "accessor": h.accessor(caller.accessor),
        "display_name": caller.display_name,
        "policies": sorted({*caller.policies, *caller.identity_policies}),
        "token_policies": list(caller.policies),
        "identity_policies": list(caller.identity_policies),
    })
    if caller.policy_results is not None:
        entry["policy_results"] = dict(caller.policy_results)
    return {**entry, **_present({
        "metadata": dict(caller.metadata or {}),
        "remaining_uses": caller.remaining_uses,
        "entity_id": caller.entity_id,
        "token_type": caller.token_type,
        "token_ttl": caller.token_ttl,
        "token_issue_time": caller.issue_time,
    })}


def _request(subject: Subject, h: _Hashing, *, with_accessor: bool) -> dict[str, Any]:
    mount = subject.mount
    return _present({
        "id": subject.id,
        "operation": subject.operation,
        "mount_point": mount.point if mount else "",
        "mount_type": mount.type if mount else "",
        "mount_accessor": mount.accessor if mount and with_accessor else "",
        "mount_class": mount.mount_class if mount else "",
        "client_token": h.secret(subject.client_token),
        "client_token_accessor": h.accessor(subject.client_token_accessor),
        "namespace": dict(ROOT_NAMESPACE),
        "path": subject.path,
        "data": h.data(subject.data, subject.non_hmac_request_keys),
        "remote_address": subject.remote_address,
        "wrap_ttl": subject.wrap_ttl,
    })


def request_entry(
    subject: Subject, config: FormatConfig, salt: str, *, error: str = "", at: int | None = None
) -> dict[str, Any]:
    """The ``type: request`` record, of the request as it was ``at`` (Unix ns, now by
    default) before the operation ran: written then, or with the response record."""
    h = _Hashing(config, salt)
    # OpenBao learns the mount accessor while routing, which only writes do before the
    # request record (their existence check): reads, lists and deletes log it without.
    with_accessor = subject.operation in ("create", "update")
    return _present({
        "time": rfc3339(now_ns() if at is None else at),
        "type": "request",
        "auth": _auth(subject.caller, h),
        "request": _request(subject, h, with_accessor=with_accessor),
        "error": error,
    })


def response_entry(
    subject: Subject, outcome: Outcome, config: FormatConfig, salt: str, *, routed: bool = True
) -> dict[str, Any]:
    """The ``type: response`` record, written after the operation, before the client sees it.

    ``routed`` is False for a request refused before routing (token, ACL): OpenBao never
    learnt its mount accessor then.
    """
    h = _Hashing(config, salt)
    data = outcome.data
    if data and config.elide_list_responses and subject.operation == "list":
        data = elide_list(data)
    mount = subject.mount
    response = _present({
        "auth": _response_auth(outcome.auth, h) if outcome.auth else None,
        "mount_point": mount.point if mount else "",
        "mount_type": mount.type if mount else "",
        "mount_accessor": mount.accessor if mount and routed else "",
        "mount_class": mount.mount_class if mount else "",
        "secret": {"lease_id": outcome.lease_id} if outcome.lease_id else None,
        "data": h.data(data, subject.non_hmac_response_keys),
        "warnings": list(outcome.warnings),
        "wrap_info": _wrap_info(outcome.wrap_info, h) if outcome.wrap_info else None,
    })
    return _present({
        "time": rfc3339(now_ns()),
        "type": "response",
        "auth": _auth(subject.caller, h),
        "request": _request(subject, h, with_accessor=routed),
        "response": response,
        "error": outcome.error,
    })


def _response_auth(auth: Mapping[str, Any], h: _Hashing) -> dict[str, Any]:
    """A token handed out by the response (the envelope's ``auth``), HMAC'd as OpenBao."""
    return _present({
        "client_token": h.secret(str(auth.get("client_token") or "")),
        "accessor": h.accessor(str(auth.get("accessor") or "")),
        "display_name": auth.get("display_name", ""),
        "policies": list(auth.get("policies") or ()),
        "token_policies": list(auth.get("token_policies") or ()),
        "identity_policies": list(auth.get("identity_policies") or ()),
        "metadata": dict(auth.get("metadata") or {}),
        "num_uses": auth.get("num_uses", 0),
        "entity_id": auth.get("entity_id", ""),
        "token_type": auth.get("token_type", ""),
        "token_ttl": auth.get("lease_duration", 0),
    })


def _wrap_info(info: Mapping[str, Any], h: _Hashing) -> dict[str, Any]:
    return _present({
        "ttl": info.get("ttl", 0),
        "token": h.secret(str(info.get("token") or "")),
        "accessor": h.accessor(str(info.get("accessor") or "")),
        "creation_time": info.get("creation_time", ""),
        "creation_path": info.get("creation_path", ""),
        "wrapped_accessor": h.accessor(str(info.get("wrapped_accessor") or "")),
    })


# Go's encoder escapes these for HTML safety; doing the same keeps lines byte-compatible.
_GO_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028",
               "\u2029": "\\u2029"}


def to_json(entry: Mapping[str, Any]) -> str:
    """One record as one compact JSON line (no newline), as Go's ``json.Encoder`` writes it."""
    text = jsonio.dumps(entry)
    for char, escaped in _GO_ESCAPES.items():
        if char in text:
            text = text.replace(char, escaped)
    return text


def probe_entry(request_id: str) -> dict[str, Any]:
    """The test message OpenBao writes to a device being enabled (unless ``skip_test``)."""
    return {
        "time": rfc3339(now_ns()),
        "type": "request",
        "auth": {"token_type": "default"},
        "request": {"id": request_id, "operation": "update",
                    "namespace": dict(ROOT_NAMESPACE), "path": "sys/audit/test"},
    }
