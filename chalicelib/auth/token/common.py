"""What the token auth method's paths share: the stores, the mount's TTL limits, names."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from chalicelib.core.errors import BadRequest, NotFound, multierror
from chalicelib.core.request import Request
from chalicelib.core.runtime import runtime
from chalicelib.system.mount_config import effective_ttls
from chalicelib.tokens.context import token_store
from chalicelib.tokens.store import AccessorRecord, TokenStore
from chalicelib.tokens.ttl import TTLLimits

if TYPE_CHECKING:
    from chalicelib.tokens.roles import RoleStore

ROLE_NAME = "{role_name}"
# OpenBao's GenericNameRegex: other names do not route at all.
_ROLE_NAME = re.compile(r"\w(?:[\w.-]*\w)?", re.ASCII)


def store() -> TokenStore:
    return token_store(runtime())


def role_store() -> RoleStore:
    # Imported here: sys/capabilities* loads this module, and only role paths need roles.
    from chalicelib.tokens.roles import RoleStore

    return RoleStore(runtime().barrier)


def mount_limits(request: Request) -> TTLLimits:
    """The token mount's default and max lease TTL (its tune, else the system's)."""
    assert request.mount is not None
    default_ttl, max_ttl = effective_ttls(request.mount)
    return TTLLimits(default_ttl, max_ttl)


def check_role_name(name: str) -> None:
    if not _ROLE_NAME.fullmatch(name):
        raise NotFound(multierror("unsupported path"))


def accessor_record(tokens: TokenStore, accessor: str) -> AccessorRecord:
    """The index entry of an accessor, or OpenBao's 400 for a missing or unknown one."""
    if not accessor:
        raise BadRequest(multierror("missing accessor"))
    record = tokens.accessor_record(accessor)
    if record is None:
        raise BadRequest(multierror("invalid accessor"))
    return record
