"""The Go-template placeholders of ``userfilter`` and ``groupfilter`` (``{{.Username}}``).

OpenBao renders these filters with Go's text/template over a struct of escaped values; only
field references are ever useful there, so only ``{{.Name}}`` (spaces allowed) is accepted.
Values are escaped by the caller before they reach :func:`render`.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping

from chalicelib.core.errors import BadRequest

_ACTION = re.compile(r"\{\{\s*(.*?)\s*\}\}")
_FIELD = re.compile(r"\.(\w+)")


def check(field: str, template: str, names: Collection[str]) -> None:
    """400 unless every action of ``template`` names one of ``names`` (checked on write, so a
    login never meets a broken filter)."""
    rest = _ACTION.sub("", template)
    if "{{" in rest or "}}" in rest:
        raise BadRequest(f"invalid {field}: unclosed action")
    for action in _ACTION.findall(template):
        found = _FIELD.fullmatch(action)
        if found is None or found.group(1) not in names:
            allowed = ", ".join("{{." + name + "}}" for name in names)
            raise BadRequest(f"invalid {field}: {{{{{action}}}}} is not one of {allowed}")


def render(template: str, values: Mapping[str, str]) -> str:
    """``template`` with each ``{{.Name}}`` replaced by ``values[Name]``."""
    return _ACTION.sub(lambda action: values[action.group(1)[1:]], template)
