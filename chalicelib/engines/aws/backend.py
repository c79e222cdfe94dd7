"""The aws secrets engine: IAM users and STS credentials on demand, each with a lease.

Layout of the mount's view: config/root, config/lease, role/<name> (see config.py and
role.py). Credentials are never stored: only the lease (kept by the lease manager) knows
the IAM user it must delete.
"""

from __future__ import annotations

from chalicelib.engines.aws import path_config, path_creds, path_roles
from chalicelib.engines.aws.secret import ACCESS_KEYS
from chalicelib.framework import Backend


def backend() -> Backend:
    """The registry's factory for type "aws"."""
    return Backend(
        type_name="aws",
        description="dynamic AWS credentials: IAM users and STS tokens",
        paths=[*path_config.paths(), *path_roles.paths(), *path_creds.paths()],
        secrets=(ACCESS_KEYS,),
    )
