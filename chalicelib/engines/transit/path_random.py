"""random[/:source][/:bytes] and hash[/:algorithm]: the sys/tools endpoints under the mount."""

from __future__ import annotations

import hashlib
import os

from chalicelib.core.errors import BadRequest
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.engines.transit.encoding import DecodeError, b64decode, b64encode
from chalicelib.framework import Field, FieldData, FieldType, Path

MAX_RANDOM_BYTES = 128 * 1024
_SOURCES = ("platform", "seal", "all")
_HASHES = {
    "sha2-224": "sha224", "sha2-256": "sha256", "sha2-384": "sha384", "sha2-512": "sha512",
    "sha3-224": "sha3_224", "sha3-256": "sha3_256", "sha3-384": "sha3_384",
    "sha3-512": "sha3_512",
}


def _encode(raw: bytes, format_name: str) -> str:
    return raw.hex() if format_name == "hex" else b64encode(raw)


def _url_count(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise BadRequest(
            f'error parsing url-set byte count: strconv.Atoi: parsing "{text}": invalid syntax'
        ) from None


def path_random_write(request: Request, data: FieldData) -> Response:
    """As Vault: /random/<bytes>, /random/<source>, /random/<source>/<bytes>."""
    source, count = "platform", data["bytes"]
    first, second = data.raw.get("source"), data.raw.get("urlbytes")
    if first and second:
        source, count = first, _url_count(second)
    elif first and first in _SOURCES:
        source = first
    elif first:
        count = _url_count(first)
    if count < 1:
        raise BadRequest("'bytes' cannot be less than 1")
    if count > MAX_RANDOM_BYTES:
        raise BadRequest(f"'bytes' should be less than {MAX_RANDOM_BYTES}")
    if data["format"] not in ("hex", "base64"):
        raise BadRequest(
            f'unsupported encoding format "{data["format"]}"; must be "hex" or "base64"'
        )
    if source not in _SOURCES:
        raise BadRequest(
            f'unsupported entropy source "{source}"; must be "platform" or "seal", or "all"'
        )
    response = Response(data={"random_bytes": _encode(os.urandom(count), data["format"])})
    if source == "seal":
        response.warnings.append(
            "no seal/entropy augmentation available, using platform entropy source"
        )
    return response


def path_hash_write(request: Request, data: FieldData) -> Response:
    if not data.is_set("input"):
        raise BadRequest("input missing")
    algorithm = data.raw.get("urlalgorithm") or data["algorithm"]
    try:
        raw = b64decode(data["input"])
    except DecodeError as error:
        raise BadRequest(f"unable to decode input as base64: {error}") from None
    if data["format"] not in ("hex", "base64"):
        raise BadRequest(
            f'unsupported encoding format {data["format"]}; must be "hex" or "base64"'
        )
    if algorithm not in _HASHES:
        raise BadRequest(f"unsupported algorithm {algorithm}")
    return Response(data={"sum": _encode(hashlib.new(_HASHES[algorithm], raw).digest(),
                                         data["format"])})


def paths() -> list[Path]:
    random_fields = {
        "bytes": Field(FieldType.INT, 32, "How many bytes (default 32)."),
        "format": Field(FieldType.STRING, "base64", "hex or base64."),
    }
    hash_fields = {
        "input": Field(FieldType.STRING, "", "Base64 input."),
        "algorithm": Field(FieldType.STRING, "sha2-256", "Hash algorithm."),
        "format": Field(FieldType.STRING, "hex", "hex or base64."),
    }
    handlers = {Operation.UPDATE: path_random_write}
    hashing = {Operation.UPDATE: path_hash_write}
    return [
        Path("random", handlers, fields=random_fields, synopsis="Generate random bytes."),
        Path("random/{source}", handlers, fields=random_fields),
        Path("random/{source}/{urlbytes}", handlers, fields=random_fields),
        Path("hash", hashing, fields=hash_fields, synopsis="Hash input data."),
        Path("hash/{urlalgorithm}", hashing, fields=hash_fields),
    ]
