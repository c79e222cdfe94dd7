"""What backend.py registers for a certificate's life after issuance: revocation, CRLs,
OCSP, config/urls, tidy and the "pki" lease type. Listed before the issuance paths, so
that `cert/crl` and `cert/delta-crl` win over `cert/<serial>`."""

from __future__ import annotations

from chalicelib.engines.pki import ocsp, path_crl, path_revoke, path_tidy, urls
from chalicelib.engines.pki.secret import CERTS
from chalicelib.framework import Path

# OpenBao's PathsSpecial entries for these paths.
UNAUTHENTICATED = (
    "crl", "crl/pem", "crl/delta", "crl/delta/pem",
    "issuer/+/crl", "issuer/+/crl/der", "issuer/+/crl/pem",
    "issuer/+/crl/delta", "issuer/+/crl/delta/der", "issuer/+/crl/delta/pem",
    *ocsp.UNAUTHENTICATED,
)
SECRETS = (CERTS,)


def paths() -> list[Path]:
    return [*path_crl.paths(), *path_revoke.paths(), *ocsp.paths(), *urls.paths(),
            *path_tidy.paths()]
