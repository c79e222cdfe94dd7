"""The identity secrets engine, mounted once at identity/ (OpenBao's identity store API).

None of its paths has an existence check: as in OpenBao, every POST is an ACL update.
"""

from __future__ import annotations

from chalicelib.engines.identity import (
    path_entity,
    path_entity_alias,
    path_group,
    path_group_alias,
    path_lookup,
    path_merge,
)
from chalicelib.framework import Backend


def backend() -> Backend:
    return Backend(
        type_name="identity",
        description="identity store",
        paths=[
            *path_entity.paths(),
            *path_merge.paths(),
            *path_entity_alias.paths(),
            *path_group.paths(),
            *path_group_alias.paths(),
            *path_lookup.paths(),
        ],
    )
