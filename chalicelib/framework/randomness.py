"""random[/:source][/:bytes] and hash[/:algorithm], served by sys/tools and by transit.

One declaration and one handler each, as OpenBao shares ``random.HandleRandomAPI`` and
the hash handler between the two mounts: same defaults, limits, routing and error texts.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from typing import Any

from chalicelib.core.errors import BadRequest
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.framework.field import Field, FieldData, replaced_by_path
from chalicelib.framework.fieldtypes import FieldError, FieldType, go_atoi
from chalicelib.framework.path import Handler, Path

MAX_RANDOM_BYTES = 128 * 1024  # OpenBao's random.APIMaxBytes
SOURCES = ("platform", "seal", "all")
HASHES = {
    "sha2-224": "sha224", "sha2-256": "sha256", "sha2-384": "sha384", "sha2-512": "sha512",
    "sha3-224": "sha3_224", "sha3-256": "sha3_256", "sha3-384": "sha3_384",
    "sha3-512": "sha3_512",
}
_SEAL_WARNING = "no seal/entropy augmentation available, using platform entropy source"
# OpenBao's route: random(/<GenericNameRegex source>)?(/<urlbytes .+>)?, matched against
# what follows "random". A tail that is no generic name ("-3") is the byte count, which
# OpenBao then ignores in favour of the body's "bytes".
_RANDOM_TAIL = re.compile(r"(?:/(?P<source>\w(?:[\w.-]*\w)?))?(?:/(?P<urlbytes>.+))?\Z", re.ASCII)
_GO_INT = re.compile(r"[+-]?[0-9A-Za-z_]+", re.ASCII)
_GO_OCTAL = re.compile(r"0[0-7_]+", re.ASCII)
_INT64 = 1 << 63


def paths(prefix: str, *, hash_requires_input: bool) -> list[Path]:
    """``{prefix}random…`` and ``{prefix}hash…``: ``tools/`` under sys/, none in transit
    (whose hash alone refuses a request without ``input``)."""
    random_fields = {
        "bytes": Field(FieldType.ANY, 32, "How many bytes to generate (default 32)."),
        "format": Field(FieldType.STRING, "base64", 'Encoding: "hex" or "base64".'),
        "source": Field(FieldType.STRING, "platform", '"platform", "seal" or "all".'),
        "urlbytes": Field(FieldType.STRING, "", "The byte count given in the URL."),
    }
    hash_fields = {
        "input": Field(FieldType.STRING, "", "The base64-encoded input."),
        "algorithm": Field(FieldType.STRING, "sha2-256", "sha2-* or sha3-* (224 to 512)."),
        "urlalgorithm": Field(FieldType.STRING, "", "The algorithm given in the URL."),
        "format": Field(FieldType.STRING, "hex", 'Encoding: "hex" or "base64".'),
    }
    hashing = _hash_handler(hash_requires_input)
    return [
        Path(f"{prefix}random", {Operation.UPDATE: _random_write}, random_fields,
             synopsis="Generate random bytes.", computes=True),
        Path(f"{prefix}random/{{url_tail:path}}", {Operation.UPDATE: _random_write}, random_fields,
             synopsis="Generate random bytes.", computes=True),
        Path(f"{prefix}hash", {Operation.UPDATE: hashing}, hash_fields,
             synopsis="Generate a hash sum for input data.", computes=True),
        Path(f"{prefix}hash/{{url_algorithm:path}}", {Operation.UPDATE: hashing}, hash_fields,
             synopsis="Generate a hash sum for input data.", computes=True),
    ]


def _random_write(request: Request, data: FieldData) -> Response:
    """OpenBao's HandleRandomAPI: the URL's source and count, else the body's ``bytes``."""
    # A JSON null counts as given: it weakly decodes to 0, as in OpenBao.
    count = go_int_field("bytes", data.raw.get("bytes", 32))
    tail = data.raw.get("url_tail")
    route = _RANDOM_TAIL.match(f"/{tail}" if tail else "")
    assert route is not None  # every part of the pattern is optional
    source, url_bytes = route["source"], route["urlbytes"]
    if source and url_bytes:
        count = _url_count(url_bytes)
    elif source and source not in SOURCES:
        source, count = "platform", _url_count(source)  # random/<bytes>
    source = source or "platform"
    if count < 1:
        raise BadRequest("'bytes' cannot be less than 1")
    if count > MAX_RANDOM_BYTES:
        raise BadRequest(f"'bytes' should be less than {MAX_RANDOM_BYTES}")
    format_name = data["format"]
    if format_name not in ("hex", "base64"):
        raise BadRequest(
            f'unsupported encoding format {_go_quote(format_name)}; must be "hex" or "base64"'
        )
    if source not in SOURCES:
        raise BadRequest(
            f"unsupported entropy source {_go_quote(source)}; "
            'must be "platform" or "seal", or "all"'
        )
    response = Response(data={"random_bytes": _encode(os.urandom(count), format_name)})
    if source == "seal":
        response.warnings.append(_SEAL_WARNING)
    # Our captures have names of their own: "source" and "urlbytes" are the body's.
    response.warnings.extend(replaced_by_path(data.raw, ("source", "urlbytes")))
    return response


def _hash_handler(requires_input: bool) -> Handler:
    def hash_write(request: Request, data: FieldData) -> Response:
        """OpenBao's pathHashWrite: sum of the base64 input, in hex or base64."""
        from chalicelib.core.gobase64 import DecodeError, b64decode

        if requires_input and not data.is_set("input"):
            raise BadRequest("input missing")
        algorithm = data.raw.get("url_algorithm") or data["algorithm"]
        try:
            raw = b64decode(data["input"])
        except DecodeError as error:
            raise BadRequest(f"unable to decode input as base64: {error}") from None
        format_name = data["format"]
        if format_name not in ("hex", "base64"):
            raise BadRequest(
                f'unsupported encoding format {format_name}; must be "hex" or "base64"'
            )
        if algorithm not in HASHES:
            raise BadRequest(f"unsupported algorithm {algorithm}")
        digest = hashlib.new(HASHES[algorithm], raw).digest()
        response = Response(data={"sum": _encode(digest, format_name)})
        response.warnings.extend(replaced_by_path(data.raw, ("urlalgorithm",)))
        return response

    return hash_write


def go_int_field(name: str, value: Any) -> int:
    """A TypeInt field as OpenBao's framework decodes it (mapstructure's weak decoding):
    null, "" and false are 0, true is 1, strings take Go's 0x/0o/0b/0 prefixes, a number
    with a fraction or exponent is refused; with OpenBao's validation error on failure."""
    try:
        return _weak_int(value)
    except ValueError as error:
        raise BadRequest(
            f'Field validation failed: error converting input for field "{name}": '
            f"'' {error}"
        ) from None


def _weak_int(value: Any) -> int:
    if value is None or isinstance(value, bool):
        return int(bool(value))
    if isinstance(value, list | dict):
        kind = "[]interface {}" if isinstance(value, list) else "map[string]interface {}"
        raise ValueError(f"expected type 'int', got unconvertible type '{kind}'")
    text = str(value) if isinstance(value, int) else value if isinstance(value, str) else "."
    return _parse_int(text or "0", "cannot parse value as 'int': strconv.ParseInt")


def _parse_int(text: str, failure: str) -> int:
    """Go's strconv.ParseInt(text, 0, 64)."""
    if not _GO_INT.fullmatch(text):
        raise ValueError(f"{failure}: invalid syntax")
    digits = text.lstrip("+-")
    try:
        number = int(digits, 8) if _GO_OCTAL.fullmatch(digits) else int(digits, 0)
    except ValueError:
        raise ValueError(f"{failure}: invalid syntax") from None
    number = -number if text.startswith("-") else number
    if not -_INT64 <= number < _INT64:
        raise ValueError(f"{failure}: value out of range")
    return number


def _url_count(text: str) -> int:
    """Go's strconv.Atoi on the URL's byte count, with OpenBao's error text."""
    try:
        return go_atoi(text)
    except FieldError as error:
        raise BadRequest(f"error parsing url-set byte count: {error}") from None


def _go_quote(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _encode(raw: bytes, format_name: str) -> str:
    from chalicelib.core.gobase64 import b64encode

    return raw.hex() if format_name == "hex" else b64encode(raw)

