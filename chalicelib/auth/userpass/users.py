"""Userpass users: the stored entry and its bcrypt password hash.

Only the bcrypt hash is stored (behind the barrier); the password never is, nor is it
returned. Names are case-insensitive, as Vault's: stored and logged in lowercase.
"""

from __future__ import annotations

from functools import cache
from typing import Any, NamedTuple

import bcrypt

from chalicelib.core.errors import BadRequest
from chalicelib.framework.tokenfields import TokenSettings
from chalicelib.storage.view import StorageView

USER_PREFIX = "user/"
# Vault's bcrypt.DefaultCost, and the range it accepts for a pre-hashed password.
BCRYPT_COST = 10
MIN_COST, MAX_COST = 5, 12
# bcrypt reads at most 72 bytes; longer passwords are refused rather than truncated.
MAX_PASSWORD_BYTES = 72
# The userpass spellings OpenBao still accepts for the token_* fields.
LEGACY_FIELDS = {
    "policies": "token_policies",
    "ttl": "token_ttl",
    "max_ttl": "token_max_ttl",
    "bound_cidrs": "token_bound_cidrs",
}


class User(NamedTuple):
    password_hash: str
    token: TokenSettings

    def to_storage(self) -> dict[str, Any]:
        return {"password_hash": self.password_hash, "token": self.token.to_storage()}

    @classmethod
    def from_storage(cls, raw: dict[str, Any]) -> User:
        return cls(raw.get("password_hash", ""), TokenSettings.from_storage(raw.get("token")))


def user_key(name: str) -> str:
    return USER_PREFIX + name.lower()


def load(view: StorageView, name: str) -> User | None:
    raw = view.get_json(user_key(name))
    return None if raw is None else User.from_storage(raw)


def save(view: StorageView, name: str, user: User) -> None:
    view.put_json(user_key(name), user.to_storage())


def check_password_input(password: str, password_hash: str) -> None:
    if password and password_hash:
        raise BadRequest("only one of password or password_hash may be provided")
    if not password and not password_hash:
        raise BadRequest("must provide either password or password_hash")


def new_hash(password: str, password_hash: str) -> str:
    """The bcrypt hash to store: of ``password``, or ``password_hash`` as given (checked)."""
    check_password_input(password, password_hash)
    if password:
        secret = password.encode()
        if len(secret) > MAX_PASSWORD_BYTES:
            raise BadRequest(f"password is longer than bcrypt's {MAX_PASSWORD_BYTES} bytes")
        return bcrypt.hashpw(secret, bcrypt.gensalt(BCRYPT_COST)).decode()
    cost = _cost(password_hash)
    if cost is None:
        raise BadRequest("password_hash is not a valid bcrypt hash")
    if cost < MIN_COST:
        raise BadRequest(f"bcrypt cost of {cost} is too low, want {MIN_COST} at minimum")
    if cost > MAX_COST:
        raise BadRequest(f"bcrypt cost of {cost} exceeds maximum cost of {MAX_COST}")
    return password_hash


def _cost(password_hash: str) -> int | None:
    """The cost of a well-formed bcrypt hash ($2a$, $2b$ or $2y$), else None."""
    parts = password_hash.split("$")
    if len(parts) != 4 or parts[0] or parts[1] not in ("2a", "2b", "2y") or len(parts[3]) != 53:
        return None
    return int(parts[2]) if parts[2].isdigit() and len(parts[2]) == 2 else None


@cache
def _dummy_hash() -> bytes:
    """Compared against when the user does not exist, so an unknown name costs what a
    wrong password does (a login's timing does not tell which names exist)."""
    return bcrypt.hashpw(b"dummy", bcrypt.gensalt(BCRYPT_COST))


def verify(password: str, user: User | None) -> bool:
    """Whether ``password`` is the user's; always one bcrypt comparison."""
    stored = user.password_hash.encode() if user is not None and user.password_hash else None
    secret = password.encode()[:MAX_PASSWORD_BYTES + 1]
    try:
        matched = bcrypt.checkpw(secret, stored or _dummy_hash())
    except ValueError:  # over 72 bytes (bcrypt 5) or an unreadable stored hash
        bcrypt.checkpw(b"dummy", _dummy_hash())
        matched = False
    return matched and stored is not None
