"""Parsing and validating mount config and tune parameters, shared by sys/mounts and sys/auth."""

from __future__ import annotations

import json
import re
from typing import Any, NamedTuple

from chalicelib.core.errors import BadRequest
from chalicelib.core.mounts import MountConfig, MountEntry, lockout_view
from chalicelib.framework import FieldData, FieldType, parse_duration
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


# Auth method types whose logins Vault's user lockout guards.
LOCKOUT_TYPES = frozenset({"userpass", "approle", "ldap"})
_MOUNT_TOKEN_TYPES = {"": "", "default-service": "", "default-batch": "default-batch",
                      "service": "service", "batch": "batch"}


def apply_config(
    config: MountConfig,
    changes: dict[str, Any],
    *,
    enabling: bool = False,
    entry: MountEntry | None = None,
) -> MountConfig:
    """Settings from a mount's ``config`` map or a tune request, validated as Vault does.

    ``entry``: the mount being tuned or enabled (its table and type decide what is allowed).
    """
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
    if changes.get("token_type") is not None:
        updates["token_type"] = _mount_token_type(changes["token_type"], entry)
    if changes.get("user_lockout_config"):
        updates["user_lockout_config"] = _lockout_config(
            config.user_lockout_config, changes["user_lockout_config"], entry
        )
    tuned = config._replace(**updates)
    _check_ttls(tuned, enabling=enabling)
    return tuned


def _mount_token_type(value: Any, entry: MountEntry | None) -> str:
    if entry is None or entry.table != "auth":
        raise BadRequest("'token_type' can only be modified on auth mounts")
    if entry.type == "token":
        raise BadRequest("'token_type' cannot be set for 'token' or 'ns_token' auth mounts")
    chosen = _MOUNT_TOKEN_TYPES.get(str(value))
    if chosen is None:
        raise BadRequest("invalid value for 'token_type'")
    return chosen


def _lockout_config(
    current: dict[str, Any] | None, sent: Any, entry: MountEntry | None
) -> dict[str, Any]:
    """A tune's ``user_lockout_config`` over what is tuned already (OpenBao's keys)."""
    if not isinstance(sent, dict):
        raise BadRequest("unable to convert given user lockout config information")
    if entry is None or entry.type.lower() not in LOCKOUT_TYPES:
        kind = entry.type if entry is not None else ""
        raise BadRequest(
            f"tuning of user lockout configuration for auth type {json.dumps(kind)} not allowed"
        )
    tuned = dict(current or {})
    if sent.get("lockout_threshold") not in (None, ""):
        try:
            tuned["threshold"] = int(str(sent["lockout_threshold"]))
        except ValueError:
            raise BadRequest("unable to parse user lockout threshold") from None
        if tuned["threshold"] < 0:
            raise BadRequest("unable to parse user lockout threshold")
    for key, name in (("lockout_duration", "duration"),
                      ("lockout_counter_reset_duration", "counter_reset")):
        if sent.get(key) not in (None, ""):
            tuned[name] = _duration(key, sent[key], enabling=False)
    if sent.get("lockout_disable") is not None:
        try:
            tuned["disable"] = FieldType.BOOL.convert(sent["lockout_disable"])
        except FieldError as error:
            raise BadRequest(str(error)) from None
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
    if entry.table == "auth":
        view["token_type"] = entry.config.effective_token_type
    if entry.config.user_lockout_config is not None:
        view.update(lockout_view(entry.config.user_lockout_config))
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
