"""Policy errors worded as OpenBao words them (Go's fmt, multierror and hcl
PosError shapes), so that clients see the same 400s."""

from __future__ import annotations

import json
from collections.abc import Sequence


class PolicyTextError(Exception):
    """Error carrying the exact text OpenBao would produce (wrapped in BadRequest)."""


def multierror(messages: Sequence[str]) -> str:
    """hashicorp/go-multierror's text for ``messages``."""
    count = len(messages)
    head = "1 error occurred" if count == 1 else f"{count} errors occurred"
    bullets = "".join(f"\n\t* {m}" for m in messages)
    return f"{head}:{bullets}\n\n"


def pos_error(pos: tuple[int, int] | None, message: str) -> str:
    """hcl's PosError text; line 0 is Go's invalid position (all JSON nodes)."""
    if pos is None:
        return message
    if pos[0] <= 0:
        return f"At -: {message}"
    return f"At {pos[0]}:{pos[1]}: {message}"


def go_quote(text: str) -> str:
    """Approximate Go's %q for the (usually printable) strings in messages."""
    return json.dumps(text, ensure_ascii=False)
