"""RFC 8555 problem documents (section 6.7), with the HTTP status OpenBao gives each type.

Handlers raise ``AcmeProblem``; the wrapper in ``context.py`` turns it into an
``application/problem+json`` answer. Details never carry keys or HMAC secrets."""

from __future__ import annotations

from http import HTTPStatus

PREFIX = "urn:ietf:params:acme:error:"
CONTENT_TYPE = "application/problem+json"

# OpenBao's errCodeMappings.
STATUS = {
    "accountDoesNotExist": HTTPStatus.BAD_REQUEST,
    "alreadyRevoked": HTTPStatus.BAD_REQUEST,
    "badCSR": HTTPStatus.BAD_REQUEST,
    "badNonce": HTTPStatus.BAD_REQUEST,
    "badPublicKey": HTTPStatus.BAD_REQUEST,
    "badRevocationReason": HTTPStatus.BAD_REQUEST,
    "badSignatureAlgorithm": HTTPStatus.BAD_REQUEST,
    "caa": HTTPStatus.FORBIDDEN,
    "compound": HTTPStatus.BAD_REQUEST,
    "connection": HTTPStatus.INTERNAL_SERVER_ERROR,
    "dns": HTTPStatus.INTERNAL_SERVER_ERROR,
    "externalAccountRequired": HTTPStatus.UNAUTHORIZED,
    "incorrectResponse": HTTPStatus.BAD_REQUEST,
    "invalidContact": HTTPStatus.BAD_REQUEST,
    "malformed": HTTPStatus.BAD_REQUEST,
    "orderNotReady": HTTPStatus.FORBIDDEN,
    "rateLimited": HTTPStatus.TOO_MANY_REQUESTS,
    "rejectedIdentifier": HTTPStatus.BAD_REQUEST,
    "serverInternal": HTTPStatus.INTERNAL_SERVER_ERROR,
    "tls": HTTPStatus.INTERNAL_SERVER_ERROR,
    "unauthorized": HTTPStatus.UNAUTHORIZED,
    "unsupportedContact": HTTPStatus.BAD_REQUEST,
    "unsupportedIdentifier": HTTPStatus.BAD_REQUEST,
    "userActionRequired": HTTPStatus.UNAUTHORIZED,
}

# OpenBao's sentence for each type, which it appends to every detail after a colon.
_MEANING = {
    "accountDoesNotExist": "the request specified an account that does not exist",
    "alreadyRevoked": "the request specified a certificate to be revoked that has already "
                      "been revoked",
    "badCSR": "the CSR is unacceptable",
    "badNonce": "the client sent an unacceptable anti-replay nonce",
    "badPublicKey": "the JWS was signed by a public key the server does not support",
    "badRevocationReason": "the revocation reason provided is not allowed by the server",
    "badSignatureAlgorithm": "the JWS was signed with an algorithm the server does not support",
    "connection": "the server could not connect to validation target",
    "dns": "there was a problem with a DNS query during identifier validation",
    "externalAccountRequired": "the request must include a value for the "
                               "'externalAccountBinding' field",
    "incorrectResponse": "response received didn't match the challenge's requirements",
    "malformed": "the request message was malformed",
    "orderNotReady": "the request attempted to finalize an order that is not ready to be "
                     "finalized",
    "rejectedIdentifier": "the server will not issue certificates for the identifier",
    "serverInternal": "the server experienced an internal error",
    "tls": "the server received a TLS error during validation",
    "unauthorized": "the client lacks sufficient authorization",
    "unsupportedIdentifier": "an identifier is of an unsupported type",
}


class AcmeProblem(Exception):
    """An ACME error: ``kind`` is the RFC 8555 type without its URN prefix. OpenBao joins
    the type's sentence to the detail, before it or after it depending on the site;
    ``meaning_first`` says which, so details read as OpenBao's; ``plain`` is an error
    OpenBao passes on unwrapped (serverInternal with the detail alone)."""

    def __init__(self, kind: str, detail: str, *, meaning_first: bool = False,
                 plain: bool = False) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail
        self.meaning_first = meaning_first
        self.plain = plain

    @property
    def status(self) -> int:
        return int(STATUS[self.kind])

    def document(self) -> dict[str, str]:
        meaning = "" if self.plain else _MEANING.get(self.kind, "")
        parts = [meaning, self.detail] if self.meaning_first else [self.detail, meaning]
        detail = ": ".join(part for part in parts if part)
        return {"type": PREFIX + self.kind, "detail": detail}


def malformed(detail: str, *, meaning_first: bool = False) -> AcmeProblem:
    return AcmeProblem("malformed", detail, meaning_first=meaning_first)


def unauthorized(detail: str, *, meaning_first: bool = False) -> AcmeProblem:
    return AcmeProblem("unauthorized", detail, meaning_first=meaning_first)
