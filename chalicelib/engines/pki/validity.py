"""A certificate's NotBefore and NotAfter, as OpenBao's getCertificateNotBefore and
getCertificateNotAfter decide them: request TTL or not_after, role TTLs, the mount's
TTLs, the role's bounds and the issuer's leaf_not_after_behavior."""

from __future__ import annotations

import datetime
from typing import NamedTuple

from chalicelib.core.errors import BadRequest
from chalicelib.engines.pki.role import Role
from chalicelib.framework.fieldtypes import go_duration

UTC = datetime.UTC


class Limits(NamedTuple):
    """The mount's default and maximum lease TTLs (seconds), the fallbacks of a role's."""

    default_ttl: int
    max_ttl: int


def now() -> datetime.datetime:
    return datetime.datetime.now(UTC).replace(microsecond=0)


def rfc3339(moment: datetime.datetime) -> str:
    """Go's RFC3339Nano for a UTC time (fraction without trailing zeros)."""
    text = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += f".{moment.microsecond:06d}".rstrip("0")
    return text + "Z"


def parse_rfc3339(text: str) -> datetime.datetime:
    try:
        parsed = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(
            f'parsing time "{text}" as "2006-01-02T15:04:05Z07:00": cannot parse "{text}" as '
            '"2006"'
        ) from None
    if parsed.tzinfo is None:
        raise BadRequest(f'parsing time "{text}" as "2006-01-02T15:04:05Z07:00": cannot parse '
                         '"" as "Z07:00"')
    return parsed.astimezone(UTC)


def check_not_after_bound(bound: str) -> None:
    if bound in ("permit", "forbid", "ttl-limited"):
        return
    try:
        parse_rfc3339(bound)
    except BadRequest:
        raise BadRequest("Unknown value for field `not_after_bound`. Possible values are "
                         "`permit`, `ttl-limited`, `forbid`, or an explicit timestamp.") from None


def not_before(role: Role, requested: str, at: datetime.datetime) -> datetime.datetime:
    """The start of validity: the role's not_before, a requested one the bound permits
    (CA generation has no bound and ignores it, as OpenBao), else ``not_before_duration``
    (30 s by default) before now."""
    explicit = role.not_before
    if not explicit and requested:
        bound = role.not_before_bound
        if bound == "forbid":
            raise BadRequest("not_before_bound is set to forbid. not_before cannot be provided.")
        if bound not in ("permit", "duration"):
            return at - datetime.timedelta(seconds=role.not_before_duration or 30)
        if bound == "duration":
            start = parse_rfc3339(requested)
            if start < at - datetime.timedelta(seconds=role.not_before_duration):
                raise BadRequest(
                    "not_before_bound is set to duration. Cannot satisfy request as it would "
                    f"result in notBefore of {rfc3339(start)} that is older than the allowed "
                    f"not_before_duration of {go_duration(role.not_before_duration)}"
                )
            return start
        explicit = requested
    if explicit:
        return parse_rfc3339(explicit)
    return at - datetime.timedelta(seconds=role.not_before_duration or 30)


class NotAfter(NamedTuple):
    at: datetime.datetime
    warnings: list[str]


def not_after(
    role: Role, ttl: int, requested: str, limits: Limits, at: datetime.datetime,
    issuer_not_after: datetime.datetime | None = None, behavior: str = "err",
) -> NotAfter:
    warnings: list[str] = []
    bound = role.not_after_bound
    explicit = role.not_after
    if not explicit and requested:
        if bound == "forbid":
            raise BadRequest("not_after_bound is set to forbid. not_after cannot be provided.")
        explicit = requested
    end = parse_rfc3339(explicit) if explicit else None
    if ttl > 0 and explicit:
        raise BadRequest("Either ttl or not_after should be provided. Both should not be "
                         "provided in the same request.")
    ttl = ttl or role.ttl or limits.default_ttl
    max_ttl = role.max_ttl or limits.max_ttl
    if ttl > max_ttl:
        warnings.append(f'TTL "{go_duration(ttl)}" is longer than permitted maxTTL '
                        f'"{go_duration(max_ttl)}", so maxTTL is being used')
        ttl = max_ttl
    if bound == "ttl-limited" and end is not None and end > at + datetime.timedelta(seconds=ttl):
        raise BadRequest(
            f"not_after_bound is set to {bound}. Cannot satisfy request as that would result in "
            f"notAfter of {rfc3339(end)} that is beyond the TTL of {go_duration(ttl)}"
        )
    if end is None:
        end = at + datetime.timedelta(seconds=ttl)
    if issuer_not_after is not None and end > issuer_not_after:
        if behavior == "truncate":
            if end < at:
                raise BadRequest(f"cannot satisfy request, as NotAfter date {end} is in the past")
            end = issuer_not_after
        elif behavior != "permit":
            raise BadRequest(
                "cannot satisfy request, as TTL would result in notAfter of "
                f"{rfc3339(end)} that is beyond the expiration of the CA certificate at "
                f"{rfc3339(issuer_not_after)}"
            )
    if bound not in ("", "permit", "forbid", "ttl-limited"):
        limit = parse_rfc3339(bound)
        if end > limit:
            raise BadRequest(
                f"not_after_bound is set to {bound}. Cannot statisfy request as that would "
                f"result in notAfter of {rfc3339(end)} that is beyond the maximum timestamp of "
                f"{rfc3339(limit)}"
            )
    return NotAfter(end, warnings)


def check_order(start: datetime.datetime, end: datetime.datetime) -> None:
    if start > end:
        raise BadRequest(f"The certificate's Not Before ({rfc3339(start)}) is later than the "
                         f"certificate's Not After ({rfc3339(end)})")
    if start == end:
        raise BadRequest(f"The certificate's Not Before ({rfc3339(start)}) is equal to the "
                         f"certificate's Not After ({rfc3339(end)})")
