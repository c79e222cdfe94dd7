"""The ldap auth method over HTTP against a real slapd: logins, group mapping, identity
groups, renewal, lockout, injection attempts, and what a login costs.

Expected texts and shapes were recorded from `bao server -dev` of OpenBao 2.6.2 against
the same directory.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from chalicelib.auth.ldap import directory
from tests.ldap_support import GROUPS_DN, USERS, USERS_DN, Directory, user_dn
from tests.support import VaultHTTP

BIND_FAILED = {"errors": ["ldap operation failed: failed to bind as user"]}
DENIED = {"errors": ["permission denied"]}


@pytest.fixture
def ldap(vault: VaultHTTP, slapd: Directory) -> VaultHTTP:
    assert vault.post("sys/auth/ldap", {"type": "ldap"}).status_code == 204
    configure(vault, slapd.config(token_policies="base"))
    return vault


def configure(vault: VaultHTTP, body: dict[str, Any]) -> None:
    reply = vault.post("auth/ldap/config", body)
    assert reply.status_code in (200, 204), reply.text


def login(vault: VaultHTTP, name: str, password: str | None = None) -> Any:
    secret = USERS.get(name.strip().lower(), "x") if password is None else password
    return vault.post(f"auth/ldap/login/{name}", {"password": secret}, token="")


def auth_of(vault: VaultHTTP, name: str, password: str | None = None) -> dict[str, Any]:
    reply = login(vault, name, password)
    assert reply.status_code == 200, reply.text
    return reply.json()["auth"]


def map_group(vault: VaultHTTP, name: str, policies: str) -> None:
    assert vault.post(f"auth/ldap/groups/{name}", {"policies": policies}).status_code == 204


def alias_name(vault: VaultHTTP, entity_id: str) -> str:
    aliases = vault.get(f"identity/entity/id/{entity_id}").json()["data"]["aliases"]
    return aliases[0]["name"]


# -- logins ------------------------------------------------------------------------------


def test_groups_and_the_user_map_to_policies(ldap: VaultHTTP) -> None:
    map_group(ldap, "engineers", "eng,Shared")
    map_group(ldap, "devs", "dev")
    extra = {"policies": "alice-own", "groups": "Extra, extra2"}
    assert ldap.post("auth/ldap/users/Alice", extra).status_code == 204
    map_group(ldap, "extra2", "from-local-group")
    reply = login(ldap, "alice")
    assert reply.json()["warnings"] is None
    auth = reply.json()["auth"]
    assert auth["policies"] == [
        "alice-own", "base", "default", "eng", "from-local-group", "shared",
    ]  # fmt: skip
    assert auth["metadata"] == {"username": "alice"}
    assert auth["renewable"] is True and auth["token_type"] == "service"
    # The name is case-insensitive by default: the same user and entity.
    assert auth_of(ldap, "Alice")["entity_id"] == auth["entity_id"]
    # A DN that needs RFC 4514 escaping, a CN "Devs" mapped in lowercase.
    assert auth_of(ldap, "dave, jr")["policies"] == ["base", "default", "dev"]
    looked = ldap.get("auth/token/lookup-self", token=auth["client_token"]).json()["data"]
    assert looked["display_name"] == "ldap-alice" and looked["path"] == "auth/ldap/login/alice"


def test_a_password_is_sent_as_typed(ldap: VaultHTTP) -> None:
    assert auth_of(ldap, "erin")["metadata"] == {"username": "erin"}


def test_every_group_schema_is_found(ldap: VaultHTTP, slapd: Directory) -> None:
    """groupOfNames (member), groupOfUniqueNames (uniqueMember), posixGroup (memberUid)."""
    for group in ("engineers", "admins", "ops"):
        map_group(ldap, group, f"{group}-policy")
    assert auth_of(ldap, "alice")["policies"] == [
        "admins-policy", "base", "default", "engineers-policy",
    ]  # fmt: skip
    assert auth_of(ldap, "bob")["policies"] == ["base", "default", "engineers-policy", "ops-policy"]


def test_member_of_style_groups(ldap: VaultHTTP, slapd: Directory) -> None:
    """Groups read from the user's own memberOf (the overlay), as with Active Directory."""
    configure(ldap, {
        "groupdn": USERS_DN, "groupattr": "memberOf",
        "groupfilter": "(&(objectClass=inetOrgPerson)(cn={{.Username}}))",
    })  # fmt: skip
    map_group(ldap, "engineers", "eng")
    assert auth_of(ldap, "bob")["policies"] == ["base", "default", "eng"]


def test_a_user_without_groups_is_warned(ldap: VaultHTTP) -> None:
    reply = login(ldap, "carol")
    assert reply.json()["warnings"] == [
        f'no LDAP groups found in groupDN "{GROUPS_DN}"; only policies from '
        "locally-defined groups available"
    ]
    assert reply.json()["auth"]["policies"] == ["base", "default"]


@pytest.mark.parametrize(
    ("name", "password"),
    [
        ("alice", "wrong"),
        ("nobody", "x"),
        # Filter injection: escaped, so they name no one (never every user).
        ("*", "alice-pw"),
        ("alice)(cn=*", "alice-pw"),
        ("alice*", "alice-pw"),
        ("*)(|(cn=*", "alice-pw"),
        ("alice\\2a", "alice-pw"),
        # Sent as typed (no SASLprep): the directory, not the client library, refuses it.
        ("alice", "alice-pw\u0007"),
        ("alice", "alice\u3000pw"),
    ],
)
def test_failed_logins_read_the_same(ldap: VaultHTTP, name: str, password: str) -> None:
    reply = login(ldap, name, password)
    assert (reply.status_code, reply.json()) == (400, BIND_FAILED)


def test_dn_injection_is_escaped_when_the_dn_is_built(ldap: VaultHTTP) -> None:
    """Without a search, the username goes into the bind DN: RFC 4514 escaping keeps
    "alice,ou=x" from naming another entry."""
    configure(ldap, {"binddn": "", "bindpass": ""})
    assert auth_of(ldap, "dave, jr")["policies"] == ["base", "default"]
    for name in ("alice,ou=users", "cn=alice", "alice+sn=alice"):
        assert login(ldap, name, "alice-pw").json() == BIND_FAILED


def test_an_empty_password_never_binds(ldap: VaultHTTP) -> None:
    assert login(ldap, "alice", "").json() == {
        "errors": ["password cannot be of zero length when passwordless binds are being denied"]
    }
    configure(ldap, {"deny_null_bind": False})
    assert login(ldap, "alice", "").json() == BIND_FAILED  # no unauthenticated bind either


def test_a_wrong_search_password_fails_the_login(ldap: VaultHTTP, slapd: Directory) -> None:
    configure(ldap, {"bindpass": "not-it"})
    assert login(ldap, "alice").json() == BIND_FAILED


def test_the_config_token_settings_shape_the_token(ldap: VaultHTTP) -> None:
    configure(ldap, {"token_ttl": "1h", "token_no_default_policy": True, "token_type": "batch"})
    auth = auth_of(ldap, "carol")
    assert (auth["lease_duration"], auth["policies"], auth["token_type"]) == (
        3600, ["base"], "batch",
    )  # fmt: skip


def test_cidr_bound_config_refuses_other_addresses(ldap: VaultHTTP) -> None:
    configure(ldap, {"token_bound_cidrs": "10.0.0.0/8"})
    assert login(ldap, "alice").json() == DENIED


# -- aliases and identity ------------------------------------------------------------------


def test_the_alias_follows_the_lookup_mode(ldap: VaultHTTP) -> None:
    """Searched: the userattr value; built: the DN; username_as_alias: the name typed."""
    assert alias_name(ldap, auth_of(ldap, "Alice")["entity_id"]) == "alice"
    configure(ldap, {"binddn": "", "bindpass": ""})
    assert alias_name(ldap, auth_of(ldap, "alice")["entity_id"]) == user_dn("alice")
    configure(ldap, {"username_as_alias": True})
    assert alias_name(ldap, auth_of(ldap, "bob")["entity_id"]) == "bob"


def test_directory_groups_become_external_identity_groups(ldap: VaultHTTP) -> None:
    accessor = ldap.get("sys/auth").json()["data"]["ldap/"]["accessor"]
    made = ldap.post("identity/group", {"name": "eng", "type": "external", "policies": "ext"})
    group_id = made.json()["data"]["id"]
    alias = {"name": "engineers", "mount_accessor": accessor, "canonical_id": group_id}
    assert ldap.post("identity/group-alias", alias).status_code == 200
    auth = auth_of(ldap, "bob")
    assert auth["identity_policies"] == ["ext"]
    members = ldap.get(f"identity/group/id/{group_id}").json()["data"]["member_entity_ids"]
    assert members == [auth["entity_id"]]
    assert not auth_of(ldap, "carol").get("identity_policies")


# -- lookup modes ------------------------------------------------------------------------


def test_discoverdn_searches_anonymously(ldap: VaultHTTP) -> None:
    configure(ldap, {"binddn": "", "bindpass": "", "discoverdn": True})
    map_group(ldap, "engineers", "eng")
    assert auth_of(ldap, "bob")["policies"] == ["base", "default", "eng"]
    assert login(ldap, "bob", "wrong").json() == BIND_FAILED


def test_userfilter_and_upndomain(ldap: VaultHTTP) -> None:
    configure(ldap, {"userfilter": "(&(objectClass=inetOrgPerson)({{.UserAttr}}={{.Username}}))"})
    assert auth_of(ldap, "alice")["metadata"] == {"username": "alice"}
    configure(ldap, {"upndomain": "example.org", "userattr": "userPrincipalName"})
    map_group(ldap, "engineers", "eng")
    auth = auth_of(ldap, "bob")
    assert auth["policies"] == ["base", "default", "eng"]
    assert alias_name(ldap, auth["entity_id"]) == "bob@example.org"


def test_anonymous_group_search_and_paging(ldap: VaultHTTP) -> None:
    for group in ("engineers", "admins"):
        map_group(ldap, group, group)
    configure(ldap, {
        "anonymous_group_search": True, "max_page_size": 1, "dereference_aliases": "always",
    })  # fmt: skip
    assert auth_of(ldap, "alice")["policies"] == ["admins", "base", "default", "engineers"]


# -- renewal -----------------------------------------------------------------------------


def test_renewal_rereads_the_directory(ldap: VaultHTTP, slapd: Directory) -> None:
    map_group(ldap, "engineers", "eng")
    admin = slapd.admin()
    dn = user_dn("frank")
    assert admin.add(dn, ["inetOrgPerson"], {"cn": "frank", "sn": "f", "userPassword": "f-pw"})
    group = f"cn=engineers,{GROUPS_DN}"
    try:
        assert admin.modify(group, {"member": [("MODIFY_ADD", [dn])]})
        token = auth_of(ldap, "frank", "f-pw")["client_token"]
        renewed = ldap.post("auth/token/renew-self", {}, token=token)
        assert renewed.status_code == 200, renewed.text
        # Leaving the group changes the policies the login would get now.
        assert admin.modify(group, {"member": [("MODIFY_DELETE", [dn])]})
        refused = ldap.post("auth/token/renew-self", {}, token=token)
        assert refused.json() == {
            "errors": ["failed to renew entry: policies have changed, not renewing"]
        }
        token = auth_of(ldap, "frank", "f-pw")["client_token"]
        assert admin.delete(dn)
        gone = ldap.post("auth/token/renew-self", {}, token=token).json()
        assert gone == {"errors": [
            "failed to renew entry: the user of this token is no longer in the directory, "
            "not renewing"
        ]}  # fmt: skip
    finally:
        admin.modify(group, {"member": [("MODIFY_DELETE", [dn])]})
        admin.delete(dn)
        admin.unbind()


# -- lockout -----------------------------------------------------------------------------


def test_wrong_passwords_and_unknown_users_lock_out(ldap: VaultHTTP) -> None:
    for _ in range(5):
        assert login(ldap, "alice", "wrong").json() == BIND_FAILED
    assert login(ldap, "alice").json() == DENIED  # even the right password
    assert login(ldap, " ALICE ").json() == DENIED  # no dodging by case or spaces
    for _ in range(5):
        login(ldap, "ghost", "x")
    assert login(ldap, "ghost", "x").json() == DENIED
    accessor = ldap.get("sys/auth").json()["data"]["ldap/"]["accessor"]
    assert ldap.post(f"sys/locked-users/{accessor}/unlock/alice").status_code == 204
    assert login(ldap, "alice").status_code == 200


# -- cost ----------------------------------------------------------------------------------


def test_a_steady_login_costs(
    ldap: VaultHTTP, calls: Counter[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """DynamoDB: config, user entry, lockout counter and identity ride in the first read,
    the groups' entries in one more batch read, then the token's writes. The directory:
    one connection, three binds (search identity, user, search identity again) and two
    searches (the user, the groups)."""
    outbound: Counter[str] = Counter()
    for name in ("bind", "search"):
        original = getattr(directory.Directory, name)

        def counted(self: Any, *args: Any, _name: str = name, _original: Any = original,
                    **kwargs: Any) -> Any:
            outbound[_name] += 1
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(directory.Directory, name, counted)
    map_group(ldap, "engineers", "eng")
    auth_of(ldap, "bob")
    calls.clear()
    outbound.clear()
    auth_of(ldap, "bob")
    assert calls["BatchGetItem"] == 2
    assert "GetItem" not in calls and "Query" not in calls
    assert outbound == {"bind": 3, "search": 2}
