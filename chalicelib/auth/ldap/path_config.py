"""config: read and write the directory settings."""

from __future__ import annotations

from chalicelib.auth.ldap.config import CONFIG_FIELDS, load, save, updated
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.framework import FieldData, Path
from chalicelib.framework.storage import view_of


def path_config_read(request: Request, data: FieldData) -> Response:
    config = load(view_of(request))
    return Response(data=config.to_api(), warnings=config.warnings())


def path_config_write(request: Request, data: FieldData) -> Response | None:
    view = view_of(request)
    config = updated(load(view), data)
    save(view, config)
    warnings = config.warnings()
    return Response(warnings=warnings) if warnings else None


def paths() -> list[Path]:
    return [
        Path(
            "config",
            {Operation.READ: path_config_read, Operation.UPDATE: path_config_write},
            CONFIG_FIELDS,
        )
    ]
