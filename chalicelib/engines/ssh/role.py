"""A role of the ssh engine: what `creds/` (key_type "otp") or `sign/` and `issue/`
(key_type "ca") may hand out. Stored at ``roles/<name>`` with Vault's field names.

One dataclass serves both key types, as Vault's sshRole does; a read shows only the
fields of the role's own type (see ``to_response``).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from chalicelib.core import jsonio
from chalicelib.core.errors import BadRequest, NotFound, multierror
from chalicelib.core.records import build
from chalicelib.policy.errors import PolicyTextError
from chalicelib.policy.scalars import go_parse_int10

if TYPE_CHECKING:
    from chalicelib.storage.view import StorageView

ROLE_PREFIX = "roles/"
KEY_TYPE_OTP = "otp"
KEY_TYPE_CA = "ca"
DEFAULT_ALGORITHM_SIGNER = "default"
DEFAULT_ISSUER_REF = "default"
DEFAULT_PORT = 22
DEFAULT_NOT_BEFORE = 30

# OpenBao's GenericNameWithAtRegex, which roles/, sign/ and issue/ route on.
_ROLE_NAME = re.compile(r"\w(?:[\w\-.@]*\w)?", re.ASCII)

_OTP_FIELDS = ("default_user", "cidr_list", "exclude_cidr_list", "key_type", "port",
               "allowed_users")


@dataclass(slots=True)
class Role:
    key_type: str
    # Both types.
    default_user: str = ""
    allowed_users: str = ""
    # OTP only.
    cidr_list: str = ""
    exclude_cidr_list: str = ""
    port: int = DEFAULT_PORT
    # CA only. ttl, max_ttl and not_before_duration in seconds (0: the mount's).
    default_user_template: bool = False
    allowed_users_template: bool = False
    allowed_domains: str = ""
    allowed_domains_template: bool = False
    ttl: int = 0
    max_ttl: int = 0
    allowed_critical_options: str = ""
    allowed_extensions: str = ""
    default_critical_options: dict[str, str] = field(default_factory=dict)
    default_extensions: dict[str, str] = field(default_factory=dict)
    default_extensions_template: bool = False
    allow_user_certificates: bool = False
    allow_host_certificates: bool = False
    allow_bare_domains: bool = False
    allow_subdomains: bool = False
    allow_user_key_ids: bool = False
    allow_empty_principals: bool = False
    allow_commas_in_identity_templates: bool = False
    allow_wildcards_in_identity_templates: bool = False
    key_id_format: str = ""
    # Key type ("rsa", "ec", "ecdsa-sha2-nistp256", "ed25519"...) -> allowed bit lengths
    # (None when the client sent null for a type, which OpenBao keeps and shows).
    allowed_user_key_lengths: dict[str, list[int] | None] = field(default_factory=dict)
    algorithm_signer: str = DEFAULT_ALGORITHM_SIGNER
    not_before_duration: int = DEFAULT_NOT_BEFORE
    issuer_ref: str = DEFAULT_ISSUER_REF

    @classmethod
    def from_storage(cls, raw: dict[str, Any]) -> Role:
        return build(cls, raw)

    def to_storage(self) -> dict[str, Any]:
        return asdict(self)

    def to_response(self) -> dict[str, Any]:
        """What a read of ``roles/<name>`` shows: Vault's parseRole for the role's type."""
        stored = self.to_storage()
        if self.key_type == KEY_TYPE_OTP:
            return {name: stored[name] for name in _OTP_FIELDS}
        stored.pop("cidr_list")
        stored.pop("exclude_cidr_list")
        stored.pop("port")
        return stored


def check_role_name(name: str) -> None:
    """A name OpenBao's pattern does not match routes nowhere there: its 404."""
    if not _ROLE_NAME.fullmatch(name):
        raise NotFound(multierror("unsupported path"))


def read_role(view: StorageView, name: str) -> Role | None:
    raw = view.get_json(ROLE_PREFIX + name)
    return None if raw is None else Role.from_storage(raw)


def read_roles(view: StorageView, names: list[str]) -> dict[str, Role]:
    """The roles of ``names`` that exist, in one batched read instead of one read each."""
    entries = view.get_many([ROLE_PREFIX + name for name in names])
    return {name: Role.from_storage(jsonio.loads(entry.value)) for name in names
            if (entry := entries.get(ROLE_PREFIX + name)) is not None}


def write_role(view: StorageView, name: str, role: Role) -> None:
    view.put_json(ROLE_PREFIX + name, role.to_storage())


# Go's conversions of a role's map fields (createCARole) -------------------------------


def go_text(value: Any) -> str:
    """A decoded JSON value as Go's fmt "%v" prints it (convertMapToStringValue)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "<nil>"
    if isinstance(value, list):
        return "[" + " ".join(go_text(item) for item in value) + "]"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{go_text(v)}" for k, v in sorted(value.items())) + "]"
    return repr(value)


def _go_int(value: Any) -> int:
    # parseutil.ParseInt, with strconv's error texts.
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float | str):
        text = value.strip() if isinstance(value, str) else repr(value)
        if text == "":
            return 0
        try:
            return go_parse_int10(text)
        except PolicyTextError as error:
            raise ValueError(str(error)) from None
    raise ValueError("could not parse value from input")


def _go_int_list(value: Any) -> list[int] | None:
    # parseutil.SafeParseIntSlice: a comma list, a JSON list or one value; null is kept.
    if value is None:
        return None
    if isinstance(value, str) and "," in value:
        items: list[Any] = [item for item in value.split(",") if item.strip()]
    elif isinstance(value, list):
        items = [item for item in value if not (isinstance(item, str) and not item.strip())]
    else:
        items = [value]
    return [_go_int(item) for item in items]


def key_lengths(raw: dict[str, Any]) -> dict[str, list[int] | None]:
    try:
        return {key: _go_int_list(value) for key, value in raw.items()}
    except ValueError as error:
        raise BadRequest(f"error processing allowed_user_key_lengths: {error}") from None
