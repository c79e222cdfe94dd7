"""Per-path permissions: the rules several policies hold for one path, merged.

As in OpenBao's ``NewACL``: capabilities are unioned with ``deny`` absorbing
everything, parameter lists are concatenated (an empty list, "any value",
wins), and the tighter wrapping-TTL and pagination bounds are kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from chalicelib.policy.model import Capability, ParameterMap, PathRule, freeze_parameters


@dataclass(frozen=True, slots=True)
class Permissions:
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


@dataclass(slots=True)
class MergedRule:
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
    def from_rule(cls, rule: PathRule, policy_name: str) -> MergedRule:
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

    def freeze(self) -> Permissions:
        return Permissions(
            capabilities=self.capabilities,
            min_wrapping_ttl_ns=self.min_wrapping_ttl_ns,
            max_wrapping_ttl_ns=self.max_wrapping_ttl_ns,
            allowed_parameters=freeze_parameters(self.allowed_parameters),
            denied_parameters=freeze_parameters(self.denied_parameters),
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
