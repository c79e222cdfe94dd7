"""Where the pipeline meets the audit log: a request record before, a response record after.

As Vault: the request record of an operation that may change something is written once the
token and the ACL have admitted the request and before it is routed; if no enabled device
takes it, the request is refused with a 500 ("internal error") and never performed. An
operation that only answers (the pipeline decides, from declarations, before it runs) has
its request record written together with its response record, after it: one Firehose call
instead of two, and still nothing of the answer leaves unless a device took both. The
response record is written before the client sees the answer; if no device takes it, the
client gets a 500 instead (the operation already happened, as in Vault). A request refused
earlier (bad token, ACL) is logged after the fact: a request record carrying the error and
the response record, together. Unaudited, as in Vault: sys/init, sys/seal-status,
sys/unseal, sys/leader, sys/health, and everything while sealed.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, NamedTuple

from chalicelib.audit.broker import broker_for, forget
from chalicelib.audit.record import Subject, request_entry, response_entry
from chalicelib.audit.subject import outcome_of, request_error, subject_of
from chalicelib.core.errors import InternalError
from chalicelib.core.render import render_error
from chalicelib.core.runtime import Runtime, runtime
from chalicelib.observability import logger
from chalicelib.tokens.clock import now_ns

if TYPE_CHECKING:
    from chalicelib.audit.devices import Device
    from chalicelib.core.request import HttpReply, Request

NOT_AUDITED = frozenset({"sys/init", "sys/seal-status", "sys/unseal", "sys/leader", "sys/health"})


# A NamedTuple: defined on every cold start, where a frozen dataclass costs ~7x more.
class _Trail(NamedTuple):
    """This request reached the point of its request record; what became of it."""

    request_id: str
    subject: Subject | None = None  # as logged; None if no device was enabled then
    refused: bool = False  # no device took it: the request was refused
    admitted: int | None = None  # Unix ns: a request record to write with the response


_CURRENT: ContextVar[_Trail | None] = ContextVar("audit_trail", default=None)


def _devices(rt: Runtime, request: Request) -> list[Device]:
    if rt.sealed:
        forget(rt)
        return []
    if not rt.initialized or request.path.rstrip("/") in NOT_AUDITED:
        return []
    return broker_for(rt).current(rt)


def log_request(rt: Runtime, request: Request, *, changes: bool = True) -> None:
    """Before the operation: the request record, or InternalError when no device took it;
    for an operation that ``changes`` nothing, the record waits for the response record."""
    devices = _devices(rt, request)
    if not devices:
        _CURRENT.set(_Trail(request.request_id))
        return
    subject = subject_of(rt, request, authorized=True)
    if not changes:
        _CURRENT.set(_Trail(request.request_id, subject, admitted=now_ns()))
        return
    _send_request(rt, request.request_id, subject, devices)


def log_waiting_request(rt: Runtime, request: Request) -> None:
    """Before the first storage write of an operation whose request record was waiting for
    its response record (its path declares that it changes nothing, wrongly): the request
    record now, so the change still follows it; InternalError when no device took it."""
    trail = _CURRENT.get()
    if trail is None or trail.admitted is None or trail.request_id != request.request_id:
        return
    _send_request(rt, request.request_id, trail.subject, _devices(rt, request), trail.admitted)


def _send_request(
    rt: Runtime,
    request_id: str,
    subject: Subject | None,
    devices: list[Device],
    admitted: int | None = None,
) -> None:
    if subject is None or not devices:
        _CURRENT.set(_Trail(request_id, subject))
        return
    accepted = broker_for(rt).log(
        "request",
        lambda d: (request_entry(subject, d.config, d.entry.salt, at=admitted),),
        devices,
    )
    _CURRENT.set(_Trail(request_id, subject, refused=not accepted))
    if not accepted:
        raise InternalError()


def log_response(request: Request, reply: HttpReply) -> HttpReply:
    """After the operation: the response record; the reply, or a 500 if no device took it."""
    try:
        return reply if _log_response(request, reply) else render_error(InternalError())
    except Exception:
        logger.exception("audit of a response failed", extra={"path": request.path})
        return render_error(InternalError())
    finally:
        _CURRENT.set(None)


def _log_response(request: Request, reply: HttpReply) -> bool:
    trail = _CURRENT.get()
    if trail is not None and trail.request_id != request.request_id:
        trail = None
    if trail is not None and trail.refused:
        return True  # refused for want of a request record: that 500 stands
    rt = runtime()
    devices = _devices(rt, request)
    if not devices:
        return True
    outcome, routed = outcome_of(reply), trail is not None
    if trail is not None:
        # No device was enabled at the request record (this request may have enabled one).
        subject = trail.subject or subject_of(rt, request, authorized=True)
        error, admitted, with_request = "", trail.admitted, trail.admitted is not None
    else:
        subject = subject_of(rt, request, authorized=False)
        error, admitted, with_request = request_error(reply), None, True

    def records_for(device: Device) -> tuple[dict[str, Any], ...]:
        config, salt = device.config, device.entry.salt
        response = response_entry(subject, outcome, config, salt, routed=routed)
        if not with_request:
            return (response,)
        return request_entry(subject, config, salt, error=error, at=admitted), response

    kind = "request and response" if with_request else "response"
    return broker_for(rt).log(kind, records_for, devices)
