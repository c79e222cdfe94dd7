"""A role's policy_identifiers: plain OIDs ("1.2.3,1.2.4") or OpenBao's JSON form
(``[{"oid": "1.2.3", "cps": "https://…", "notice": "…"}]``), each kept as one string, as
OpenBao stores them, and turned into a certificatePolicies extension at issuance."""

from __future__ import annotations

import json
import re
from typing import Any

from chalicelib.core.errors import BadRequest

_OID = re.compile(r"\d+(\.\d+)+\Z")


def from_request(raw: Any, parsed: list[str]) -> list[str]:
    """The stored entries: the JSON form when the raw value is a JSON list, else OIDs."""
    if isinstance(raw, str):
        try:
            entries = json.loads(raw)
        except ValueError:
            entries = None
        if isinstance(entries, list) and all(isinstance(e, dict) for e in entries):
            return [json.dumps({"oid": str(e.get("oid", "")), "cps": str(e.get("cps", "")),
                                "notice": str(e.get("notice", ""))}, separators=(",", ":"))
                    for e in entries]
    return parsed


def policies(entries: list[str]) -> tuple[tuple[str, str, str], ...]:
    """(oid, cps, notice) for each stored entry; a malformed OID is refused."""
    result = []
    for entry in entries:
        if entry.startswith("{"):
            parsed = json.loads(entry)
            oid, cps, notice = parsed.get("oid", ""), parsed.get("cps", ""), parsed.get(
                "notice", "")
        else:
            oid, cps, notice = entry, "", ""
        if not _OID.match(oid):
            raise BadRequest(f"invalid policy identifier OID: {oid}")
        result.append((oid, cps, notice))
    return tuple(result)
