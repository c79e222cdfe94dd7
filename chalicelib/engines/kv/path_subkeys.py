"""KV v2 `subkeys/:path`: a version's key structure with every value replaced by null."""

from __future__ import annotations

from typing import Any

from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.engines.kv import store
from chalicelib.engines.kv.path_data import prefetch_secret, version_response
from chalicelib.framework import Field, FieldData, FieldType, Path
from chalicelib.framework.jsonsecrets import is_storable
from chalicelib.framework.storage import view_of


def strip_values(value: Any, max_depth: int, depth: int = 1) -> Any:
    """Keys kept, leaves nulled (OpenBao's removeValues).

    A non-empty object is descended into while `depth` is within `max_depth` (0: no
    limit); anything else, and every object at the limit, becomes null, so no value can
    leak below the requested depth. A negative depth keeps only the top level, as OpenBao.
    """
    if not isinstance(value, dict):
        return None
    stripped: dict[str, Any] = {}
    for key, child in value.items():
        within = max_depth == 0 or depth + 1 <= max_depth
        if isinstance(child, dict) and child and within:
            stripped[key] = strip_values(child, max_depth, depth + 1)
        else:
            stripped[key] = None
    return stripped


def path_subkeys_read(request: Request, data: FieldData) -> Response | None:
    path = data["path"]
    if not is_storable(path):
        return None
    found = store.read_version(view_of(request), path, data["version"])
    if found is None:
        return None
    depth = data["depth"]
    return version_response(found, "subkeys", lambda secret: strip_values(secret, depth))


def paths() -> list[Path]:
    return [
        Path(
            "subkeys/{path:any}",
            {Operation.READ: path_subkeys_read},
            fields={
                "depth": Field(FieldType.INT, 0, "How deep to descend (0: no limit)."),
                "version": Field(FieldType.INT, 0, "The version to read (latest if 0)."),
            },
            prefetch=prefetch_secret,
            synopsis="Read the structure of a secret with the values removed.",
        )
    ]
