"""sys/internal/ui/*: what the UI and the CLI's preflight checks ask about mounts and the ACL.

``mounts`` and ``mounts/:path`` are unauthenticated routes (a login page lists mounts), so
the handlers themselves decide what a caller with, without or with a bad token may see.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any

from chalicelib.core import authz
from chalicelib.core.errors import PermissionDenied
from chalicelib.core.mounts import MountEntry
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.core.runtime import runtime
from chalicelib.framework import FieldData, Path
from chalicelib.tokens.clock import NANOS

if TYPE_CHECKING:
    from chalicelib.policy import ACL, Capability
    from chalicelib.policy.model import ParameterMap
    from chalicelib.policy.permissions import Permissions


@cache
def _ui_capability_order() -> tuple[Capability, ...]:
    """The order OpenBao lists a rule's capabilities in resultant-acl (not alphabetical).

    Built on first use: the policy engine is imported only by requests that need an ACL.
    """
    from chalicelib.policy import Capability

    return (
        Capability.CREATE,
        Capability.DELETE,
        Capability.LIST,
        Capability.READ,
        Capability.SUDO,
        Capability.UPDATE,
        Capability.PATCH,
        Capability.SCAN,
    )


def _public_entry(entry: MountEntry) -> dict[str, Any]:
    """Unauthenticated callers see only what a login page needs."""
    return {"description": entry.description, "options": entry.options, "type": entry.type}


def caller_acl(request: Request) -> ACL | None:
    """The caller's ACL, None without a token; a token that is not valid is refused."""
    if request.token is None:
        if request.client_token:
            raise PermissionDenied()
        return None
    rt = runtime()
    return authz.acl_for(rt, request.token, authz.identity_of(rt, request.token))


def visibility(acl: ACL | None) -> Callable[[MountEntry], bool]:
    """OpenBao's listing rule: ``unauth`` mounts for all, others where the ACL reaches."""

    def visible(entry: MountEntry) -> bool:
        if entry.config.listing_visibility == "unauth":
            return True
        return acl is not None and acl.has_mount_access(entry.router_path)

    return visible


def _list(request: Request, data: FieldData) -> Response:
    """GET sys/internal/ui/mounts: the mounts this caller may know about."""
    acl = caller_acl(request)
    visible = visibility(acl)
    # OpenBao's mountInfo shows the mount's own config (0 = system default), as sys/mounts.
    view = MountEntry.to_api if acl is not None else _public_entry
    tables = runtime().tables
    listing = {
        name: {entry.path: view(entry) for entry in tables[table].entries if visible(entry)}
        for name, table in (("secret", "mounts"), ("auth", "auth"))
    }
    return Response(data=listing)


def _sanitize(path: str) -> str:
    """Vault's ``sanitizePath``: a trailing slash, no leading ones."""
    return path.lstrip("/") if path.endswith("/") else path.lstrip("/") + "/"


def _read(request: Request, data: FieldData) -> Response:
    """GET sys/internal/ui/mounts/:path: the mount serving a path (the CLI's kv preflight).

    A path the token cannot reach and a path no mount serves get the same 403, so this
    cannot be used to discover which mounts exist.
    """
    acl = caller_acl(request)
    if acl is None:
        raise PermissionDenied()
    path = _sanitize(data["path"])
    rt = runtime()
    entry = rt.auth.longest_prefix(path) or rt.mounts.longest_prefix(path)
    if entry is None or not acl.has_mount_access(entry.router_path):
        raise PermissionDenied(
            "preflight capability check returned 403, please ensure client's policies grant "
            f"access to path {json.dumps(path, ensure_ascii=False)}"
        )
    return Response(data={**entry.to_api(), "path": entry.path})


def _rule_view(perms: Permissions) -> dict[str, Any]:
    """One path rule as resultant-acl shows it: capabilities, then only the set limits."""
    from chalicelib.policy import Capability

    bits = perms.capabilities
    names = [c.name.lower() for c in _ui_capability_order() if bits & c and c.name]
    view: dict[str, Any] = {
        "capabilities": ["deny"] if bits & Capability.DENY or not names else names
    }
    for name, value in (
        ("min_wrapping_ttl", perms.min_wrapping_ttl_ns // NANOS),
        ("max_wrapping_ttl", perms.max_wrapping_ttl_ns // NANOS),
        ("allowed_parameters", _parameters(perms.allowed_parameters)),
        ("denied_parameters", _parameters(perms.denied_parameters)),
        ("required_parameters", list(perms.required_parameters)),
    ):
        if value:
            view[name] = value
    return view


def _parameters(parameters: ParameterMap | None) -> dict[str, list[Any]] | None:
    return {key: list(values) for key, values in parameters.items()} if parameters else None


def _rule_tables(acl: ACL) -> tuple[dict[str, Permissions], dict[str, Permissions]]:
    """The compiled exact and glob rules (OpenBao's ``ExactRules`` / ``PrefixRules``).

    The ACL exposes no iterator over its tables, and merging the policies again here would
    duplicate the compiler, so the cached ACL's own tables are read. Rules with ``+``
    segments live apart and, as in OpenBao, are not shown.
    """
    return dict(acl._exact), dict(acl._prefix)


def _resultant_acl(request: Request, data: FieldData) -> Response:
    """GET sys/internal/ui/resultant-acl: the caller's merged ACL, for the UI."""
    assert request.token is not None
    acl = authz.acl_for(runtime(), request.token, request.identity)
    if acl.is_root:
        return Response(data={"root": True})
    exact, glob = _rule_tables(acl)
    return Response(
        data={
            "exact_paths": {path: _rule_view(perms) for path, perms in exact.items()},
            "glob_paths": {path: _rule_view(perms) for path, perms in glob.items()},
            "root": False,
        }
    )


def paths() -> list[Path]:
    return [
        Path(
            "internal/ui/mounts",
            {Operation.READ: _list},
            synopsis="List the mounts the caller may see.",
        ),
        Path(
            "internal/ui/mounts/{path:path}",
            {Operation.READ: _read},
            synopsis="Read the mount serving a path (the CLI's preflight check).",
        ),
        Path(
            "internal/ui/resultant-acl",
            {Operation.READ: _resultant_acl},
            synopsis="Read the caller's ACL: every path rule of its policies combined.",
        ),
    ]
