"""A compiled ACL: the union of a token's policies, answering "may it do this?".

Mirrors OpenBao's ``NewACL`` / ``AllowOperation`` / ``Capabilities``:

* rules for the *same* path from several policies are merged (capabilities
  unioned, ``deny`` absorbing everything, parameter lists concatenated, the
  tighter wrapping-TTL bounds kept);
* *different* paths never merge: exactly one rule decides a request - an exact
  match, else the most specific glob / ``+`` rule (see :func:`_specificity`);
* parameters, wrapping TTLs and pagination limits are checked only after the
  capability itself is granted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any, Final

from chalicelib.core.operation import Operation
from chalicelib.policy.parser import (
    Capability,
    MapList,
    ParameterMap,
    PathRule,
    Policy,
    PolicyTextError,
    derive_path,
    parse_duration_seconds,
    render_template,
)

_ROOT_NAME: Final = "root"  # this policy name alone grants everything

# Which capability each operation needs.  Unknown operations are denied.
_REQUIRED: Final[Mapping[str, Capability]] = MappingProxyType(
    {
        "read": Capability.READ,
        "list": Capability.LIST,
        "update": Capability.UPDATE,
        "delete": Capability.DELETE,
        "create": Capability.CREATE,
        "patch": Capability.PATCH,
        "scan": Capability.SCAN,
        # Lease/rollback operations reuse `update`, as in OpenBao.
        "revoke": Capability.UPDATE,
        "renew": Capability.UPDATE,
        "rollback": Capability.UPDATE,
    }
)
_LISTING_OPS: Final = frozenset({"list", "scan"})
_PARAMETER_OPS: Final = frozenset({"read", "update", "create", "patch"})
_MOUNT_ACCESS_BITS: Final = (
    Capability.CREATE
    | Capability.DELETE
    | Capability.LIST
    | Capability.READ
    | Capability.SUDO
    | Capability.UPDATE
    | Capability.PATCH
    | Capability.SCAN
)


@dataclass(frozen=True, slots=True)
class Authorization:
    """The verdict for one request.

    ``denial_reason`` is for logs only: clients always get "permission denied".
    ``limit_override`` is the value OpenBao writes into the request's ``limit``
    parameter for paginated lists (None: leave the request data alone).
    """

    allowed: bool
    root_privs: bool
    capabilities: frozenset[str]
    denial_reason: str = ""
    granting_policies: tuple[str, ...] = ()
    limit_override: str | None = None
    response_keys_filter_path: str = ""


# ---------------------------------------------------------------------------
# Identity templating input
# ---------------------------------------------------------------------------


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
        raise _NoValue("no value could be found for one of the template directives")
    return value


def _map_value(mapping: Mapping[str, str], key: str | None) -> str:
    if key is None or key not in mapping:
        raise _NoValue("no value could be found for one of the template directives")
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
    raise _NoValue("no value could be found for one of the template directives")


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
    raise _NoValue("no value could be found for one of the template directives")


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
    raise _NoValue("no value could be found for one of the template directives")


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


def _resolver(identity: IdentityContext | None, now: datetime) -> Any:
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
        raise _NoValue("no value could be found for one of the template directives")

    return resolve


def _render_rule(
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


# ---------------------------------------------------------------------------
# Merged per-path permissions
# ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Permissions:
    """Everything the compiled ACL knows about one path key (read-only)."""

    capabilities: Capability
    min_wrapping_ttl_ns: int
    max_wrapping_ttl_ns: int
    allowed_parameters: ParameterMap | None
    denied_parameters: ParameterMap | None
    required_parameters: tuple[str, ...]
    mfa_methods: tuple[str, ...] | None
    pagination_limit: int
    response_keys_filter_path: str
    granting: Mapping[Capability, tuple[str, ...]]


def _freeze_params(params: dict[str, list[Any]] | None) -> ParameterMap | None:
    return None if params is None else MappingProxyType({k: tuple(v) for k, v in params.items()})


@dataclass(slots=True)
class _MergedRule:
    """One path key while policies are being merged into it (compile time only)."""

    capabilities: Capability
    min_wrapping_ttl_ns: int = 0
    max_wrapping_ttl_ns: int = 0
    allowed_parameters: dict[str, list[Any]] | None = None
    denied_parameters: dict[str, list[Any]] | None = None
    required_parameters: list[str] = field(default_factory=list)
    mfa_methods: list[str] | None = None
    pagination_limit: int = 0
    response_keys_filter_path: str = ""
    granting: dict[Capability, list[str]] = field(default_factory=dict)

    @classmethod
    def from_rule(cls, rule: PathRule, policy_name: str) -> _MergedRule:
        perms = cls(
            capabilities=rule.capabilities,
            min_wrapping_ttl_ns=rule.min_wrapping_ttl_ns,
            max_wrapping_ttl_ns=rule.max_wrapping_ttl_ns,
            allowed_parameters=_thaw(rule.allowed_parameters),
            denied_parameters=_thaw(rule.denied_parameters),
            required_parameters=list(rule.required_parameters),
            mfa_methods=list(rule.mfa_methods) if rule.mfa_methods is not None else None,
            pagination_limit=rule.pagination_limit,
            response_keys_filter_path=rule.response_keys_filter_path,
        )
        perms.add_granting(policy_name, rule.capabilities)
        return perms

    def freeze(self) -> _Permissions:
        return _Permissions(
            capabilities=self.capabilities,
            min_wrapping_ttl_ns=self.min_wrapping_ttl_ns,
            max_wrapping_ttl_ns=self.max_wrapping_ttl_ns,
            allowed_parameters=_freeze_params(self.allowed_parameters),
            denied_parameters=_freeze_params(self.denied_parameters),
            required_parameters=tuple(self.required_parameters),
            mfa_methods=None if self.mfa_methods is None else tuple(self.mfa_methods),
            pagination_limit=self.pagination_limit,
            response_keys_filter_path=self.response_keys_filter_path,
            granting=MappingProxyType({k: tuple(v) for k, v in self.granting.items()}),
        )

    def add_granting(self, policy_name: str, bits: Capability) -> None:
        for capability in Capability:
            if bits & capability:
                self.granting.setdefault(capability, []).append(policy_name)

    def merge(self, rule: PathRule, policy_name: str) -> None:
        """Fold another policy's rule for the same path into this one."""
        if self.capabilities & Capability.DENY:
            return  # an explicit deny already absorbed this path
        if rule.capabilities & Capability.DENY:
            self.capabilities = Capability.DENY
            self.allowed_parameters = self.denied_parameters = None
            return
        self.capabilities |= rule.capabilities
        self.add_granting(policy_name, rule.capabilities)
        self._merge_wrapping(rule)
        self.allowed_parameters = _merge_params(self.allowed_parameters, rule.allowed_parameters)
        self.denied_parameters = _merge_params(self.denied_parameters, rule.denied_parameters)
        self._merge_scalars(rule)

    def _merge_wrapping(self, rule: PathRule) -> None:
        # The smaller of two set bounds wins, for the minimum as for the maximum.
        if rule.max_wrapping_ttl_ns > 0 and (
            self.max_wrapping_ttl_ns == 0 or rule.max_wrapping_ttl_ns < self.max_wrapping_ttl_ns
        ):
            self.max_wrapping_ttl_ns = rule.max_wrapping_ttl_ns
        if rule.min_wrapping_ttl_ns > 0 and (
            self.min_wrapping_ttl_ns == 0 or rule.min_wrapping_ttl_ns < self.min_wrapping_ttl_ns
        ):
            self.min_wrapping_ttl_ns = rule.min_wrapping_ttl_ns

    def _merge_scalars(self, rule: PathRule) -> None:
        for name in rule.required_parameters:
            if name not in self.required_parameters:
                self.required_parameters.append(name)
        if rule.mfa_methods:
            merged = (self.mfa_methods or []) + list(rule.mfa_methods)
            self.mfa_methods = sorted(set(merged))
        if rule.pagination_limit > 0 and (
            self.pagination_limit <= 0 or rule.pagination_limit < self.pagination_limit
        ):
            self.pagination_limit = rule.pagination_limit
        if rule.response_keys_filter_path and not self.response_keys_filter_path:
            self.response_keys_filter_path = rule.response_keys_filter_path  # first one wins


def _thaw(params: ParameterMap | None) -> dict[str, list[Any]] | None:
    return None if params is None else {k: list(v) for k, v in params.items()}


def _merge_params(
    existing: dict[str, list[Any]] | None, incoming: ParameterMap | None
) -> dict[str, list[Any]] | None:
    """Union parameter constraints; an empty value list ("any value") wins."""
    if not incoming:
        return existing
    if existing is None:
        return _thaw(incoming)
    for key, values in incoming.items():
        if not values or (key in existing and not existing[key]):
            existing[key] = []
        else:
            existing[key] = list(values) + existing.get(key, [])
    return existing


# ---------------------------------------------------------------------------
# Request-time checks on parameters
# ---------------------------------------------------------------------------


def _glob_match(pattern: str, value: str) -> bool:
    """A leading and/or trailing ``*`` in an allowed value is a wildcard."""
    if len(pattern.encode()) < 2:
        return value == pattern
    starts, ends = pattern.startswith("*"), pattern.endswith("*")
    if starts and ends:
        return pattern[1:-1] in value
    if starts:
        return value.endswith(pattern[1:])
    if ends:
        return value.startswith(pattern[:-1])
    return value == pattern


def _deep_equal(policy_value: Any, request_value: Any) -> bool:
    """Go's reflect.DeepEqual between a policy value and a request value.

    Request numbers arrive in OpenBao as ``json.Number`` - a type no policy
    value ever has - so a number never matches anything.  A request ``tuple``
    stands for a repeated query parameter (Go ``[]string``), which no policy
    list equals either.
    """
    if isinstance(policy_value, bool) or isinstance(request_value, bool):
        return type(policy_value) is type(request_value) and policy_value == request_value
    if isinstance(policy_value, str):
        return isinstance(request_value, str) and policy_value == request_value
    if isinstance(policy_value, MapList):
        return False
    if isinstance(policy_value, tuple):
        return (
            isinstance(request_value, list)
            and len(policy_value) == len(request_value)
            and all(_deep_equal(p, r) for p, r in zip(policy_value, request_value, strict=True))
        )
    if isinstance(policy_value, Mapping):
        return (
            isinstance(request_value, dict)
            and policy_value.keys() == request_value.keys()
            and all(_deep_equal(policy_value[k], request_value[k]) for k in policy_value)
        )
    return False  # numbers: Go int/float64 never equal json.Number


def _value_allowed(value: Any, candidates: Sequence[Any]) -> bool:
    """OpenBao's valueInParameterList: an empty list admits any value."""
    if not candidates:
        return True
    for candidate in candidates:
        if value is None:
            continue  # a policy can never hold a null, so null matches nothing
        if isinstance(candidate, str) and isinstance(value, str):
            if _glob_match(candidate, value):
                return True
        elif _deep_equal(candidate, value):
            return True
    return False


def _parameters_verdict(perms: _Permissions, data: Mapping[str, Any]) -> str:
    """Empty string when the parameters pass, otherwise the (internal) reason."""
    for name in perms.required_parameters:
        if name.lower() not in data:
            return f"missing required parameter {name!r}"
    if not data:
        return ""
    denied = perms.denied_parameters
    if denied:
        if "*" in denied:
            return "all parameters are denied"
        for key, value in data.items():
            values = denied.get(key.lower())
            if values is not None and _value_allowed(value, values):
                return f"parameter {key!r} is denied"
    return _allowed_verdict(perms.allowed_parameters, data)


def _allowed_verdict(allowed: ParameterMap | None, data: Mapping[str, Any]) -> str:
    if not allowed:
        return ""
    allow_all = "*" in allowed
    if allow_all and len(allowed) == 1:
        return ""  # a lone "*" admits everything, whatever its value list
    for key, value in data.items():
        values = allowed.get(key.lower())
        if values is None and not allow_all:
            return f"parameter {key!r} is not allowed"
        if values is not None and not _value_allowed(value, values):
            return f"value of parameter {key!r} is not allowed"
    return ""


def _parse_limit(raw: Any) -> int | None:
    """parseutil.SafeParseInt for a request's ``limit``; None when unparsable."""
    if isinstance(raw, (bool, float)):
        return None
    if isinstance(raw, int):
        return raw if -(1 << 63) <= raw < (1 << 63) else None
    if not isinstance(raw, str):
        return None
    if raw == "":
        return 0
    body = raw[1:] if raw[:1] in "+-" else raw
    if not body.isascii() or not body.isdigit():
        return None
    value = int(raw)
    return value if -(1 << 63) <= value < (1 << 63) else None


def _pagination_verdict(perms: _Permissions, data: Mapping[str, Any]) -> tuple[str, str | None]:
    """(denial reason or "", value to force into ``limit`` or None)."""
    limit = perms.pagination_limit
    if limit <= 0:
        return "", ("0" if data.get("limit") == "max" else None)
    if "limit" not in data:
        if any(name.lower() == "limit" for name in perms.required_parameters):
            return "limit is required by pagination_limit", None
        return "", str(limit)
    requested = _parse_limit(data["limit"])
    if requested is None:
        if data["limit"] == "max":
            return "", str(limit)
        return "limit is not an integer", None
    if requested > limit or requested < 0:
        return f"limit {requested} is outside 0..{limit}", None
    return "", (str(limit) if requested == 0 else None)


def _wrapping_verdict(perms: _Permissions, wrap_ns: int | None) -> str:
    maximum, minimum = perms.max_wrapping_ttl_ns, perms.min_wrapping_ttl_ns
    if maximum > 0 and (wrap_ns is None or wrap_ns > maximum):
        return "response wrapping TTL above max_wrapping_ttl (or not wrapped)"
    if minimum > 0 and (wrap_ns is None or wrap_ns < minimum):
        return "response wrapping TTL below min_wrapping_ttl (or not wrapped)"
    if minimum and maximum and maximum < minimum:
        return "merged wrapping TTL bounds are contradictory"
    return ""


def _to_nanoseconds(wrap_ttl: int | timedelta | None) -> int | None:
    if wrap_ttl is None:
        return None
    if isinstance(wrap_ttl, timedelta):
        return (wrap_ttl // timedelta(microseconds=1)) * 1000
    return int(wrap_ttl) * 1_000_000_000


def _capability_names(bits: Capability) -> frozenset[str]:
    return frozenset(c.name.lower() for c in Capability if bits & c and c.name)


# ---------------------------------------------------------------------------
# Glob and "+" rules
# ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Wildcard:
    """A rule containing ``+`` segments (possibly ending in a ``*`` glob)."""

    segments: tuple[str, ...]
    is_prefix: bool
    wc_path: str
    first_wildcard: int
    wildcards: int
    perms: _Permissions

    @classmethod
    def build(cls, full_path: str, perms: _Permissions) -> _Wildcard:
        is_prefix = full_path.endswith("*")
        wc_path = full_path[:-1] if is_prefix else full_path
        segments = tuple(wc_path.split("/"))
        # Positions are byte offsets, as in Go.
        first = full_path.encode().find(b"+")
        return cls(segments, is_prefix, wc_path, first, segments.count("+"), perms)

    def matches(self, parts: Sequence[str]) -> bool:
        if len(parts) < len(self.segments):
            return False
        if not self.is_prefix and len(parts) != len(self.segments):
            return False
        last = len(self.segments) - 1
        for index, segment in enumerate(self.segments):
            part = parts[index]
            if segment in ("+", part):
                continue
            if not (self.is_prefix and index == last and part.startswith(segment)):
                return False
        return True

    def covers_mount(self, mount_parts: Sequence[str], mount: str) -> bool:
        """OpenBao's bare-mount walk: does this pattern reach inside the mount?"""
        joined: list[str] = []
        stop = len(mount_parts) - 2
        for index, segment in enumerate(self.segments):
            part = mount_parts[index] if index < len(mount_parts) else ""
            if segment == "+" or segment == part:
                joined.append(part)
            elif self.is_prefix and index == len(self.segments) - 1 and part.startswith(segment):
                joined.extend(mount_parts[index:])
            if index == stop:
                return ("/".join(joined) + "/").startswith(mount)
        return False


def _specificity(candidate: tuple[int, bool, int, str, _Permissions]) -> tuple[Any, ...]:
    """Sort key for competing non-exact rules; the largest key wins.

    OpenBao prefers, in order: a later first ``+``/``*`` position; no trailing
    glob; fewer ``+`` segments; a longer pattern; the lexically greater one.
    """
    first, is_prefix, wildcards, wc_path, _ = candidate
    encoded = wc_path.encode()
    return (first, not is_prefix, -wildcards, len(encoded), encoded)


# ---------------------------------------------------------------------------
# The ACL
# ---------------------------------------------------------------------------


_ROOT_AUTHORIZATION: Final = Authorization(
    allowed=True,
    root_privs=True,
    capabilities=frozenset({"root"}),
    granting_policies=(_ROOT_NAME,),
)


class ACL:
    """Immutable, compiled view of a set of policies; safe to cache and share."""

    __slots__ = ("_exact", "_prefix", "_root", "_valid_until", "_wildcards")

    def __init__(
        self,
        exact: Mapping[str, _Permissions],
        prefix: Mapping[str, _Permissions],
        wildcards: tuple[_Wildcard, ...],
        root: bool,
        valid_until: datetime | None,
    ) -> None:
        self._exact = exact
        self._prefix = prefix
        self._wildcards = wildcards
        self._root = root
        self._valid_until = valid_until

    # -- construction -----------------------------------------------------

    @classmethod
    def compile(
        cls,
        policies: Sequence[Policy | None],
        *,
        identity: IdentityContext | None = None,
        now: datetime | None = None,
    ) -> ACL:
        """Merge ``policies`` (in order) into an ACL.

        ``root`` must be alone, as in OpenBao.  Templated paths are rendered for
        ``identity``; those that cannot be rendered (e.g. no entity) are dropped.
        Expired path stanzas are skipped; :attr:`valid_until` tells a cache when
        the next stanza expires.
        """
        moment = now or datetime.now(UTC)
        if any(p is not None and p.name == _ROOT_NAME for p in policies):
            if len(policies) != 1:
                raise ValueError("other policies present along with root")
            return cls({}, {}, (), True, None)
        builder = _Builder(moment, identity)
        for policy in policies:
            if policy is not None:
                builder.add_policy(policy)
        return builder.build()

    @property
    def is_root(self) -> bool:
        return self._root

    @property
    def valid_until(self) -> datetime | None:
        """When the earliest included path stanza expires (recompile after it)."""
        return self._valid_until

    # -- queries ----------------------------------------------------------

    def authorize(
        self,
        operation: Operation | str,
        path: str,
        data: Mapping[str, Any] | None = None,
        *,
        wrap_ttl: int | timedelta | None = None,
    ) -> Authorization:
        """Decide ``operation`` on ``path`` (relative to /v1/).

        Operations other than create/read/update/patch/delete/list/scan (and
        the lease ones) are denied; OpenBao answers `help` before the ACL.

        LIST/SCAN paths get a trailing ``/`` as OpenBao's HTTP layer adds one.
        ``data`` is the request data as OpenBao sees it (JSON body, or query
        parameters: a single value as ``str``, a repeated one as ``tuple``).
        ``wrap_ttl`` is the requested response-wrapping TTL (seconds).
        Sudo-protected endpoints additionally require ``root_privs``.
        """
        if self._root:
            return _ROOT_AUTHORIZATION
        op = str(operation)
        if op in _LISTING_OPS and not path.endswith("/"):
            path += "/"
        perms = self._lookup(path.lstrip("/"), op)
        if perms is None:
            return Authorization(False, False, frozenset(), "no policy rule matches the path")
        return _decide(perms, op, data or {}, _to_nanoseconds(wrap_ttl))

    def capabilities(self, path: str) -> list[str]:
        """What ``sys/capabilities`` reports for ``path`` (sorted)."""
        if self._root:
            return ["root"]
        perms = self._lookup(path.lstrip("/"), "list")
        bits = perms.capabilities if perms is not None else Capability(0)
        if bits & Capability.DENY or not bits:
            return ["deny"]
        return sorted(_capability_names(bits))

    def has_mount_access(self, mount_path: str) -> bool:
        """Whether any rule grants something at or below ``mount_path``.

        This is OpenBao's visibility test for mounts (``sys/internal/ui/mounts``);
        ``mount_path`` must end with ``/``.
        """
        if "deny" not in self.capabilities(mount_path):
            return True
        for table in (self._exact, self._prefix):
            if any(
                key.startswith(mount_path) and _grants_something(perms)
                for key, perms in table.items()
            ):
                return True
        parts = mount_path.split("/")
        return any(
            w.covers_mount(parts, mount_path) and _grants_something(w.perms)
            for w in self._wildcards
        )

    # -- matching ---------------------------------------------------------

    def _lookup(self, path: str, op: str) -> _Permissions | None:
        listing = op in _LISTING_OPS
        exact = self._exact.get(path)
        if exact is None and listing:
            exact = self._exact.get(path.removesuffix("/"))
        if exact is not None:
            return exact
        found = self._non_exact(path)
        if found is None and listing and path.endswith("/"):
            found = self._non_exact(path[:-1])
        return found

    def _longest_prefix(self, path: str) -> str | None:
        for end in range(len(path), -1, -1):
            if path[:end] in self._prefix:
                return path[:end]
        return None

    def _non_exact(self, path: str) -> _Permissions | None:
        prefix = self._longest_prefix(path)
        if not self._wildcards:
            return None if prefix is None else self._prefix[prefix]
        candidates = []
        if prefix is not None:
            candidates.append((len(prefix.encode()), True, 0, prefix, self._prefix[prefix]))
        parts = path.split("/")
        candidates.extend(
            (w.first_wildcard, w.is_prefix, w.wildcards, w.wc_path, w.perms)
            for w in self._wildcards
            if w.matches(parts)
        )
        if not candidates:
            return None
        return max(candidates, key=_specificity)[4]


def _grants_something(perms: _Permissions) -> bool:
    return not perms.capabilities & Capability.DENY and bool(
        perms.capabilities & _MOUNT_ACCESS_BITS
    )


def _decide(
    perms: _Permissions, op: str, data: Mapping[str, Any], wrap_ns: int | None
) -> Authorization:
    bits = perms.capabilities
    names = _capability_names(bits)
    root_privs = bool(bits & Capability.SUDO)
    required = _REQUIRED.get(op)

    def deny(reason: str) -> Authorization:
        return Authorization(False, root_privs, names, reason)

    if required is None:
        return deny(f"operation {op!r} is never allowed by an ACL")
    if not bits & required:
        return deny(f"{required.name.lower() if required.name else op} capability not granted")
    reason = _wrapping_verdict(perms, wrap_ns)
    limit_override = None
    if not reason and op in _PARAMETER_OPS:
        reason = _parameters_verdict(perms, data)
    elif not reason and op in _LISTING_OPS:
        reason, limit_override = _pagination_verdict(perms, data)
    if reason:
        return deny(reason)
    return Authorization(
        allowed=True,
        root_privs=root_privs,
        capabilities=names,
        granting_policies=tuple(perms.granting.get(required, ())),
        limit_override=limit_override,
        response_keys_filter_path=perms.response_keys_filter_path if op in _LISTING_OPS else "",
    )


class _Builder:
    """Accumulates rules into the three lookup tables OpenBao keeps."""

    def __init__(self, now: datetime, identity: IdentityContext | None) -> None:
        self.now = now
        self.identity = identity
        self.exact: dict[str, _MergedRule] = {}
        self.prefix: dict[str, _MergedRule] = {}
        self.wildcard: dict[str, _MergedRule] = {}
        self.valid_until: datetime | None = None

    def add_policy(self, policy: Policy) -> None:
        for rule in policy.paths:
            if policy.templated:
                rendered = _render_rule(rule, policy, self.identity, self.now)
                if rendered is None:
                    continue
                rule = rendered
            self.add_rule(rule, policy.name)

    def add_rule(self, rule: PathRule, policy_name: str) -> None:
        if rule.expiration is not None:
            if self.now > rule.expiration:
                return
            if self.valid_until is None or rule.expiration < self.valid_until:
                self.valid_until = rule.expiration
        table = self.table_for(rule)
        existing = table.get(rule.path)
        if existing is None:
            table[rule.path] = _MergedRule.from_rule(rule, policy_name)
        else:
            existing.merge(rule, policy_name)

    def table_for(self, rule: PathRule) -> dict[str, _MergedRule]:
        if rule.has_segment_wildcards:
            return self.wildcard
        return self.prefix if rule.is_prefix else self.exact

    def build(self) -> ACL:
        wildcards = tuple(
            _Wildcard.build(path, merged.freeze()) for path, merged in self.wildcard.items()
        )
        return ACL(
            MappingProxyType({path: merged.freeze() for path, merged in self.exact.items()}),
            MappingProxyType({path: merged.freeze() for path, merged in self.prefix.items()}),
            wildcards,
            False,
            self.valid_until,
        )
