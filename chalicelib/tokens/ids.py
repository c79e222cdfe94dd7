"""Token IDs, accessors, and the storage keys of the token store.

Nothing secret appears in a key: token IDs and accessors are stored only as salted HMACs
(the salt lives behind the barrier), so a table dump names no usable token or accessor.

Layout (all under the system barrier, as Vault's ``sys/token/``):
  sys/token/salt                      HMAC salt (loaded at unseal)
  sys/token/batch-key                 AES-256-GCM key of batch tokens (loaded at unseal)
  sys/token/id/<hmac(id)>             the TokenEntry
  sys/token/accessor/<hmac(accessor)> {"accessor": ..., "salted_id": ...}
  sys/token/parent/<parent>/<child>   the parent -> children index (salted IDs, empty value)
  sys/token/roles/<name>              token roles
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
from functools import lru_cache

SERVICE_PREFIX = "s."  # OpenBao's prefix (Vault 1.10+ says "hvs.")
BATCH_PREFIX = "b."
_BATCH_PREFIXES = (BATCH_PREFIX, "hvb.")
_ALPHABET = string.ascii_letters + string.digits
RANDOM_LENGTH = 24

SALT_KEY = "sys/token/salt"
BATCH_KEY = "sys/token/batch-key"
ID_PREFIX = "sys/token/id/"
ACCESSOR_PREFIX = "sys/token/accessor/"
PARENT_PREFIX = "sys/token/parent/"
ROLES_PREFIX = "sys/token/roles/"


def random_base62(length: int = RANDOM_LENGTH) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def new_token_id() -> str:
    """A service token as OpenBao mints them: ``s.`` and 24 base62 characters (143 bits)."""
    return SERVICE_PREFIX + random_base62()


def new_accessor() -> str:
    return random_base62()


def is_batch(token: str) -> bool:
    return token.startswith(_BATCH_PREFIXES)


def salted_id(salt: bytes, value: str) -> str:
    """The storage name of a token ID or accessor: an HMAC, so a table dump reveals neither."""
    return hmac.new(salt, value.encode(), hashlib.sha256).hexdigest()


@lru_cache(maxsize=1024)
def id_key(salt: bytes, token_id: str) -> str:
    """The entry key of a presented token, which every request computes before its read.

    Memoised for the tokens a container keeps seeing: the HMAC through Python's ``hmac``
    wrapper is ~25,000 instructions, a hit is one dict lookup. Only the mapping is kept
    (the entry itself is read on every request), keyed by the salt too.
    """
    return ID_PREFIX + salted_id(salt, token_id)


def salted_key(salted: str) -> str:
    """The entry key of a token known only by its salted ID (parents, children, accessors)."""
    return ID_PREFIX + salted


def accessor_key(salt: bytes, accessor: str) -> str:
    return ACCESSOR_PREFIX + salted_id(salt, accessor)


def children_prefix(parent_salted: str) -> str:
    return f"{PARENT_PREFIX}{parent_salted}/"


def parent_key(parent_salted: str, child_salted: str) -> str:
    return children_prefix(parent_salted) + child_salted
