"""The system backend mounted at sys/, declared with the same framework as engines."""

from __future__ import annotations

from chalicelib.framework import Backend
from chalicelib.system import (
    path_internal_ui,
    path_mounts,
    path_policy,
    path_remount,
    path_seal,
)


def backend() -> Backend:
    return Backend(
        type_name="system",
        description="system endpoints used for control, policy and debugging",
        paths=[
            *path_seal.paths(),
            *path_mounts.paths(),
            *path_remount.paths(),
            *path_internal_ui.paths(),
            *path_policy.paths(),
        ],
        unauthenticated=(*path_seal.UNAUTHENTICATED, "internal/ui/mounts", "internal/ui/mounts/*"),
        sudo=(*path_seal.SUDO, "remount", "auth/*", "mounts/*"),
    )
