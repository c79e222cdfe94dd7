"""The help operation in the pipeline: who may ask, then the path's help.

As OpenBao, help needs a valid token except on a path its backend serves unauthenticated,
and the ACL allows it whatever the token's policies (help describes a path; it reads and
changes nothing). The request is audited like any other.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from chalicelib import audit
from chalicelib.core import authz, wrapping
from chalicelib.framework import pathhelp

if TYPE_CHECKING:
    from chalicelib.core.request import HttpReply, Request
    from chalicelib.core.runtime import Runtime
    from chalicelib.framework import Backend
    from chalicelib.storage.physical import Entry


def reply(
    rt: Runtime,
    request: Request,
    backend: Backend,
    credential: authz.Credential,
    values: Mapping[str, Entry],
    identity_keys: list[str],
) -> HttpReply:
    """The help for ``request`` once it is routed to ``backend``."""
    if not backend.is_unauthenticated(request.relative_path):
        request.token = authz.authenticate(rt, request, credential, values, identity_keys)
    audit.log_request(rt, request)
    return wrapping.respond(rt, request, pathhelp.respond(request, backend))
