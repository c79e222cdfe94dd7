"""sys/generate-root-token/{attempt,update} (OpenBao 2, what `bao operator generate-root`
calls) and Vault's older sys/generate-root/{attempt,update} (hvac, Vault's CLI).

Both drive the same attempt (chalicelib.seal.generate_root) with the recovery key shares.
As in OpenBao the first pair is an ordinary authenticated path answering in the envelope,
whose share errors carry a multierror (OpenBao answers those 500; the client caused them,
so 400 here). The second pair answers bare JSON with plain errors and, as in Vault, needs
no token; as in OpenBao 2 it is served only when enabled (LAMBDAVAULT_UNAUTHED_GENERATE_ROOT,
OpenBao's listener option), else every operation on it is 405 "unsupported operation".
"""

from __future__ import annotations

from typing import Any

from chalicelib.core.errors import BadRequest, UnsupportedOperation, multierror
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.core.runtime import runtime
from chalicelib.framework import Field, FieldData, FieldType, Path
from chalicelib.settings import settings

UNAUTHENTICATED: tuple[str, ...] = ("generate-root/attempt", "generate-root/update", "decode-token")

_ATTEMPT_FIELDS = {
    "otp": Field(FieldType.STRING, "", "One-time password the root token is encoded with."),
    "pgp_key": Field(FieldType.STRING, "", "PGP key for the root token (not supported here)."),
}
_UPDATE_FIELDS = {
    "key": Field(FieldType.STRING, "", "One recovery key share, hex or base64."),
    "nonce": Field(FieldType.STRING, "", "The nonce of the attempt."),
}


def _status(otp: str = "") -> dict[str, Any]:
    """OpenBao's generateRootStatus; ``otp`` only in the answer that generated it."""
    from chalicelib.seal import generate_root

    rt = runtime()
    attempt = generate_root.current(rt)
    status: dict[str, Any] = {
        "started": attempt is not None,
        "complete": False,
        "progress": len(attempt.shares) if attempt else 0,
        "required": generate_root.required(rt),
        "otp": otp,
        "otp_length": generate_root.OTP_LENGTH,
    }
    if attempt is not None:
        status.update(nonce=attempt.nonce, pgp_fingerprint="")
    return status


def _start(data: FieldData) -> dict[str, Any]:
    from chalicelib.seal import generate_root

    otp, pgp_key = data["otp"], data["pgp_key"]
    attempt = generate_root.start(runtime(), otp, pgp_key)
    return _status("" if otp or pgp_key else attempt.otp)


def _submit(key: str, nonce: str, *, bounded_hex: bool) -> dict[str, Any]:
    from chalicelib.seal import generate_root

    share = generate_root.decode_share(key, bounded_hex=bounded_hex)
    result = generate_root.submit(runtime(), share, nonce)
    return {
        "started": True,
        "complete": result.progress == result.required,
        "progress": result.progress,
        "required": result.required,
        "nonce": nonce,
        "encoded_token": result.encoded_token,
        "pgp_fingerprint": "",
    }


def _cancel(request: Request, data: FieldData) -> None:
    from chalicelib.seal import generate_root

    generate_root.cancel(runtime())


# -- sys/generate-root-token: OpenBao's logical endpoints -----------------------------------


def _token_attempt_read(request: Request, data: FieldData) -> Response:
    return Response(data=_status())


def _token_attempt_write(request: Request, data: FieldData) -> Response:
    return Response(data=_start(data))


def _token_update(request: Request, data: FieldData) -> Response:
    nonce, key = data["nonce"], data["key"]
    if not nonce:
        raise BadRequest("nonce is required")
    if not key:
        raise BadRequest("key is required")
    try:
        return Response(data=_submit(key.strip(), nonce, bounded_hex=False))
    except BadRequest as error:
        raise BadRequest(multierror(error.message)) from None


def _decode_token(request: Request, data: FieldData) -> Response:
    """OpenBao's sys/decode-token (roottoken.DecodeToken): what `generate-root -decode`
    computes, as a service; it reads nothing, so it needs no token."""
    from chalicelib.core.gobase64 import DecodeError, b64decode_raw

    encoded, otp = data["encoded_token"], data["otp"]
    if not encoded or not otp:
        raise BadRequest("provided 'encoded_token' or 'otp' is empty")
    try:
        mixed = b64decode_raw(encoded)
    except DecodeError as error:
        raise BadRequest(f"error decoding base64'd token: {error}") from None
    key = otp.encode()
    if len(mixed) != len(key):
        raise BadRequest(
            "error xoring token: length of byte slices is not equivalent: "
            f"{len(mixed)} != {len(key)}"
        )
    token = bytes(a ^ b for a, b in zip(mixed, key, strict=True))
    return Response(data={"token": token.decode(errors="replace")})


# -- sys/generate-root: Vault's HTTP handlers, bare JSON ------------------------------------


def _bare(status: dict[str, Any]) -> dict[str, Any]:
    """Vault's GenerateRootStatusResponse: every field, in its order."""
    encoded = status.get("encoded_token", "")
    return {
        "nonce": status.get("nonce", ""),
        "started": status["started"],
        "progress": status["progress"],
        "required": status["required"],
        "complete": status["complete"],
        "encoded_token": encoded,
        "encoded_root_token": encoded,
        "pgp_fingerprint": "",
        "otp": status.get("otp", ""),
        "otp_length": status.get("otp_length", 0),
    }


def _served() -> None:
    if not settings().unauthed_generate_root:
        raise UnsupportedOperation()


def _attempt_read(request: Request, data: FieldData) -> Response:
    _served()
    return Response(raw=_bare(_status()))


def _attempt_write(request: Request, data: FieldData) -> Response:
    _served()
    return Response(raw=_bare(_start(data)))


def _attempt_cancel(request: Request, data: FieldData) -> None:
    _served()
    _cancel(request, data)


def _update(request: Request, data: FieldData) -> Response:
    _served()
    if not data["key"]:
        raise BadRequest("'key' must be specified in request body as JSON")
    return Response(raw=_bare(_submit(data["key"], data["nonce"], bounded_hex=True)))


def paths() -> list[Path]:
    return [
        Path(
            "generate-root-token/attempt",
            {
                Operation.READ: _token_attempt_read,
                Operation.UPDATE: _token_attempt_write,
                Operation.DELETE: _cancel,
            },
            _ATTEMPT_FIELDS,
            synopsis="Read, start or cancel a root token generation.",
        ),
        Path(
            "generate-root-token/update",
            {Operation.UPDATE: _token_update},
            _UPDATE_FIELDS,
            synopsis="Give one recovery key share to the root token generation.",
        ),
        Path(
            "decode-token",
            {Operation.UPDATE: _decode_token},
            {
                "encoded_token": Field(FieldType.STRING, "", "The encoded root token."),
                "otp": Field(FieldType.STRING, "", "The OTP the token was encoded with."),
            },
            synopsis="Decode an encoded root token with its OTP.",
        ),
        Path(
            "generate-root/attempt",
            {Operation.READ: _attempt_read, Operation.UPDATE: _attempt_write,
             Operation.DELETE: _attempt_cancel},
            _ATTEMPT_FIELDS,
            synopsis="Read, start or cancel a root token generation (Vault's API).",
        ),
        Path(
            "generate-root/update",
            {Operation.UPDATE: _update},
            _UPDATE_FIELDS,
            synopsis="Give one recovery key share to the root token generation (Vault's API).",
        ),
    ]
