"""The database secrets engine: dynamic users with leases, static roles rotated on a
schedule, and root credential rotation, through plugins (plugins/).

Layout of the mount's view: config/<name>, role/<name>, static-role/<name>.
"""

from __future__ import annotations

from chalicelib.engines.database import path_config, path_creds, path_roles, path_static
from chalicelib.engines.database.secret import CREDS
from chalicelib.framework import Backend


def backend() -> Backend:
    """The registry's factory for type "database"."""
    return Backend(
        type_name="database",
        description="database credentials: dynamic users, static roles, root rotation",
        paths=[
            *path_config.paths(), *path_roles.paths(), *path_static.paths(),
            *path_creds.paths(),
        ],
        secrets=(CREDS,),
    )
