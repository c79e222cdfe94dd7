"""Base64 as Go's StdEncoding reads it, with its error text, on the per-item hot path.

pybase64 (SIMD) decodes a 1 KiB item's base64 ~10x and encodes it ~5x faster than
binascii here; base64, not the cipher, is most of a transit item's cost in Python.
"""

from __future__ import annotations

import binascii
import re

import pybase64

_INVALID = re.compile(rb"[^A-Za-z0-9+/=]")
_URL_INVALID = re.compile(r"[^A-Za-z0-9_-]")


class DecodeError(ValueError):
    """Not standard base64; the message is Go's and names only a byte offset."""


def b64decode(text: str) -> bytes:
    """Strict standard base64 (padding required), like Go's base64.StdEncoding."""
    try:
        return pybase64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise DecodeError(f"illegal base64 data at input byte {_offset(text.encode())}") from None


def _offset(raw: bytes) -> int:
    bad = _INVALID.search(raw)
    if bad is not None:
        return bad.start()
    padding = raw.find(b"=")
    return padding if padding >= 0 else len(raw) - len(raw) % 4


def b64encode(data: bytes) -> str:
    return pybase64.b64encode_as_string(data)


def b64encode_url(data: bytes) -> str:
    """Go's base64.RawURLEncoding (jws signatures): URL alphabet, no padding."""
    return pybase64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64decode_url(text: str) -> bytes:
    """Strict RawURLEncoding: '+', '/' and '=' are refused, as Go does (pybase64 alone
    would accept the standard alphabet too)."""
    bad = _URL_INVALID.search(text)
    if bad is None:
        try:
            return pybase64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
        except (binascii.Error, ValueError):
            pass
    offset = bad.start() if bad is not None else len(text) - len(text) % 4
    raise DecodeError(f"illegal base64 data at input byte {offset}")
