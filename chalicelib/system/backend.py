"""The system backend mounted at sys/, declared with the same framework as engines."""

from __future__ import annotations

from chalicelib.framework import Backend
from chalicelib.system import (
    path_audit,
    path_audit_query,
    path_capabilities,
    path_generate_root,
    path_internal_ui,
    path_leases,
    path_locked_users,
    path_mounts,
    path_openapi,
    path_password_policies,
    path_policy,
    path_quotas,
    path_remount,
    path_rotate,
    path_seal,
    path_tools,
    path_wrapping,
)

# OpenBao's sudo-protected ("root") paths of the system backend, verbatim from
# NewSystemBackend's PathsSpecial.Root (internal/vault/logical_system.go), including those
# of endpoints not served yet, so that they are protected the day they land. sys/mounts/*
# and sys/key-status are deliberately absent: OpenBao does not protect them.
OPENBAO_ROOT_PATHS = (
    "auth/*",
    "remount",
    "audit",
    "audit/*",
    "raw",
    "raw/*",
    "rotate",
    "rotate/keyring",
    "rotate/root",
    "config/cors",
    "config/auditing/*",
    "config/ui/headers/*",
    "plugins/catalog/*",
    "revoke-prefix/*",
    "revoke-force/*",
    "leases/revoke-prefix/*",
    "leases/revoke-force/*",
    "leases/lookup/*",
    "leases",
    "internal/inspect/*",
)
# OpenBao checks sys/seal in its HTTP layer instead (SealWithRequest requires root
# privileges), with the same multierror 403 as the router's check.
# sys/audit-query and sys/audit-verify read the audit log back: sudo like sys/audit.
SUDO = (*OPENBAO_ROOT_PATHS, "seal", *path_audit_query.SUDO)


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
            *path_password_policies.paths(),
            *path_capabilities.paths(),
            *path_wrapping.paths(),
            *path_audit.paths(),
            *path_leases.paths(),
            *path_locked_users.paths(),
            *path_tools.paths(),
            *path_generate_root.paths(),
            *path_rotate.paths(),
            *path_quotas.paths(),
            *path_openapi.paths(),
            *path_audit_query.paths(),
        ],
        unauthenticated=(
            *path_seal.UNAUTHENTICATED,
            "internal/ui/mounts",
            "internal/ui/mounts/*",
            *path_wrapping.UNAUTHENTICATED,
            *path_generate_root.UNAUTHENTICATED,
            *path_openapi.UNAUTHENTICATED,
        ),
        sudo=SUDO,
    )
