"""tidy/secret-id: remove expired secret IDs and accessors left without one."""

from __future__ import annotations

from chalicelib.auth.approle.tidy import tidy_secret_ids
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response, tidy_started
from chalicelib.framework import FieldData, Path
from chalicelib.framework.storage import view_of


def path_tidy_secret_id(request: Request, data: FieldData) -> Response:
    """OpenBao starts the tidy in the background and answers 202; ours finishes within the
    request, then answers the same."""
    tidy_secret_ids(view_of(request))
    return tidy_started()


def paths() -> list[Path]:
    return [
        Path(
            "tidy/secret-id",
            {Operation.UPDATE: path_tidy_secret_id},
            synopsis="Remove expired secret IDs and their accessors.",
        )
    ]
