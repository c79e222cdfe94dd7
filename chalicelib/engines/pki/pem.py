"""PEM bundles split into their blocks, as Go's pem.Decode walks them."""

from __future__ import annotations

import re

from chalicelib.core.errors import BadRequest

_BLOCK = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----\s*(.*?)-----END \1-----", re.DOTALL)


def pem_blocks(bundle: str) -> list[tuple[str, str]]:
    """(type, PEM text) of each block, in order; OpenBao's "invalid PEM data" otherwise."""
    found: list[tuple[str, str]] = []
    rest = bundle.strip()
    index = 0
    while rest:
        index += 1
        match = _BLOCK.match(rest)
        if match is None:
            raise BadRequest(f"error when parsing block {index}: invalid PEM data")
        found.append((match.group(1), match.group(0)))
        rest = rest[match.end():].strip()
    return found
