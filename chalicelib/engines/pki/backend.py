"""The pki secrets engine, phase 1: the certificate authority core (issuers, keys, roles,
issuance and signing, stored certificates). Storage layout: see storage.py."""

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

# OpenBao's PathsSpecial for these paths (its CRL, OCSP and ACME entries come with them);
# its "issuer/+/pem|der|json" (one segment wildcard) is checked by PkiBackend below.
UNAUTHENTICATED = ("cert/*", "ca/pem", "ca_chain", "ca", "issuers/")
_ISSUER_FETCHES = ("pem", "der", "json")


class PkiBackend(Backend):
    """The framework's backend, plus OpenBao's ``+`` wildcard for the issuer fetches."""

    def is_unauthenticated(self, relative_path: str) -> bool:
        parts = relative_path.split("/")
        if len(parts) == 3 and parts[0] == "issuer" and parts[2] in _ISSUER_FETCHES:
            return True
        return super().is_unauthenticated(relative_path)


def backend() -> Backend:
    """The registry's factory for type "pki"."""
    return PkiBackend(
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
