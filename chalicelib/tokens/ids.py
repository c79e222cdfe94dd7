"""Token IDs, accessors and the salted HMAC under which a token is stored."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string

SERVICE_PREFIX = "s."  # OpenBao's prefix (Vault 1.10+ says "hvs.")
_ALPHABET = string.ascii_letters + string.digits
SALT_KEY = "sys/token/salt"


def new_token_id() -> str:
    """A service token as OpenBao mints them: ``s.`` and 24 base62 characters (143 bits)."""
    return SERVICE_PREFIX + "".join(secrets.choice(_ALPHABET) for _ in range(24))


def new_accessor() -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(24))


def salted_id(salt: bytes, token_id: str) -> str:
    """The storage name of a token: an HMAC, so a table dump reveals no usable token."""
    return hmac.new(salt, token_id.encode(), hashlib.sha256).hexdigest()


def id_key(salt: bytes, token_id: str) -> str:
    return f"sys/token/id/{salted_id(salt, token_id)}"


def accessor_key(accessor: str) -> str:
    return f"sys/token/accessor/{accessor}"
