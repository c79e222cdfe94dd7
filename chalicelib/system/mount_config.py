"""Parsing and validating mount config and tune parameters, shared by sys/mounts and sys/auth."""

from __future__ import annotations

import json
import re
from typing import Any, NamedTuple

from chalicelib.core.errors import BadRequest
from chalicelib.core.mounts import MountConfig, MountEntry
from chalicelib.framework import FieldData, parse_duration
from chalicelib.framework.fieldtypes import FieldError
from chalicelib.settings import settings

_LIST_SETTINGS = (
    "passthrough_request_headers",
    "allowed_response_headers",
    "audit_non_hmac_request_keys",
    "audit_non_hmac_response_keys",
)
_VISIBILITY = ("", "hidden", "unauth")


def normalize_mount_path(path: str) -> str:
    cleaned = path.strip("/")
    if not cleaned:
        raise BadRequest("path cannot be empty")
    return cleaned + "/"


_ENABLE_LABELS = {"default_lease_ttl": "default TTL", "max_lease_ttl": "max TTL"}


def _duration(name: str, value: Any, *, enabling: bool) -> int:
    if value in ("system", None):
        return 0
    try:
        seconds = parse_duration(value)
    except FieldError as error:
        # Vault words the same failure differently when enabling and when tuning.
        prefix = f"unable to parse {_ENABLE_LABELS[name]} of {value}: " if enabling else ""
        raise BadRequest(prefix + str(error)) from None
    if seconds < 0:
        raise BadRequest(f"{name} must not be negative")
    return seconds


def _string_list(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(v.strip() for v in value.split(",") if v.strip())
    if isinstance(value, list):
        return tuple(str(v) for v in value)
    raise BadRequest("expected a list of strings")


def apply_config(
    config: MountConfig, changes: dict[str, Any], *, enabling: bool = False
) -> MountConfig:
    """Settings from a mount's ``config`` map or a tune request, validated as Vault does."""
    updates: dict[str, Any] = {}
    for name in ("default_lease_ttl", "max_lease_ttl"):
        if name in changes and changes[name] not in ("", None):
            updates[name] = _duration(name, changes[name], enabling=enabling)
    if "listing_visibility" in changes:
        visibility = str(changes["listing_visibility"] or "")
        if visibility not in _VISIBILITY:
            raise BadRequest("listing_visibility can only be 'hidden', 'unauth' or empty")
        updates["listing_visibility"] = "" if visibility == "hidden" else visibility
    if "force_no_cache" in changes:
        updates["force_no_cache"] = bool(changes["force_no_cache"])
    for name in _LIST_SETTINGS:
        if name in changes:
            updates[name] = _string_list(changes[name])
    tuned = config._replace(**updates)
    _check_ttls(tuned, enabling=enabling)
    return tuned


def _check_ttls(config: MountConfig, *, enabling: bool) -> None:
    """Only the mount's own pair is checked; values over the system max are capped at use."""
    if config.max_lease_ttl and config.default_lease_ttl > config.max_lease_ttl:
        if enabling:
            raise BadRequest("given default lease TTL greater than given max lease TTL")
        raise BadRequest(
            f"backend max lease TTL of {config.max_lease_ttl} would be less than backend "
            f"default lease TTL of {config.default_lease_ttl}"
        )


def effective_ttls(entry: MountEntry) -> tuple[int, int]:
    system = settings()
    return (
        entry.config.default_lease_ttl or system.default_lease_ttl,
        entry.config.max_lease_ttl or system.max_lease_ttl,
    )


def tune_view(entry: MountEntry) -> dict[str, Any]:
    """What sys/mounts/:path/tune and sys/auth/:path/tune return."""
    default_ttl, max_ttl = effective_ttls(entry)
    view: dict[str, Any] = {
        "description": entry.description,
        "default_lease_ttl": default_ttl,
        "max_lease_ttl": max_ttl,
        "force_no_cache": entry.config.force_no_cache,
    }
    if entry.options:
        view["options"] = entry.options
    if entry.config.listing_visibility:
        view["listing_visibility"] = entry.config.listing_visibility
    for name in _LIST_SETTINGS:
        if getattr(entry.config, name):
            view[name] = list(getattr(entry.config, name))
    return view


def tune_changes(data: FieldData) -> dict[str, Any]:
    """The tune parameters the client actually sent (absent ones leave settings alone)."""
    return {name: data.raw[name] for name in data.raw if name not in ("path",)}


def merged_options(current: dict[str, str] | None, sent: Any) -> dict[str, str] | None:
    if sent is None:
        return current
    merged = {**(current or {}), **_string_options(sent)}
    return merged or None


def _string_options(sent: Any) -> dict[str, str]:
    if not isinstance(sent, dict):
        raise BadRequest("options must be a map of strings")
    return {str(k): str(v) for k, v in sent.items()}


# --- options.version: the kv engine's version, the only option Vault itself interprets -----

KV_TYPE = "kv"
# Vault's type aliases: enabling "kv-v2" mounts type "kv" with options.version "2".
_KV_ALIASES = {"kv-v1": "1", "kv-v2": "2"}
_GO_INT = re.compile(r"[+-]?[0-9]+")
_INT64_MAX = 2**63 - 1


def resolve_kv_alias(type_name: str, options: Any) -> tuple[str, Any]:
    """The mount type and options to store for `kv-v1`/`kv-v2` (others unchanged)."""
    version = _KV_ALIASES.get(type_name)
    if version is None:
        return type_name, options
    return KV_TYPE, {**(options or {}), "version": version}


def check_enable_version(type_name: str, options: dict[str, str] | None, *, auth: bool) -> None:
    """options.version on enable: only kv takes one, and only the versions it has.

    Vault's messages; an unknown kv version is refused by its kv factory, hence the odd one.
    """
    version = (options or {}).get("version", "")
    if not version:
        return
    if auth:
        raise BadRequest(f'auth method "{type_name}" does not allow setting a version')
    if type_name != KV_TYPE:
        raise BadRequest(f'secrets engine "{type_name}" does not allow setting a version')
    if version not in ("1", "2"):
        raise BadRequest(f'nil backend of type "{KV_TYPE}" returned from factory')


def _go_int(text: str) -> int:
    """Go's parseutil.ParseInt of a string: "" is 0, otherwise strconv.ParseInt base 10."""
    if text == "":
        return 0
    quoted = json.dumps(text, ensure_ascii=False)
    if not _GO_INT.fullmatch(text):
        raise ValueError(f"strconv.ParseInt: parsing {quoted}: invalid syntax")
    value = int(text)
    if abs(value) > _INT64_MAX:
        raise ValueError(f"strconv.ParseInt: parsing {quoted}: value out of range")
    return value


class VersionChange(NamedTuple):
    """A tune of options.version that Vault accepted: from `current` (0: unset) to `requested`."""

    current: int
    requested: int

    @property
    def upgrades(self) -> bool:
        return self.current < self.requested

    def warning(self) -> str:
        # Vault prints "to version 0" whatever was asked: its handler shadows the variable
        # holding the requested version. Clients see this text, so it is kept as is.
        return (
            f"Upgrading mount from version {self.current} to version 0. This mount will be "
            "unavailable for a brief period and will resume service shortly."
        )


def version_change(entry: MountEntry, sent: Any) -> VersionChange | None:
    """Vault's tune check of options.version (any mount type): 1 or 2, never downward."""
    if not isinstance(sent, dict) or "version" not in sent:
        return None
    try:
        current = _go_int((entry.options or {}).get("version", ""))
    except ValueError as error:
        raise BadRequest(f"unable to parse mount entry: {error}") from None
    try:
        requested = _go_int(str(sent["version"]))
    except ValueError as error:
        raise BadRequest(f"unable to parse options: {error}") from None
    if requested not in (1, 2):
        raise BadRequest(f"invalid version provided: {requested}")
    if current > requested:
        raise BadRequest(f"cannot downgrade mount from version {current}")
    return VersionChange(current, requested)


def tuned_options(
    current: dict[str, str] | None, sent: Any, change: VersionChange | None
) -> dict[str, str] | None:
    """Options after a tune: each given key is set; an empty value removes it (not version).

    The version is stored in canonical form: Vault keeps "02" as sent, which its kv factory
    then cannot load; ours would refuse it the same way, so we store "2".
    """
    if sent is None:
        return current
    tuned = dict(current or {})
    for key, value in _string_options(sent).items():
        if value == "" and key != "version":
            tuned.pop(key, None)
        else:
            tuned[key] = value
    if change is not None:
        tuned["version"] = str(change.requested)
    return tuned or None
