"""The engine's LIST answers: one folder of the mount's view, paged as Vault pages."""

from __future__ import annotations

from chalicelib.core.request import Request, Response
from chalicelib.framework import FieldData
from chalicelib.framework.storage import page, view_of


def listed(request: Request, data: FieldData, prefix: str) -> Response | None:
    keys = page(view_of(request).list(prefix), data["after"], data["limit"])
    return Response(data={"keys": keys}) if keys else None  # none: 404, as every LIST
