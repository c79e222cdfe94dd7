"""cache-config: the size Vault's key cache would have.

Our cache lives in each container and is validated by the cluster-state generation; the
size is stored and reported for clients that manage it, and bounds nothing else.
"""

from __future__ import annotations

from chalicelib.core.errors import BadRequest
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.engines.transit.store import CACHE_CONFIG_KEY, KeyStore
from chalicelib.framework import Field, FieldData, FieldType, Path

MIN_CACHE_SIZE = 10


def path_cache_config_read(request: Request, data: FieldData) -> Response:
    stored = KeyStore.of(request).get_json(CACHE_CONFIG_KEY) or {}
    return Response(data={"size": stored.get("size", 0)})


def path_cache_config_write(request: Request, data: FieldData) -> Response:
    size = data["size"]
    if size < 0:
        raise BadRequest("cache size must be greater or equal to zero")
    if size != 0 and size < MIN_CACHE_SIZE:
        raise BadRequest(f"size must be 0 or a value greater or equal to {MIN_CACHE_SIZE}")
    KeyStore.of(request).put_json(CACHE_CONFIG_KEY, {"size": size})
    return Response(data={"size": size})


def paths() -> list[Path]:
    return [
        Path(
            "cache-config",
            {Operation.READ: path_cache_config_read, Operation.UPDATE: path_cache_config_write},
            fields={"size": Field(FieldType.INT, 0, "Cache size (0: unlimited).")},
            synopsis="Configure the key cache.",
        )
    ]
