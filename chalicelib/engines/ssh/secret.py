"""The OTP secret type: revoking an OTP's lease deletes the OTP if still unused.

Vault's secret_otp_type has no renew callback, so these leases are not renewable. The
lease keeps only the OTP's salted id (Vault keeps the OTP itself), which is all a
revocation needs and useless to anyone who reads the lease.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.core.errors import VaultError
from chalicelib.engines.ssh.otp import delete_otp
from chalicelib.leases.secret import LeaseInfo, SecretType

if TYPE_CHECKING:
    from chalicelib.storage.view import StorageView

# Vault's name for the secret type (kept with every lease).
SECRET_OTP_TYPE = "secret_otp_type"  # noqa: S105 - a type name, not a secret
# The lease's internal data: the salted id of its OTP.
SALTED_OTP = "salted_otp"


def revoke_otp(view: StorageView, lease: LeaseInfo) -> None:
    salted = lease.internal.get(SALTED_OTP)
    if not isinstance(salted, str) or not salted:
        raise VaultError("secret is missing internal data")
    delete_otp(view, salted)


OTP = SecretType(name=SECRET_OTP_TYPE, revoke=revoke_otp)
SECRETS: tuple[SecretType, ...] = (OTP,)
