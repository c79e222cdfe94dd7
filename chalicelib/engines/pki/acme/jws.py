"""The flattened JWS of every ACME POST (RFC 8555 section 6.2), verified with PyJWT.

PyJWT verifies compact serializations; a flattened JWS is the same three base64url parts
joined with dots, so each request is checked as ``protected.payload.signature``. The key is
the embedded ``jwk`` (new-account, revoke-cert by certificate key) or the account's stored
key named by ``kid``."""

from __future__ import annotations

import base64
import hashlib
from typing import Any, NamedTuple

from chalicelib.core import jsonio
from chalicelib.engines.pki.acme.problems import AcmeProblem, malformed

# OpenBao's AllowedJWTSignatureAlgorithmsPKI (asymmetric only) and, for EAB, HMAC.
ACCOUNT_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
                      "ES256", "ES384", "ES512", "EdDSA")
EAB_ALGORITHMS = ("HS256", "HS384", "HS512")
# RFC 7638: the members of each key type that make up its thumbprint.
_THUMBPRINT_MEMBERS = {"RSA": ("e", "kty", "n"), "EC": ("crv", "kty", "x", "y"),
                       "OKP": ("crv", "kty", "x")}


class Signed(NamedTuple):
    """A JWS whose signature has not been checked yet: its parsed protected header."""

    header: dict[str, Any]
    protected: str
    payload: str
    signature: str

    @property
    def compact(self) -> str:
        return f"{self.protected}.{self.payload}.{self.signature}"


def b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def parse(body: dict[str, Any], what: str = "") -> Signed:
    """The three parts of a flattened JWS and its protected header (not yet verified)."""
    parts = []
    for name in ("protected", "payload", "signature"):
        value = body.get(name)
        if not isinstance(value, str):
            raise malformed(f"missing required field {what}'{name}'")
        parts.append(value)
    if "header" in body:
        raise malformed("request had unprotected headers")
    try:
        header = jsonio.loads(b64decode(parts[0]))
    except (ValueError, jsonio.DecodeError):
        raise malformed(f"failed to json unmarshal {what}'protected'") from None
    if not isinstance(header, dict):
        raise malformed(f"failed to json unmarshal {what}'protected'")
    return Signed(header, *parts)


def verify(signed: Signed, key: Any, algorithms: tuple[str, ...]) -> bytes:
    """The payload bytes when the signature verifies with ``key`` (a JWK dict or bytes)."""
    import jwt  # imported on first use: it costs a cold pki container ~40 ms
    from jwt.exceptions import InvalidTokenError, PyJWKError

    algorithm = signed.header.get("alg")
    if algorithm not in algorithms:
        raise AcmeProblem("badSignatureAlgorithm",
                          f"invalid header: unexpected value for 'alg': {algorithm}")
    try:
        verifier = key if isinstance(key, bytes) else jwt.PyJWK(key, algorithm=algorithm).key
        decoded = jwt.PyJWS().decode_complete(signed.compact, key=verifier,
                                              algorithms=[algorithm])
    except PyJWKError:
        raise AcmeProblem("badPublicKey", "received invalid jwk") from None
    except InvalidTokenError:
        raise malformed("failed to verify signature") from None
    return bytes(decoded["payload"])


def payload_object(raw: bytes) -> dict[str, Any]:
    """A POST's JSON payload; POST-as-GET (empty payload) gives {}."""
    if not raw:
        return {}
    try:
        parsed = jsonio.loads(raw)
    except jsonio.DecodeError:
        raise malformed("failed to json unmarshal 'payload'") from None
    if not isinstance(parsed, dict):
        raise malformed("failed to json unmarshal 'payload'")
    return parsed


def public_jwk(jwk: Any) -> dict[str, str]:
    """Only the public members RFC 7638 names: what is stored and compared."""
    if not isinstance(jwk, dict) or jwk.get("kty") not in _THUMBPRINT_MEMBERS:
        raise AcmeProblem("badPublicKey", "received invalid jwk")
    members = _THUMBPRINT_MEMBERS[jwk["kty"]]
    if any(not isinstance(jwk.get(m), str) for m in members):
        raise AcmeProblem("badPublicKey", "received invalid jwk")
    return {m: jwk[m] for m in members}


def thumbprint(jwk: dict[str, str]) -> str:
    """RFC 7638's SHA-256 thumbprint, base64url: the key authorization's second half."""
    canonical = jsonio.dumps(dict(sorted(public_jwk(jwk).items())))
    return b64encode(hashlib.sha256(canonical.encode()).digest())


def public_key_of(jwk: dict[str, str]) -> Any:
    """The cryptography public key of a JWK (CSR and revocation key comparisons)."""
    import jwt
    from jwt.exceptions import PyJWKError

    try:
        return jwt.PyJWK(jwk).key
    except PyJWKError:
        raise AcmeProblem("badPublicKey", "received invalid jwk") from None
