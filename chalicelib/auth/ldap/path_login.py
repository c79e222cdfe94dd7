"""login/:username, and the renewal of the tokens it issues."""

from __future__ import annotations

from collections.abc import Mapping

from chalicelib.auth.ldap.config import CONFIG_KEY, LdapConfig, load
from chalicelib.auth.ldap.lookup import authenticate, recheck
from chalicelib.auth.ldap.mappings import USER_PREFIX, mapped_policies, storage_key
from chalicelib.core.cidrs import address_in
from chalicelib.core.errors import BadRequest, PermissionDenied
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.framework import Field, FieldData, FieldType, Path
from chalicelib.framework.login import Auth, LoginRenewal
from chalicelib.framework.storage import view_of
from chalicelib.framework.tokenfields import TokenSettings
from chalicelib.storage.view import StorageView
from chalicelib.tokens.policies import unique_sorted


def _username(data: FieldData, config: LdapConfig | None = None) -> str:
    # Trimmed, as OpenBao (a directory that ignores spaces must not dodge the lockout).
    name = data["username"].strip()
    return name if config is not None and config.case_sensitive_names else name.lower()


def path_login(request: Request, data: FieldData) -> Response:
    """OpenBao's ldap pathLogin: the directory checks the password; groups and the user map
    to policies here; directory groups become external group aliases."""
    view = view_of(request)
    config = load(view)
    cidrs = config.token.bound_cidrs
    if cidrs and not address_in(request.remote_address, cidrs):
        raise PermissionDenied()
    username = _username(data, config)
    if not username:
        raise BadRequest("missing username")
    found = authenticate(config, username, data["password"])
    mapped = mapped_policies(view, username, found.groups, config.case_sensitive_names)
    response = Response(
        data={},  # OpenBao's ldap login answers an empty data object, not null
        login=Auth(
            alias_name=found.alias,
            token=config.token,
            metadata={"username": username},
            display_name=username,
            extra_policies=mapped.policies,
            alias_metadata={"name": username},
            group_aliases=mapped.groups,
            internal={"username": username},
        )
    )
    if not found.groups:
        response.warnings.append(
            f'no LDAP groups found in groupDN "{config.groupdn}"; only policies from '
            "locally-defined groups available"
        )
    return response


def renew_login(view: StorageView, renewal: LoginRenewal) -> TokenSettings:
    """As OpenBao's pathLoginRenew, the directory is asked again and the renewal refused
    when the policies it leads to changed. The password is never kept, so the user is
    looked up with the configured search identity instead of binding as them."""
    config = load(view)
    username = renewal.metadata.get("username", "")
    groups = recheck(config, username) if username else None
    if groups is None:
        raise BadRequest("the user of this token is no longer in the directory, not renewing")
    mapped = mapped_policies(view, username, groups, config.case_sensitive_names)
    wanted = set(unique_sorted([*config.token.policies, *mapped.policies])) - {"default"}
    if wanted != set(renewal.policies) - {"default"}:
        raise BadRequest("policies have changed, not renewing")
    return config.token


def _prefetch(captures: Mapping[str, str]) -> list[str]:
    # The config and (for case-insensitive names, the default) the user's local entry ride
    # in the request's first read with the lockout counter and identity entries.
    user = storage_key(USER_PREFIX, captures["username"].strip().lower())
    return [CONFIG_KEY, *([user] if user else [])]


def paths() -> list[Path]:
    return [
        Path(
            "login/{username:path}",
            {Operation.UPDATE: path_login},
            {"username": Field(FieldType.STRING, ""), "password": Field(FieldType.STRING, "")},
            prefetch=_prefetch,
            lockout_alias=_username,
        )
    ]
