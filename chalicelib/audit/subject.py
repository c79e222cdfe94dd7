"""What the audit log records about a request and its answer, read off pipeline objects."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from chalicelib.audit.record import Caller, Mount, Outcome, Subject
from chalicelib.core.errors import multierror
from chalicelib.tokens.clock import NANOS, rfc3339
from chalicelib.tokens.entry import REVOCATION_PENDING

if TYPE_CHECKING:
    from chalicelib.core.mounts import MountEntry
    from chalicelib.core.request import HttpReply, Request
    from chalicelib.core.runtime import Runtime
    from chalicelib.tokens.entry import TokenEntry

# The plaintext ``error`` of a failed response record: OpenBao's generic error for the
# status, never the handler's message (that goes, HMAC'd, into ``response.data.error``).
_GENERIC_ERRORS = {
    400: "invalid request",
    403: "permission denied",
    404: "unsupported path",
    405: "unsupported operation",
    429: "rate limit quota exceeded",
}


def subject_of(rt: Runtime, request: Request, *, authorized: bool) -> Subject:
    """The request as audited; ``authorized`` when it passed the token and ACL checks."""
    token, mount = request.token, request.mount
    config = mount.config if mount else None
    return Subject(
        id=request.request_id,
        operation=request.operation.value,
        path=request.path,
        data=dict(request.data),  # handlers may change theirs before the response record
        client_token=request.client_token,
        client_token_accessor=token.accessor if token else "",
        remote_address=request.remote_address,
        wrap_ttl=request.wrap_ttl or 0,
        mount=_mount(mount) if mount else None,
        caller=_caller(rt, request, token, authorized) if token else Caller(),
        non_hmac_request_keys=config.audit_non_hmac_request_keys if config else (),
        non_hmac_response_keys=config.audit_non_hmac_response_keys if config else (),
    )


def _mount(entry: MountEntry) -> Mount:
    kind = "auth" if entry.table == "auth" else "secret"
    return Mount(entry.router_path, entry.type, entry.accessor, kind)


def _caller(rt: Runtime, request: Request, token: TokenEntry, authorized: bool) -> Caller:
    return Caller(
        client_token=request.client_token,
        accessor=token.accessor,
        display_name=token.display_name,
        policies=token.policies,
        metadata=token.meta,
        entity_id=token.entity_id,
        identity_policies=request.identity.policies if request.identity else (),
        token_type=token.type,
        token_ttl=token.ttl,
        issue_time=rfc3339(token.creation_time * NANOS) if token.creation_time else "",
        remaining_uses=_remaining_uses(request, token),
        policy_results=_policy_results(rt, request, token) if authorized else None,
    )


def _remaining_uses(request: Request, token: TokenEntry) -> int:
    """Uses left when the request arrived (Vault logs them before spending this one)."""
    from chalicelib.core import wrapping

    if token.num_uses == REVOCATION_PENDING:
        return 1
    if token.num_uses > 0 and not wrapping.unwraps_itself(request):
        return token.num_uses + 1  # the pipeline already spent this request's use
    return token.num_uses


def _policy_results(rt: Runtime, request: Request, token: TokenEntry) -> dict[str, Any]:
    """``{"allowed": true}`` plus, for an ACL decision, the policies that granted it."""
    from chalicelib.core import authz
    from chalicelib.engines.registry import backend_of

    assert request.mount is not None
    if backend_of(request.mount).is_unauthenticated(request.relative_path):
        return {"allowed": True}
    if token.is_root:
        names: tuple[str, ...] = ("root",)
    else:
        verdict = authz.acl_for(rt, token, request.identity).authorize(
            request.operation, request.path, request.data, wrap_ttl=request.wrap_ttl
        )
        names = verdict.granting_policies
    granting = [{"name": name, "namespace_id": "root", "type": "acl"} for name in names]
    return {"allowed": True, "granting_policies": granting} if granting else {"allowed": True}


def request_error(reply: HttpReply) -> str:
    """The error of a request record written after the fact (a refused token or ACL)."""
    return "permission denied" if reply.status == 403 else ""


def outcome_of(reply: HttpReply) -> Outcome:
    """The client's answer in the shape of Vault's logical.Response."""
    body = reply.body
    if not isinstance(body, Mapping):
        return Outcome()
    if set(body) == {"errors"}:
        messages = [str(message) for message in body["errors"] or ()]
        if not messages:
            return Outcome()  # a read that found nothing: no error, as Vault
        generic = _GENERIC_ERRORS.get(reply.status)
        if generic is None:
            generic = "internal error" if reply.status >= 500 else "invalid request"
        return Outcome(data={"error": "\n".join(messages)}, error=multierror(generic))
    if "request_id" not in body and "wrap_info" not in body:
        return Outcome(data=body)  # a raw body (seal status and the like)
    return Outcome(
        data=body.get("data"),
        auth=body.get("auth"),
        wrap_info=body.get("wrap_info"),
        lease_id=str(body.get("lease_id") or ""),
        warnings=tuple(body.get("warnings") or ()),
    )
