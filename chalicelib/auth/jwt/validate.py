"""JWT validation as OpenBao's (hashicorp/cap's ``jwt.Validator``): the signature first,
with PyJWT, then the algorithm, issuer, subject, audience and time claims with leeways.

PyJWT checks only the signature here (every claim check is off) so that the rules and
their texts are cap's: a missing ``exp`` is derived from ``iat``/``nbf`` plus a leeway,
0 means the default leeway and -1 none.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jwt

# cap's defaults for a leeway left at 0: 150 s to derive a missing exp or nbf, and
# go-jose's minute of clock skew (as a real OpenBao server shows).
DEFAULT_LEEWAY = 150
DEFAULT_CLOCK_SKEW = 60
_SIGNATURE_ONLY = {
    "verify_signature": True, "verify_exp": False, "verify_nbf": False, "verify_iat": False,
    "verify_aud": False, "verify_iss": False, "verify_sub": False, "verify_jti": False,
}  # fmt: skip


class InvalidToken(Exception):
    """A token that does not validate; the text is cap's and safe to show."""


class Expected(NamedTuple):
    algorithms: Sequence[str]
    issuer: str = ""
    subject: str = ""
    audiences: Sequence[str] = ()
    not_before_leeway: int = 0
    expiration_leeway: int = 0
    clock_skew_leeway: int = 0


# kid (None: the token names none) -> the keys to try
KeyLookup = Callable[[str | None], list[Any]]


def validate(token: str, keys: KeyLookup, expected: Expected, *, static: bool) -> dict[str, Any]:
    """The token's claims once every check passed; ``InvalidToken`` otherwise."""
    claims = _verified_claims(token, keys, expected.algorithms, static=static)
    _check_times(claims, expected)
    if expected.issuer and expected.issuer != claims.get("iss"):
        raise InvalidToken("invalid issuer (iss) claim")
    if expected.subject and expected.subject != claims.get("sub"):
        raise InvalidToken("invalid subject (sub) claim")
    if expected.audiences and not set(expected.audiences) & set(audiences(claims)):
        raise InvalidToken("invalid audience (aud) claim: audience claim does not match any "
                           "expected audience")
    return claims


def audiences(claims: dict[str, Any]) -> list[Any]:
    aud = claims.get("aud")
    if aud is None:
        return []
    return aud if isinstance(aud, list) else [aud]


def _verified_claims(
    token: str, keys: KeyLookup, algorithms: Sequence[str], *, static: bool
) -> dict[str, Any]:
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise InvalidToken("error verifying token signature: malformed token") from None
    refused = InvalidToken(
        "error verifying token signature: "
        + ("no known key successfully validated the token signature" if static
           else "failed to verify id token signature")
    )  # fmt: skip
    alg = header.get("alg")
    # Before any key is touched: "none" and the HS* family (a public key used as an HMAC
    # secret) never reach PyJWT, whatever keys are configured. OpenBao words it as any
    # signature that no key verifies.
    if alg not in algorithms:
        raise refused
    kid = header.get("kid")
    for key in keys(kid if isinstance(kid, str) else None):
        try:
            return jwt.decode(token, key=key, algorithms=[alg], options=_SIGNATURE_ONLY)
        except (jwt.InvalidSignatureError, jwt.InvalidKeyError, jwt.InvalidAlgorithmError):
            continue
        except jwt.PyJWTError:
            raise InvalidToken("error verifying token signature: malformed token") from None
        except (TypeError, ValueError):  # a key of a kind the algorithm cannot use
            continue
    raise refused


def leeway(value: int, default: int = DEFAULT_LEEWAY) -> int:
    """A role's leeway in seconds: 0 means the default, a negative value none."""
    return 0 if value < 0 else value or default


def _number(claims: dict[str, Any], name: str) -> float:
    value = claims.get(name)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidToken(f"error verifying token signature: invalid {name} claim")
    return float(value)


def _check_times(claims: dict[str, Any], expected: Expected) -> None:
    iat, exp, nbf = (_number(claims, name) for name in ("iat", "exp", "nbf"))
    if not (iat or exp or nbf):
        raise InvalidToken(
            "no issued at (iat), not before (nbf), or expiration time (exp) claims in token"
        )
    if not exp:
        exp = max(iat, nbf) + leeway(expected.expiration_leeway)
    if not nbf:
        nbf = iat or exp - leeway(expected.not_before_leeway)
    skew = leeway(expected.clock_skew_leeway, DEFAULT_CLOCK_SKEW)
    now = time.time()
    if now + skew < nbf:
        raise InvalidToken("invalid not before (nbf) claim: token not yet valid")
    if now - skew > exp:
        raise InvalidToken("invalid expiration time (exp) claim: token is expired")
    if iat and now + skew < iat:
        raise InvalidToken("invalid issued at (iat) claim: token issued in the future")
