"""What an auth method's login hands the pipeline, and what it is asked on renewal.

A login handler checks the credentials and returns ``Response(login=Auth(...))``; the
pipeline then creates the token, finds or creates the entity for the alias, and answers
with Vault's ``auth`` block. The method never touches the token store or the identity
store itself (OpenBao's ``logical.Auth``, returned by a backend to its core).
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from types import MappingProxyType
from typing import NamedTuple

from chalicelib.core.errors import VaultError
from chalicelib.framework.tokenfields import TokenSettings

_EMPTY: Mapping[str, str] = MappingProxyType({})


class InvalidCredentials(VaultError):
    """A login with a wrong secret: counts towards the user's lockout (OpenBao's
    ``ErrInvalidCredentials``). Every cause of it must read the same to the client."""

    status = HTTPStatus.BAD_REQUEST


class Auth(NamedTuple):
    """A successful login: who logged in and what their token may be."""

    # The alias the identity store keys the entity on (userpass: the username).
    alias_name: str
    token: TokenSettings
    # Token metadata, shown by token lookup and in the audit log (never a secret).
    metadata: Mapping[str, str] = _EMPTY
    # Appended to the mount path for the token's display name ("userpass-alice").
    display_name: str = ""
    # Policies beyond the token settings' own (e.g. from an LDAP group).
    extra_policies: tuple[str, ...] = ()
    alias_metadata: Mapping[str, str] = _EMPTY
    # External group aliases the login proved membership of (LDAP groups, JWT claims).
    group_aliases: tuple[str, ...] = ()
    # Kept with the token for the method's renew callback; never shown to clients.
    internal: Mapping[str, str] = _EMPTY


class LoginRenewal(NamedTuple):
    """What a method's renew callback learns of the token being renewed. The callback
    returns the settings that bound the renewal now (their TTLs and period), or raises
    when the login no longer stands (user deleted, policies changed)."""

    internal: Mapping[str, str]
    # The token's own policies as issued ("default" included unless it was refused).
    policies: tuple[str, ...]
    metadata: Mapping[str, str]
