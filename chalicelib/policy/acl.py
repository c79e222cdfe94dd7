"""A compiled ACL: the union of a token's policies, answering "may it do this?".

Mirrors OpenBao's ``NewACL`` / ``AllowOperation`` / ``Capabilities``:

* rules for the *same* path from several policies are merged (see
  :mod:`permissions`);
* *different* paths never merge: exactly one rule decides a request - an exact
  match, else the most specific glob / ``+`` rule (see :func:`specificity`);
* parameters, wrapping TTLs and pagination limits are checked only after the
  capability itself is granted (see :mod:`parameters`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any, Final

from chalicelib.core.operation import Operation
from chalicelib.policy.defaults import ROOT_POLICY_NAME
from chalicelib.policy.model import Capability, PathRule, Policy
from chalicelib.policy.parameters import pagination_verdict, parameters_verdict
from chalicelib.policy.permissions import MergedRule, Permissions
from chalicelib.policy.templates import IdentityContext, render_rule
from chalicelib.policy.wildcards import Wildcard, specificity

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


def _wrapping_verdict(perms: Permissions, wrap_ns: int | None) -> str:
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


_ROOT_AUTHORIZATION: Final = Authorization(
    allowed=True,
    root_privs=True,
    capabilities=frozenset({"root"}),
    granting_policies=(ROOT_POLICY_NAME,),
)


class ACL:
    """Immutable, compiled view of a set of policies; safe to cache and share."""

    __slots__ = ("_exact", "_prefix", "_root", "_valid_until", "_wildcards")

    def __init__(
        self,
        exact: Mapping[str, Permissions],
        prefix: Mapping[str, Permissions],
        wildcards: tuple[Wildcard, ...],
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
        if any(p is not None and p.name == ROOT_POLICY_NAME for p in policies):
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

    def _lookup(self, path: str, op: str) -> Permissions | None:
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

    def _non_exact(self, path: str) -> Permissions | None:
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
        return max(candidates, key=specificity)[4]


def _grants_something(perms: Permissions) -> bool:
    return not perms.capabilities & Capability.DENY and bool(
        perms.capabilities & _MOUNT_ACCESS_BITS
    )


def _decide(
    perms: Permissions, op: str, data: Mapping[str, Any], wrap_ns: int | None
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
        reason = parameters_verdict(perms, data)
    elif not reason and op in _LISTING_OPS:
        reason, limit_override = pagination_verdict(perms, data)
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
        self.exact: dict[str, MergedRule] = {}
        self.prefix: dict[str, MergedRule] = {}
        self.wildcard: dict[str, MergedRule] = {}
        self.valid_until: datetime | None = None

    def add_policy(self, policy: Policy) -> None:
        for rule in policy.paths:
            if policy.templated:
                rendered = render_rule(rule, policy, self.identity, self.now)
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
            table[rule.path] = MergedRule.from_rule(rule, policy_name)
        else:
            existing.merge(rule, policy_name)

    def table_for(self, rule: PathRule) -> dict[str, MergedRule]:
        if rule.has_segment_wildcards:
            return self.wildcard
        return self.prefix if rule.is_prefix else self.exact

    def build(self) -> ACL:
        wildcards = tuple(
            Wildcard.build(path, merged.freeze()) for path, merged in self.wildcard.items()
        )
        return ACL(
            MappingProxyType({path: merged.freeze() for path, merged in self.exact.items()}),
            MappingProxyType({path: merged.freeze() for path, merged in self.prefix.items()}),
            wildcards,
            False,
            self.valid_until,
        )
