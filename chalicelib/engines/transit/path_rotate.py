"""keys/:name/rotate and keys/:name/trim: a new version, or forgetting old ones."""

from __future__ import annotations

from chalicelib.core.errors import BadRequest
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.engines.transit.path_keys import key_view
from chalicelib.engines.transit.policy import KeyPolicy
from chalicelib.engines.transit.store import KeyStore
from chalicelib.framework import Field, FieldData, FieldType, Path


def _rotate(policy: KeyPolicy) -> None:
    policy.rotate()


def path_rotate_write(request: Request, data: FieldData) -> Response:
    policy = KeyStore.of(request).update(data["name"], _rotate)
    if policy is None:
        raise BadRequest("key not found")
    return key_view(policy)


def _check_trim(policy: KeyPolicy, floor: int) -> None:
    """Vault's order of checks for min_available_version."""
    if floor < policy.min_available_version:
        raise BadRequest("minimum available version cannot be decremented")
    if policy.min_encryption_version == 0:
        raise BadRequest(
            "minimum available version cannot be set when minimum encryption version is not set"
        )
    if floor > policy.min_encryption_version:
        raise BadRequest(
            "minimum available version cannot be greater than minmum encryption version"
        )
    if floor > policy.min_decryption_version:
        raise BadRequest(
            "minimum available version cannot be greater than minimum decryption version"
        )
    if floor <= 0:
        raise BadRequest("minimum available version should be positive")


def path_trim_write(request: Request, data: FieldData) -> Response:
    if not data.is_set("min_available_version"):
        raise BadRequest("missing min_available_version")
    floor = data["min_available_version"]

    def trim(policy: KeyPolicy) -> None:
        _check_trim(policy, floor)
        policy.trim(floor)

    policy = KeyStore.of(request).update(data["name"], trim)
    if policy is None:
        raise BadRequest("invalid key name")
    return key_view(policy)


def paths() -> list[Path]:
    return [
        Path("keys/{name}/rotate", {Operation.UPDATE: path_rotate_write},
             synopsis="Rotate the named key."),
        Path(
            "keys/{name}/trim",
            {Operation.UPDATE: path_trim_write},
            fields={"min_available_version": Field(FieldType.INT, 0, "Oldest version kept.")},
            synopsis="Trim old versions of the named key.",
        ),
    ]
