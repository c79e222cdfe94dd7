"""Placeholder: the OTP secret type is filled in by the OTP work."""

from __future__ import annotations

from chalicelib.leases.secret import SecretType

SECRETS: tuple[SecretType, ...] = ()
