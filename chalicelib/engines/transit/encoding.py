"""Base64 as Go's StdEncoding reads it, with its error text, on the per-item hot path."""

from __future__ import annotations

import binascii
import re

_INVALID = re.compile(rb"[^A-Za-z0-9+/=]")


class DecodeError(ValueError):
    """Not standard base64; the message is Go's and names only a byte offset."""


def b64decode(text: str) -> bytes:
    """Strict standard base64 (padding required), like Go's base64.StdEncoding.

    The lenient decoder is faster than the strict one; it skips what it cannot read, so
    a result of exactly the length the text promises proves the text was well formed
    (it also stops at the first padding, so padding inside the text comes out short).
    Anything else is decoded again strictly, for the error (or the rare odd success).
    """
    try:
        raw = binascii.a2b_base64(text)
    except (binascii.Error, ValueError):
        raw = None
    size = len(text)
    if raw is not None and size % 4 == 0:
        padding = (text[-1:] == "=") + (text[-2:] == "==")
        if len(raw) == size // 4 * 3 - padding:
            return raw
    return _strict(text)


def _strict(text: str) -> bytes:
    raw = text.encode()
    try:
        return binascii.a2b_base64(raw, strict_mode=True)
    except binascii.Error:
        raise DecodeError(f"illegal base64 data at input byte {_offset(raw)}") from None


def _offset(raw: bytes) -> int:
    bad = _INVALID.search(raw)
    if bad is not None:
        return bad.start()
    padding = raw.find(b"=")
    return padding if padding >= 0 else len(raw) - len(raw) % 4


def b64encode(data: bytes) -> str:
    return binascii.b2a_base64(data, newline=False).decode()
