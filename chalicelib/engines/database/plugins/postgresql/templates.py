"""Vault's statement templates for PostgreSQL: ``{{name}}``, ``{{username}}``,
``{{password}}`` and ``{{expiration}}``, substituted so that no value can leave the
quotes the statement puts around it.

Vault pastes values in verbatim; a generated password holding ``'`` (a password policy
may allow it) would then break, or inject into, the statement. Here a value inside
``"..."`` has its double quotes doubled, inside ``'...'`` its single quotes doubled, and a
bare one is quoted as an identifier (names) or a literal (password, expiration).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_PLACEHOLDER = re.compile(r"\{\{\s*(\w+)\s*\}\}")
_IDENTIFIERS = frozenset({"name", "username"})


def quote_identifier(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def render(statement: str, values: Mapping[str, str]) -> str:
    """``statement`` with its known placeholders filled in; unknown ones stay as written
    (as Vault's dbutil.QueryHelper leaves them)."""

    def fill(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in values:
            return match.group(0)
        value = values[key]
        before = statement[match.start() - 1] if match.start() else ""
        after = statement[match.end()] if match.end() < len(statement) else ""
        if before == '"' and after == '"':
            return value.replace('"', '""')
        if before == "'" and after == "'":
            return value.replace("'", "''")
        return quote_identifier(value) if key in _IDENTIFIERS else quote_literal(value)

    return _PLACEHOLDER.sub(fill, statement)
