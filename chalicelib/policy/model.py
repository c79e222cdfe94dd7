"""The immutable policy model: :class:`Policy`, its :class:`PathRule` stanzas and
the :class:`Capability` bits they grant."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import IntFlag
from types import MappingProxyType
from typing import Any, Final


class Capability(IntFlag):
    """Capability bits, in OpenBao's bit order (only used internally)."""

    DENY = 1
    CREATE = 2
    READ = 4
    UPDATE = 8
    DELETE = 16
    LIST = 32
    SUDO = 64
    PATCH = 128
    SCAN = 256


CAPABILITY_NAMES: Final[Mapping[str, Capability]] = MappingProxyType(
    {c.name.lower(): c for c in Capability if c.name}
)

ParameterMap = Mapping[str, tuple[Any, ...]]


def freeze_parameters(params: Mapping[str, Sequence[Any]] | None) -> ParameterMap | None:
    """A read-only copy of an allowed/denied parameter map (None stays None)."""
    return None if params is None else MappingProxyType({k: tuple(v) for k, v in params.items()})


class MapList(tuple):
    """Go's ``[]map[string]interface{}``: how HCL decodes an object that is not
    directly inside a list.  It is a distinct Go type, so it never equals any
    request value even though it holds the same data.
    """


@dataclass(frozen=True, slots=True)
class PathRule:
    """One ``path "..." { ... }`` stanza after validation.

    ``path`` is the form used for matching: a trailing ``*`` is stripped for
    plain prefix rules but kept for rules containing ``+`` segments, exactly as
    OpenBao stores them.  Durations are nanoseconds (Go's ``time.Duration``).
    """

    raw_path: str
    path: str
    is_prefix: bool
    has_segment_wildcards: bool
    capabilities: Capability
    templated: bool = False
    min_wrapping_ttl_ns: int = 0
    max_wrapping_ttl_ns: int = 0
    allowed_parameters: ParameterMap | None = None
    denied_parameters: ParameterMap | None = None
    required_parameters: tuple[str, ...] = ()
    mfa_methods: tuple[str, ...] | None = None
    pagination_limit: int = 0
    response_keys_filter_path: str = ""
    expiration: datetime | None = None


@dataclass(frozen=True, slots=True)
class Policy:
    """A parsed ACL policy; ``raw`` is kept verbatim for ``sys/policy`` reads."""

    name: str
    raw: str
    paths: tuple[PathRule, ...]
    templated: bool = False
    allow_wildcards_in_identity_templates: bool = False
    allow_slashes_in_identity_templates: bool = False
