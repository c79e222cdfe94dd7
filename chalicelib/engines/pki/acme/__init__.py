"""ACME (RFC 8555) for the pki mount, as OpenBao serves it: every resource under the four
directory prefixes (``acme/``, ``roles/<role>/acme/``, ``issuer/<ref>/acme/`` and
``issuer/<ref>/roles/<role>/acme/``), ``config/acme``, ``config/cluster`` and the EAB
keys. State lives one item per object in the mount's storage (see state.py)."""

from __future__ import annotations

from chalicelib.engines.pki.acme import (
    config,
    path_account,
    path_authz,
    path_directory,
    path_eab,
    path_order,
    path_revoke,
)
from chalicelib.engines.pki.acme.context import unauthenticated_patterns
from chalicelib.framework import Path

__all__ = ["UNAUTHENTICATED", "paths"]

# OpenBao's PathsSpecial for ACME: every resource but new-eab, under each prefix.
UNAUTHENTICATED = unauthenticated_patterns([
    "directory", "new-nonce", "new-account", "new-order", "revoke-cert", "key-change",
    "account/+", "account/+/orders", "authorization/+", "challenge/+/+", "orders",
    "order/+", "order/+/finalize", "order/+/cert",
])


def paths() -> list[Path]:
    return [
        *config.paths(), *path_directory.paths(), *path_account.paths(),
        *path_order.paths(), *path_authz.paths(), *path_revoke.paths(), *path_eab.paths(),
    ]
