"""The ssh secrets engine: signed OpenSSH certificates (roles of key_type "ca") and
one-time passwords for hosts running vault-ssh-helper (key_type "otp").

Layout of the mount's view: roles/<name> (role.py), the CA key pairs ("issuers") and
config/issuers naming the default (ca.py), config/zeroaddress, and otp/<salted OTP>
for each OTP not yet used (otp.py).
"""

from __future__ import annotations

from chalicelib.engines.ssh import (
    path_config_ca,
    path_config_zeroaddress,
    path_creds,
    path_issuers,
    path_lookup,
    path_roles,
    path_sign,
    path_verify,
)
from chalicelib.engines.ssh.secret import SECRETS
from chalicelib.framework import Backend


def backend() -> Backend:
    """The registry's factory for type "ssh"."""
    return Backend(
        type_name="ssh",
        description="SSH certificates signed by the mount's CA, and one-time SSH passwords",
        paths=[
            *path_config_zeroaddress.paths(), *path_roles.paths(), *path_creds.paths(),
            *path_lookup.paths(), *path_verify.paths(), *path_config_ca.paths(),
            *path_sign.paths(), *path_issuers.paths(),
        ],
        # vault-ssh-helper verifies OTPs without a token; anyone may fetch a CA's key.
        unauthenticated=("verify", "public_key", "issuer/+/public_key"),
        secrets=SECRETS,
    )
