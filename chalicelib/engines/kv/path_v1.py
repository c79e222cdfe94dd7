"""KV version 1: unversioned secrets read, written, deleted and listed at any path."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from chalicelib.core.mounts import MountEntry
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.engines.kv.layout import V1_PREFIX, v1_key
from chalicelib.framework import FieldData, Path, jsonsecrets
from chalicelib.framework.fieldtypes import FieldError, parse_duration
from chalicelib.framework.jsonsecrets import is_storable
from chalicelib.framework.storage import view_of
from chalicelib.system.mount_config import effective_ttls


def lease_hint(secret: Mapping[str, Any], mount: MountEntry | None) -> int:
    """The lease_duration a read shows: the secret's `ttl` (or `lease`) key, if it parses.

    Only a hint to the reader, as in Vault: no lease is created and nothing expires.
    Otherwise the mount's default lease TTL. A `ttl` that does not parse does not fall
    back to `lease`, and is not capped by the max TTL (both as OpenBao).
    """
    default = effective_ttls(mount)[0] if mount is not None else 0
    raw = secret["ttl"] if "ttl" in secret else secret.get("lease")
    # Go's duration parser takes integers and duration strings, never JSON fractions.
    if raw is None or isinstance(raw, bool | float):
        return default
    try:
        return parse_duration(raw)
    except FieldError:
        return default


def path_v1_read(request: Request, data: FieldData) -> Response | None:
    secret = jsonsecrets.read_secret(view_of(request), V1_PREFIX, data["path"])
    if secret is None:
        return None
    return Response(data=secret, lease_duration=lease_hint(secret, request.mount))


def path_v1_write(request: Request, data: FieldData) -> None:
    # The request body is the secret (the path capture is not part of it).
    jsonsecrets.write_secret(view_of(request), V1_PREFIX, data["path"], request.data)


def path_v1_delete(request: Request, data: FieldData) -> None:
    jsonsecrets.delete_secret(view_of(request), V1_PREFIX, data["path"])


def path_v1_list(request: Request, data: FieldData) -> Response | None:
    return jsonsecrets.list_secrets(view_of(request), V1_PREFIX, data["path"])


def v1_exists(request: Request, data: FieldData) -> bool:
    return jsonsecrets.secret_exists(view_of(request), V1_PREFIX, data["path"])


def prefetch_v1(captures: Mapping[str, str]) -> Sequence[str]:
    path = captures.get("path", "")
    return [v1_key(path)] if is_storable(path) else []


def paths() -> list[Path]:
    return [
        Path(
            "{path:any}",
            {
                Operation.READ: path_v1_read,
                Operation.CREATE: path_v1_write,
                Operation.UPDATE: path_v1_write,
                Operation.DELETE: path_v1_delete,
                Operation.LIST: path_v1_list,
            },
            exists=v1_exists,
            prefetch=prefetch_v1,
            synopsis="Pass-through secret storage: read/write arbitrary data.",
        )
    ]
