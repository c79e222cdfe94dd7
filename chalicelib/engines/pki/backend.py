"""The pki secrets engine: a certificate authority (issuers, keys, roles, issuance and
signing, stored certificates), its certificates' life after issuance (lifecycle.py:
revocation, CRLs, OCSP, tidy, leases) and ACME (acme/). Storage layout: see storage.py."""

from __future__ import annotations

from chalicelib.engines.pki import (
    acme,
    fetch,
    lifecycle,
    path_intermediate,
    path_issue,
    path_issuers,
    path_keys,
    path_roles,
    path_root,
)
from chalicelib.framework import Backend

# OpenBao's PathsSpecial for these paths (its CRL, OCSP and ACME entries come with them).
UNAUTHENTICATED = (
    "cert/*", "ca/pem", "ca_chain", "ca", "issuer/+/pem", "issuer/+/der", "issuer/+/json",
    "issuers/",
)


def backend() -> Backend:
    """The registry's factory for type "pki"."""
    return Backend(
        type_name="pki",
        description="X.509 certificate authority: issuers, keys, roles and issuance",
        paths=[
            *lifecycle.paths(),
            *path_root.paths(), *path_intermediate.paths(), *path_issuers.paths(),
            *path_keys.paths(), *fetch.paths(), *path_roles.paths(), *path_issue.paths(),
            *acme.paths(),
        ],
        unauthenticated=(*UNAUTHENTICATED, *acme.UNAUTHENTICATED, *lifecycle.UNAUTHENTICATED),
        secrets=lifecycle.SECRETS,
        sudo=("root", "root/sign-self-issued"),
    )
