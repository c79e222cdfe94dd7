"""Who a login is in the directory: its bind DN, its DN, its alias and its groups.

OpenBao's ldap backend Login with ldaputil's GetUserBindDN, GetUserDN, GetLdapGroups and
GetUserAliasAttributeValue. Everything a client typed is escaped before it reaches the
directory: RFC 4515 in filters, RFC 4514 in DNs.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from chalicelib.auth.ldap import templates
from chalicelib.auth.ldap.config import LdapConfig
from chalicelib.auth.ldap.directory import Deadline, Directory, DirectoryError, Entry, connect
from chalicelib.core.errors import BadRequest
from chalicelib.framework.login import InvalidCredentials

USER_BIND_FAILED = "ldap operation failed: failed to bind as user"
REBIND_FAILED = "ldap operation failed: failed to re-bind with the BindDN user"
_DEFAULT_USER_FILTER = "({{.UserAttr}}={{.Username}})"


class Found(NamedTuple):
    """A user the directory vouched for: their entity alias and directory groups."""

    alias: str
    groups: tuple[str, ...]


def escape_filter(value: str) -> str:
    from ldap3.utils.conv import escape_filter_chars

    return escape_filter_chars(value)


def escape_dn_value(value: str) -> str:
    from ldap3.utils.dn import escape_rdn

    return escape_rdn(value) if value else value


def authenticate(config: LdapConfig, username: str, password: str) -> Found:
    """Bind as the user with ``password`` and read their groups; InvalidCredentials (which
    counts towards lockout) for an unknown user or a wrong password."""
    if not password:
        if config.deny_null_bind:
            raise BadRequest(
                "password cannot be of zero length when passwordless binds are being denied"
            )
        raise InvalidCredentials(USER_BIND_FAILED)  # never an unauthenticated bind
    deadline = Deadline()
    with connect(config, deadline) as directory:
        entry = _search_user(config, directory, username) if config.searches_for_user else None
        bind_dn = entry.dn if entry else _constructed_dn(config, username)
        if not directory.bind(bind_dn, password):
            raise InvalidCredentials(USER_BIND_FAILED)
        if config.binddn and config.bindpass and not directory.bind(config.binddn, config.bindpass):
            raise InvalidCredentials(REBIND_FAILED)
        user_dn = _user_dn(config, directory, bind_dn, username)
        groups = _groups_of(config, directory, deadline, user_dn, username)
    alias = username if config.username_as_alias else _alias(config, entry, username)
    return Found(alias, groups)


def recheck(config: LdapConfig, username: str) -> tuple[str, ...] | None:
    """The user's groups now, read with the search identity alone (a renewal has no
    password); None when the directory no longer has the user."""
    deadline = Deadline()
    with connect(config, deadline) as directory:
        _service_bind(config, directory)
        if config.searches_for_user:
            entry = _find_user(config, directory, username)
            if entry is None:
                return None
            bind_dn = entry.dn
        else:
            bind_dn = _constructed_dn(config, username)
        user_dn = _user_dn(config, directory, bind_dn, username)
        if not user_dn or not directory.search(user_dn, "(objectClass=*)", ["1.1"], scope="BASE"):
            return None
        return _groups_of(config, directory, deadline, user_dn, username)


def _service_bind(config: LdapConfig, directory: Directory) -> None:
    if not directory.bind(config.binddn, config.bindpass):
        raise DirectoryError("LDAP bind (service) failed")


def _search_user(config: LdapConfig, directory: Directory, username: str) -> Entry:
    """OpenBao's makeLdapSearchRequest: exactly one entry, or the login fails as a wrong
    password would (the client cannot tell which)."""
    if not directory.bind(config.binddn, config.bindpass):
        raise InvalidCredentials(USER_BIND_FAILED)
    entry = _find_user(config, directory, username)
    if entry is None:
        raise InvalidCredentials(USER_BIND_FAILED)
    return entry


def _find_user(config: LdapConfig, directory: Directory, username: str) -> Entry | None:
    values = {"UserAttr": escape_filter(config.userattr), "Username": escape_filter(username)}
    if config.upndomain:
        values = {"UserAttr": "userPrincipalName", "Username": _upn(config, username)}
    query = templates.render(config.userfilter or _DEFAULT_USER_FILTER, values)
    found = directory.search(config.userdn, query, [config.userattr], size_limit=2)
    return found[0] if len(found) == 1 else None


def _upn(config: LdapConfig, username: str) -> str:
    return f"{escape_filter(username)}@{config.upndomain}"


def _constructed_dn(config: LdapConfig, username: str) -> str:
    if config.upndomain:
        return f"{escape_dn_value(username)}@{config.upndomain}"
    return f"{config.userattr}={escape_dn_value(username)},{config.userdn}"


def _user_dn(config: LdapConfig, directory: Directory, bind_dn: str, username: str) -> str:
    """OpenBao's GetUserDN: with a UPN domain the DN is searched for (the last match wins,
    "" when none); otherwise it is the DN bound as."""
    if not config.upndomain:
        return bind_dn
    query = f"(userPrincipalName={_upn(config, username)})"
    found = directory.search(config.userdn, query, ["1.1"])
    return found[-1].dn if found else ""


def _groups_of(
    config: LdapConfig, directory: Directory, deadline: Deadline, user_dn: str, username: str
) -> tuple[str, ...]:
    """OpenBao's GetLdapGroups through groupfilter (memberOf style too, with groupattr
    memberOf): each entry's groupattr values, or its own DN, reduced to their CN."""
    if not config.groupfilter or not config.groupdn:
        return ()
    values = {"UserDN": escape_filter(user_dn), "Username": escape_filter(username)}
    query = templates.render(config.groupfilter, values)
    if config.anonymous_group_search:
        with connect(config, deadline) as anonymous:
            entries = anonymous.search(config.groupdn, query, [config.groupattr])
    else:
        entries = directory.search(config.groupdn, query, [config.groupattr])
    names: set[str] = set()
    for entry in entries:
        found = entry.attributes.get(config.groupattr.lower()) or [entry.dn]
        names.update(_cn(config, value) for value in found)
    return tuple(sorted(names))


def _alias(config: LdapConfig, entry: Entry | None, username: str) -> str:
    """OpenBao's GetUserAliasAttributeValue: the user's userattr value when the user was
    searched for, else the UPN or the DN built from the username."""
    if entry is None:
        return _constructed_dn(config, username)
    values = entry.attributes.get(config.userattr.lower(), [])
    if len(values) != 1:
        raise BadRequest(
            f"LDAP entity alias attribute {config.userattr} empty or not unique for entity "
            "alias mapping"
        )
    return values[0]


_ESCAPED = re.compile(r"\\([0-9a-fA-F]{2}|.)")


def _cn(config: LdapConfig, value: str) -> str:
    """The CN of a DN (OpenBao's getCN); anything that is not a DN is taken as a name."""
    from ldap3.core.exceptions import LDAPInvalidDnError
    from ldap3.utils.dn import parse_dn

    try:
        parts = parse_dn(value)
    except LDAPInvalidDnError:
        return value
    for attribute, escaped, _ in parts:
        matches = attribute == "CN" if config.use_pre111_group_cn_behavior else (
            attribute.lower() == "cn"
        )  # fmt: skip
        if matches:
            return _unescape(escaped)
    return value


def _unescape(value: str) -> str:
    def one(match: re.Match[str]) -> str:
        code = match.group(1)
        return chr(int(code, 16)) if len(code) == 2 else code

    return _ESCAPED.sub(one, value)
