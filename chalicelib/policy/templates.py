"""Identity templating: ``{{identity.entity.id}}`` and friends in policy paths.

Paths are checked for balanced directives at parse time; at ACL compile time
each templated path is rendered for the token's identity, as OpenBao does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from chalicelib.policy.errors import PolicyTextError, go_quote
from chalicelib.policy.model import PathRule, Policy
from chalicelib.policy.rules import derive_path
from chalicelib.policy.scalars import parse_duration_seconds

_NO_VALUE = "no value could be found for one of the template directives"


def template_validity(text: str) -> bool:
    """Whether ``text`` contains ``{{...}}`` directives; raises if unbalanced."""
    pieces = text.split("{{")
    if "}}" in pieces[0]:
        raise PolicyTextError("unbalanced templating characters")
    for piece in pieces[1:]:
        if len(piece.split("}}")) != 2:
            raise PolicyTextError("unbalanced templating characters")
    return len(pieces) > 1


def render_template(text: str, resolve: Callable[[str], str], blocked: Sequence[str]) -> str:
    """Substitute every ``{{ selector }}`` via ``resolve``; errors propagate."""
    pieces = text.split("{{")
    out = [pieces[0]]
    for piece in pieces[1:]:
        selector, tail = piece.split("}}")
        value = resolve(selector.strip())
        for token in blocked:
            if token in value:
                raise PolicyTextError(
                    f"template substitution contains forbidden value: {go_quote(token)}"
                )
        out.extend((value, tail))
    return "".join(out)


@dataclass(frozen=True, slots=True)
class IdentityAlias:
    mount_accessor: str
    id: str = ""
    name: str = ""
    metadata: Mapping[str, str] = field(default_factory=dict)
    custom_metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class IdentityGroup:
    id: str
    name: str = ""
    namespace_id: str = "root"
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class IdentityContext:
    """What ``{{identity.*}}`` templates may refer to (the token's entity)."""

    entity_id: str
    entity_name: str = ""
    metadata: Mapping[str, str] = field(default_factory=dict)
    aliases: tuple[IdentityAlias, ...] = ()
    groups: tuple[IdentityGroup, ...] = ()
    namespace_id: str = "root"


class _NoValue(PolicyTextError):
    """A template selector that cannot be resolved for this identity."""


def _text_value(value: str) -> str:
    if not value:
        raise _NoValue(_NO_VALUE)
    return value


def _map_value(mapping: Mapping[str, str], key: str | None) -> str:
    if key is None or key not in mapping:
        raise _NoValue(_NO_VALUE)
    return mapping[key]


def _alias_value(alias: IdentityAlias, selector: str) -> str:
    if selector in ("id", "name"):
        return _text_value(getattr(alias, selector))
    for prefix, mapping in (
        ("metadata", alias.metadata),
        ("custom_metadata", alias.custom_metadata),
    ):
        if selector == prefix or selector.startswith(prefix + "."):
            return _map_value(mapping, selector.partition(".")[2] or None)
    raise _NoValue(_NO_VALUE)


def _entity_value(identity: IdentityContext, selector: str) -> str:
    if selector in ("id", "name"):
        return _text_value(identity.entity_id if selector == "id" else identity.entity_name)
    if selector == "metadata" or selector.startswith("metadata."):
        return _map_value(identity.metadata, selector.partition(".")[2] or None)
    if selector.startswith("aliases."):
        accessor, dot, rest = selector.removeprefix("aliases.").partition(".")
        if not dot:
            raise _NoValue("invalid alias selector")
        alias = next((a for a in identity.aliases if a.mount_accessor == accessor), None)
        if alias is None:
            raise _NoValue("alias not found")
        return _alias_value(alias, rest)
    raise _NoValue(_NO_VALUE)


def _find_group(identity: IdentityContext, by_id: bool, wanted: str) -> IdentityGroup:
    for group in identity.groups:
        if by_id and group.id == wanted:
            return group
        if not by_id and group.namespace_id == identity.namespace_id and group.name == wanted:
            return group
    raise _NoValue(f'entity is not a member of group "{wanted}"')


def _group_value(identity: IdentityContext, selector: str) -> str:
    kind, dot, rest = selector.partition(".")
    if not dot or kind not in ("ids", "names"):
        raise _NoValue("invalid groups selector")
    wanted, dot, attribute = rest.partition(".")
    if not dot:
        raise _NoValue("invalid groups accessor")
    group = _find_group(identity, kind == "ids", wanted)
    if attribute == "id":
        return group.id
    if attribute == "name":
        return _text_value(group.name)
    if attribute.startswith("metadata."):
        return _map_value(group.metadata, attribute.removeprefix("metadata."))
    raise _NoValue(_NO_VALUE)


def _time_value(selector: str, now: datetime) -> str:
    parts = selector.split(".", 2)
    if parts[0] != "now":
        raise _NoValue(f'invalid time selector "{parts[0]}"')
    if len(parts) == 2:
        raise _NoValue("missing time operand")
    if len(parts) == 1:
        return str(int(now.timestamp()))
    offset = timedelta(microseconds=parse_duration_seconds(parts[2]) // 1000)
    if parts[1] not in ("plus", "minus"):
        raise _NoValue(f'invalid time operator "{parts[1]}"')
    moment = now + offset if parts[1] == "plus" else now - offset
    return str(int(moment.timestamp()))


def _resolver(identity: IdentityContext | None, now: datetime) -> Callable[[str], str]:
    def resolve(selector: str) -> str:
        if selector.startswith("identity.entity."):
            if identity is None:
                raise _NoValue(
                    "string contains entity template directives but no entity was provided"
                )
            return _entity_value(identity, selector.removeprefix("identity.entity."))
        if selector.startswith("identity.groups."):
            if identity is None or not identity.groups:
                raise _NoValue(
                    "string contains groups template directives but no groups were provided"
                )
            return _group_value(identity, selector.removeprefix("identity.groups."))
        if selector.startswith("time."):
            return _time_value(selector.removeprefix("time."), now)
        raise _NoValue(_NO_VALUE)

    return resolve


def render_identity_template(
    text: str, identity: IdentityContext | None, *, blocked: Sequence[str] = (),
    now: datetime | None = None,
) -> str:
    """``text`` with its ``{{identity.*}}`` and ``{{time.*}}`` directives rendered for
    ``identity``: what engines' templated fields (ssh roles' allowed_users...) use, as
    Vault's identitytpl in ACL mode. Raises PolicyTextError when one cannot be."""
    template_validity(text)
    return render_template(text, _resolver(identity, now or datetime.now(UTC)), blocked)


def render_rule(
    rule: PathRule, policy: Policy, identity: IdentityContext | None, now: datetime
) -> PathRule | None:
    """Substitute a templated path for this identity; None drops the rule."""
    blocked = [] if policy.allow_slashes_in_identity_templates else ["/"]
    if not policy.allow_wildcards_in_identity_templates:
        blocked += ["*", "+"]
    try:
        rendered = render_template(rule.raw_path, _resolver(identity, now), blocked)
    except PolicyTextError:
        return None  # OpenBao skips paths it cannot render for this token
    try:
        path, is_prefix, segment_wildcards = derive_path(rendered)
    except PolicyTextError as exc:
        raise ValueError(f"error parsing templated policy {policy.name!r}: {exc}") from None
    return replace(
        rule,
        raw_path=rendered,
        path=path,
        is_prefix=is_prefix,
        has_segment_wildcards=segment_wildcards,
    )
