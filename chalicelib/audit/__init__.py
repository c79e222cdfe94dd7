"""Audit devices, Vault's JSON audit records, HMAC of secrets, and per-container hash chains.

The pipeline calls :func:`log_request` before routing a request and :func:`log_response`
on its way out (an operation that changes nothing has both records written then, in one
write); sys/audit* manage the devices (``chalicelib.system.path_audit``) and
``lambdavault audit verify`` checks what they wrote (:mod:`chalicelib.audit.verify`).
"""

from chalicelib.audit.trail import log_request, log_response, log_waiting_request

__all__ = ["log_request", "log_response", "log_waiting_request"]
