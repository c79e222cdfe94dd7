"""Vault's MySQL statements: each configured statement split into queries as OpenBao's
strutil.ParseArbitraryStringSlice does (base64, then a JSON list, else ``;``-separated),
then ``{{name}}``, ``{{username}}``, ``{{password}}`` and ``{{expiration}}`` filled in.

Vault pastes values in verbatim, so a password policy allowing ``'`` or ``\\`` would break
(or inject into) the statement. Here a value between quotes is escaped for those quotes
(MySQL reads ``\\`` as an escape inside strings), and a bare one is written as a string
literal, which is what MySQL's ``'user'@'host'`` names are.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import re
from collections.abc import Iterable, Mapping

_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")


def _string(value: str, quote: str) -> str:
    return value.replace("\\", "\\\\").replace(quote, "\\" + quote)


def _queries(statement: str) -> list[str]:
    text = statement.strip()
    if not text:
        return []
    with contextlib.suppress(binascii.Error, UnicodeDecodeError):
        text = base64.b64decode(text, validate=True).decode()
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = None
    if isinstance(parsed, list) and all(isinstance(item, str) for item in parsed):
        return parsed
    return text.split(";")


def split(statements: Iterable[str]) -> list[str]:
    """The non-empty queries of ``statements``, in order."""
    return [query.strip() for s in statements for query in _queries(s) if query.strip()]


def render(query: str, values: Mapping[str, str]) -> str:
    """``query`` with its known placeholders filled in; unknown ones stay as written (as
    Vault's dbutil.QueryHelper leaves them)."""

    def fill(match: re.Match[str]) -> str:
        value = values.get(match.group(1))
        if value is None:
            return match.group(0)
        before = query[match.start() - 1] if match.start() else ""
        after = query[match.end() : match.end() + 1]
        if before == after == "`":
            return value.replace("`", "``")
        if before == after and before in "'\"" and before:
            return _string(value, before)
        return "'" + _string(value, "'") + "'"

    return _PLACEHOLDER.sub(fill, query)
