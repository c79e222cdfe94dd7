"""sys/quotas: rate-limit quota rules and the quota configuration, as OpenBao's.

Rules and config live in one barrier entry (chalicelib.quotas.table); every write bumps
the cluster's ``quotas`` generation, so all containers enforce the change on their next
request. Enforcement itself is chalicelib.quotas.enforce.
"""

from __future__ import annotations

import math
import re
from typing import Any

from chalicelib.core.errors import BadRequest, NotFound, multierror
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.core.runtime import runtime
from chalicelib.framework import Field, FieldData, FieldType, Path
from chalicelib.framework.fieldtypes import FieldError, parse_duration
from chalicelib.policy.errors import go_quote
from chalicelib.quotas import table
from chalicelib.quotas.model import QuotaConfig, QuotaSet, RateLimitQuota
from chalicelib.quotas.roles import RESOLVERS

UNAUTHENTICATED: tuple[str, ...] = ()

# OpenBao's GenericNameRegex: a name outside it matches no path at all.
_NAME = re.compile(r"\w([\w.-]*\w)?")
_INVALID_FIELD = "Field validation failed: error converting input for field {name}: {error}"


def _field_error(name: str, error: str) -> BadRequest:
    return BadRequest(_INVALID_FIELD.format(name=go_quote(name), error=error))


# -- sys/quotas/config -----------------------------------------------------------------


def _string_slice(value: Any) -> tuple[str, ...]:
    """Go's TypeStringSlice: a list, or one string as one element (commas do not split)."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,) if value else ()
    if isinstance(value, list):
        return tuple(str(item) for item in value)
    raise _field_error("rate_limit_exempt_paths", "expected a list of strings")


def _config_read(request: Request, data: FieldData) -> Response:
    return Response(data=table.current(runtime()).config.to_api())


def _config_write(request: Request, data: FieldData) -> None:
    # As OpenBao, every field is replaced: one left out takes its zero value.
    config = QuotaConfig(
        _string_slice(data["rate_limit_exempt_paths"]),
        data["enable_rate_limit_audit_logging"],
        data["enable_rate_limit_response_headers"],
    )
    table.update(runtime(), lambda current: current.replace(config=config))


# -- sys/quotas/rate-limit -------------------------------------------------------------


def _name(data: FieldData) -> str:
    name: str = data["name"]
    if not _NAME.fullmatch(name):
        raise NotFound(multierror("unsupported path"))
    return name


def _list(request: Request, data: FieldData) -> Response | None:
    names = sorted(table.current(runtime()).quotas)
    return Response(data={"keys": names}) if names else None


def _read(request: Request, data: FieldData) -> Response | None:
    quota = table.current(runtime()).quotas.get(_name(data))
    return Response(data=quota.to_api()) if quota is not None else None


def _delete(request: Request, data: FieldData) -> None:
    name = _name(data)

    def without(current: QuotaSet) -> QuotaSet:
        return current.replace(q for q in current.quotas.values() if q.name != name)

    if name in table.current(runtime()).quotas:
        table.update(runtime(), without)


def _rate(value: Any) -> float:
    """Go's TypeFloat: a number, a numeric string or a boolean (true is 1)."""
    if value is None:
        return 0.0
    if isinstance(value, bool | int | float):
        return float(value)
    try:
        parsed = float(str(value).strip())
    except ValueError:
        error = "strconv.ParseFloat: invalid syntax"
        raise _field_error("rate", f"'' cannot parse value as 'float64': {error}") from None
    if not math.isfinite(parsed):
        raise _field_error("rate", "'' cannot parse value as 'float64': value out of range")
    return parsed


def _seconds(name: str, value: Any) -> int:
    """Go's TypeDurationSecond: seconds or a duration string, never negative."""
    if value is None:
        return 0
    try:
        seconds = parse_duration(value)
    except FieldError as error:
        raise _field_error(name, str(error)) from None
    if seconds < 0:
        raise _field_error(name, f"cannot provide negative value '{seconds}'")
    return seconds


def _scope(path: str) -> tuple[str, str]:
    """(mount, suffix) of a rule's ``path``, checked against the mounts as OpenBao does."""
    path = path.lstrip("/")
    if not path:
        return "", ""
    wanted = path if path.endswith("/") else path + "/"
    rt = runtime()
    mount = rt.auth.longest_prefix(wanted) or rt.mounts.longest_prefix(wanted)
    if mount is None:
        raise BadRequest(f"invalid mount path {go_quote(wanted)}")
    return mount.router_path, wanted[len(mount.router_path):].rstrip("/")


def _check_role(mount: str, suffix: str) -> None:
    if suffix:
        raise BadRequest(
            "Quotas cannot contain both a path suffix and a role. If a role is provided, "
            "path must be a valid auth mount with a concept of roles"
        )
    entry = runtime().auth.longest_prefix(mount) if mount else None
    if entry is None:
        raise BadRequest(
            f"Mount path {go_quote(mount)} is not a valid auth method and therefore "
            "unsuitable for use with role-based quotas"
        )
    if entry.type not in RESOLVERS:
        raise BadRequest(
            f"Mount path {go_quote(mount)} does not support use with role-based quotas"
        )


def _write(request: Request, data: FieldData) -> None:
    name = _name(data)
    rate = _rate(data["rate"])
    if rate <= 0:
        raise BadRequest("'rate' is invalid")
    interval = _seconds("interval", data["interval"]) or 1
    block = _seconds("block_interval", data["block_interval"])
    mount, suffix = _scope(data["path"])
    role = data["role"]
    if role:
        _check_role(mount, suffix)
    # Only a global rule is inheritable unless told (namespaces, its purpose, are OpenBao's).
    inheritable = data["inheritable"] if data.is_set("inheritable") else not mount
    quota = RateLimitQuota(name, mount, suffix, role, rate, interval, block, inheritable)

    def with_quota(current: QuotaSet) -> QuotaSet:
        similar = current.similar(quota)
        if similar is not None:
            raise BadRequest(
                f"quota rule with similar properties exists under the name {go_quote(similar.name)}"
            )
        others = (q for q in current.quotas.values() if q.name != quota.name)
        return current.replace([*others, quota])

    table.update(runtime(), with_quota)


def paths() -> list[Path]:
    op = Operation
    flag = Field(FieldType.BOOL, False)
    raw = Field(FieldType.ANY)
    return [
        Path(
            "quotas/config",
            {op.READ: _config_read, op.UPDATE: _config_write},
            {
                "rate_limit_exempt_paths": raw,
                "enable_rate_limit_audit_logging": flag,
                "enable_rate_limit_response_headers": flag,
            },
            synopsis="Read or set the quota configuration.",
        ),
        Path("quotas/rate-limit/?", {op.LIST: _list}, synopsis="List the rate limit quotas."),
        Path(
            "quotas/rate-limit/{name}",
            {op.READ: _read, op.UPDATE: _write, op.DELETE: _delete},
            {
                "name": Field(description="Name of the quota rule."),
                "type": Field(description="Type of the quota rule."),
                "path": Field(FieldType.STRING, ""),
                "role": Field(FieldType.STRING, ""),
                "rate": raw,
                "interval": raw,
                "block_interval": raw,
                "inheritable": flag,
            },
            synopsis="Read, write or delete a rate limit quota.",
        ),
    ]
