"""Base64 for transit: Go's StdEncoding (shared with sys/tools, in chalicelib.core) and
the RawURLEncoding of jws signatures."""

from __future__ import annotations

import binascii
import re

import pybase64

from chalicelib.core.gobase64 import DecodeError, b64decode, b64encode

__all__ = ["DecodeError", "b64decode", "b64decode_url", "b64encode", "b64encode_url"]

_URL_INVALID = re.compile(r"[^A-Za-z0-9_-]")


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
