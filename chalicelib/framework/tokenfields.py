"""The ``token_*`` settings every auth method's roles and users share (OpenBao's tokenutil).

A method adds :data:`TOKEN_FIELDS` to its role or user path, parses them once with
:meth:`TokenSettings.parsed` (which also folds in the method's deprecated spellings, such
as userpass's ``policies`` or approle's ``bound_cidr_list``), stores :meth:`to_storage`, and
shows :meth:`to_api` on read. A login hands its settings to the pipeline inside an ``Auth``.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Mapping
from typing import Any, NamedTuple

from chalicelib.core.errors import BadRequest
from chalicelib.core.records import build
from chalicelib.framework.field import Field, FieldData
from chalicelib.framework.fieldtypes import FieldType

# Role-level token types; the mount's tune decides what "default" becomes at login.
TOKEN_TYPES = ("default", "service", "batch")

TOKEN_FIELDS: Mapping[str, Field] = {
    "token_bound_cidrs": Field(
        FieldType.COMMA_STRING_LIST, list,
        "CIDR blocks the issued tokens may be used from (a list or a comma-separated string).",
    ),
    "token_explicit_max_ttl": Field(
        FieldType.DURATION, 0,
        "A hard limit on the issued tokens' lifetime that renewal cannot extend; 0: none.",
    ),
    "token_max_ttl": Field(
        FieldType.DURATION, 0, "The longest the issued tokens may live, renewals included."
    ),
    "token_no_default_policy": Field(
        FieldType.BOOL, False, "Leave the 'default' policy off the issued tokens."
    ),
    "token_period": Field(
        FieldType.DURATION, 0,
        "Issue periodic tokens: each renewal extends them by this much, with no maximum.",
    ),
    "token_policies": Field(
        FieldType.COMMA_STRING_LIST, list, "The policies of the issued tokens."
    ),
    "token_type": Field(
        FieldType.STRING, "default-service",
        'The type of token to issue: "service", "batch" or "default".',
    ),
    "token_ttl": Field(FieldType.DURATION, 0, "The initial lifetime of the issued tokens."),
    "token_num_uses": Field(
        FieldType.INT, 0, "How many requests each issued token may make; 0: unlimited."
    ),
    "token_strictly_bind_ip": Field(
        FieldType.BOOL, False, "Bind the issued tokens to the address they were issued to."
    ),
}


def parse_cidrs(values: list[str], field: str = "token_bound_cidrs") -> tuple[str, ...]:
    """CIDR blocks (a bare address means its /32 or /128), normalised; 400 for a bad one."""
    cidrs = []
    for value in values:
        try:
            cidrs.append(str(ipaddress.ip_network(value.strip(), strict=False)))
        except ValueError:
            raise BadRequest(f"invalid {field}: {value!r} is not an IP address or CIDR") from None
    return tuple(cidrs)


class TokenSettings(NamedTuple):
    """What a role or user says about the tokens its logins get (durations in seconds)."""

    ttl: int = 0
    max_ttl: int = 0
    explicit_max_ttl: int = 0
    period: int = 0
    policies: tuple[str, ...] = ()
    bound_cidrs: tuple[str, ...] = ()
    no_default_policy: bool = False
    num_uses: int = 0
    type: str = "default"
    strictly_bind_ip: bool = False
    # Deprecated field names the caller set (shown again on read, as OpenBao does).
    legacy: tuple[str, ...] = ()

    def parsed(self, data: FieldData, legacy: Mapping[str, str] = {}) -> TokenSettings:
        """These settings updated with what ``data`` sets, validated as OpenBao's
        ``ParseTokenFields``. ``legacy`` maps a method's deprecated names to the new ones:
        the new name wins when both are given."""
        values = self._asdict()
        used = set(self.legacy)
        for old, new in legacy.items():
            if data.is_set(old) and not data.is_set(new):
                values[_ATTR[new]] = data[old]
                used.add(old)
            elif data.is_set(new):
                used.discard(old)
        for name, attr in _ATTR.items():
            if data.is_set(name):
                values[attr] = data[name]
        values["policies"] = tuple(values["policies"])
        values["bound_cidrs"] = parse_cidrs(list(values["bound_cidrs"]))
        values["type"] = _token_type(data) if data.is_set("token_type") else self.type
        values["legacy"] = tuple(sorted(used))
        settings = TokenSettings(**values)
        settings.check()
        return settings

    def check(self) -> None:
        for name, value in (
            ("token_max_ttl", self.max_ttl), ("token_period", self.period),
            ("token_num_uses", self.num_uses), ("token_ttl", self.ttl),
        ):  # fmt: skip
            if value < 0:
                raise BadRequest(f"'{name}' cannot be negative")
        if self.type == "batch" and self.period:
            raise BadRequest(
                "'token_type' cannot be 'batch' or 'default_batch' when set to generate "
                "periodic tokens"
            )
        if self.type == "batch" and self.num_uses:
            raise BadRequest(
                "'token_type' cannot be 'batch' or 'default_batch' when set to generate "
                "tokens with limited use count"
            )
        if self.ttl and self.max_ttl and self.ttl > self.max_ttl:
            raise BadRequest("'token_ttl' cannot be greater than 'token_max_ttl'")
        if self.strictly_bind_ip and self.bound_cidrs:
            raise BadRequest(
                "'token_strictly_bind_ip' conflicts with 'token_bound_cidrs'; set only one"
            )

    def to_api(self, legacy: Mapping[str, str] = {}) -> dict[str, Any]:
        """The ``token_*`` fields of a read (OpenBao's ``PopulateTokenData``), plus each
        deprecated spelling that was used, repeating its new field's value."""
        shown: dict[str, Any] = {
            "token_bound_cidrs": list(self.bound_cidrs),
            "token_explicit_max_ttl": self.explicit_max_ttl,
            "token_max_ttl": self.max_ttl,
            "token_no_default_policy": self.no_default_policy,
            "token_period": self.period,
            "token_policies": list(self.policies),
            "token_type": self.type,
            "token_ttl": self.ttl,
            "token_num_uses": self.num_uses,
            "token_strictly_bind_ip": self.strictly_bind_ip,
        }
        for old in self.legacy:
            new = legacy.get(old)
            if new is not None:
                shown[old] = shown[new]
        return shown

    def to_storage(self) -> dict[str, Any]:
        return self._asdict()

    @classmethod
    def from_storage(cls, raw: Mapping[str, Any] | None) -> TokenSettings:
        if not raw:
            return cls()
        return build(
            cls, raw,
            policies=tuple(raw.get("policies") or ()),
            bound_cidrs=tuple(raw.get("bound_cidrs") or ()),
            legacy=tuple(raw.get("legacy") or ()),
        )  # fmt: skip


# Field name -> TokenSettings attribute.
_ATTR = {
    "token_ttl": "ttl",
    "token_max_ttl": "max_ttl",
    "token_explicit_max_ttl": "explicit_max_ttl",
    "token_period": "period",
    "token_policies": "policies",
    "token_bound_cidrs": "bound_cidrs",
    "token_no_default_policy": "no_default_policy",
    "token_num_uses": "num_uses",
    "token_strictly_bind_ip": "strictly_bind_ip",
}


def _token_type(data: FieldData) -> str:
    wanted = data["token_type"]
    if wanted in ("", "default"):
        return "default"
    if wanted not in TOKEN_TYPES:
        raise BadRequest(f"invalid 'token_type' value {json.dumps(wanted)}")
    return wanted
