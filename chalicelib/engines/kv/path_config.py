"""KV v2 `config`: the mount-wide max_versions, cas_required and delete_version_after."""

from __future__ import annotations

from chalicelib.core.errors import BadRequest
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.engines.kv import configs, store
from chalicelib.engines.kv.versioning import DVA_DISABLED
from chalicelib.framework import Field, FieldData, FieldType, Path
from chalicelib.framework.storage import view_of

_SETTINGS = ("max_versions", "cas_required", "metadata_cas_required", "delete_version_after")


def path_config_read(request: Request, data: FieldData) -> Response:
    return Response(data=store.read_config(view_of(request)).to_api())


def path_config_write(request: Request, data: FieldData) -> None:
    """Only the settings given change; nothing given writes nothing (204 either way)."""
    if not any(data.is_set(name) for name in _SETTINGS):
        return None
    if data.is_set("max_versions") and data["max_versions"] < 0:
        raise BadRequest("max_versions cannot be negative")
    view = view_of(request)
    config = store.read_config(view)
    for name in ("max_versions", "cas_required", "metadata_cas_required"):
        if data.is_set(name):
            setattr(config, name, data[name])
    if data.is_set("delete_version_after"):
        # OpenBao: negative switches the feature off for every secret, 0 clears it.
        config.delete_version_after = max(data["delete_version_after"], DVA_DISABLED)
    configs.store_config(view, config)
    return None


def paths() -> list[Path]:
    return [
        Path(
            "config",
            {Operation.READ: path_config_read, Operation.UPDATE: path_config_write},
            fields={
                "max_versions": Field(FieldType.INT, 0, "Versions to keep per secret (0: 10)."),
                "cas_required": Field(FieldType.BOOL, False, "Require cas on every write."),
                "metadata_cas_required": Field(
                    FieldType.BOOL, False, "Require metadata_cas on every metadata write."
                ),
                "delete_version_after": Field(
                    FieldType.DURATION, 0,
                    "Delete versions this long after their creation; negative disables.",
                ),
            },
            synopsis="Configures settings for the KV store",
        )
    ]
