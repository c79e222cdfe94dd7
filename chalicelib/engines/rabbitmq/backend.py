"""The rabbitmq secrets engine: RabbitMQ users on demand, each with a lease.

Layout of the mount's view: config/connection, config/lease, role/<name> (see config.py
and role.py). Credentials are never stored: only the lease (kept by the lease manager)
knows the user it must delete.
"""

from __future__ import annotations

from chalicelib.engines.rabbitmq import path_config, path_creds, path_roles
from chalicelib.engines.rabbitmq.secret import CREDS
from chalicelib.framework import Backend


def backend() -> Backend:
    """The registry's factory for type "rabbitmq"."""
    return Backend(
        type_name="rabbitmq",
        description="dynamic RabbitMQ users through the management HTTP API",
        paths=[*path_config.paths(), *path_roles.paths(), *path_creds.paths()],
        secrets=(CREDS,),
    )
