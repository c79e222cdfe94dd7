"""auth/ldap/config, groups/ and users/ over HTTP: defaults, validation, secrets never
shown, case handling. Expected shapes and texts recorded from OpenBao 2.6.2's bao."""

from __future__ import annotations

import pytest

from tests.ldap_support import Directory
from tests.support import VaultHTTP

DEFAULTS = {
    "anonymous_group_search": False, "binddn": "", "case_sensitive_names": False,
    "certificate": "", "connection_timeout": 30, "deny_null_bind": True,
    "dereference_aliases": "never", "discoverdn": False, "groupattr": "cn", "groupdn": "",
    "groupfilter": "(|(memberUid={{.Username}})(member={{.UserDN}})(uniqueMember={{.UserDN}}))",
    "insecure_tls": False, "max_page_size": 0, "request_timeout": 90, "starttls": False,
    "tls_max_version": "tls12", "tls_min_version": "tls12", "token_bound_cidrs": [],
    "token_explicit_max_ttl": 0, "token_max_ttl": 0, "token_no_default_policy": False,
    "token_num_uses": 0, "token_period": 0, "token_policies": [], "token_strictly_bind_ip": False,
    "token_ttl": 0, "token_type": "default", "upndomain": "", "url": "ldap://127.0.0.1",
    "use_pre111_group_cn_behavior": False, "use_token_groups": False, "userattr": "cn",
    "userdn": "", "userfilter": "({{.UserAttr}}={{.Username}})", "username_as_alias": False,
}  # fmt: skip


@pytest.fixture
def ldap(vault: VaultHTTP) -> VaultHTTP:
    assert vault.post("sys/auth/ldap", {"type": "ldap"}).status_code == 204
    return vault


def test_an_unwritten_config_reads_as_the_defaults(ldap: VaultHTTP) -> None:
    assert ldap.get("auth/ldap/config").json()["data"] == DEFAULTS


def test_secrets_are_stored_but_never_shown(ldap: VaultHTTP, slapd: Directory) -> None:
    body = slapd.config(
        url="LDAPS://Host.Example:636", userattr="UID", token_ttl="1h", request_timeout="2m",
        client_tls_cert=slapd.client_cert_pem, client_tls_key=slapd.client_key_pem,
    )  # fmt: skip
    assert ldap.post("auth/ldap/config", body).status_code == 204
    reply = ldap.get("auth/ldap/config")
    data = reply.json()["data"]
    assert data == {
        **DEFAULTS, "url": "ldaps://host.example:636", "userattr": "uid", "token_ttl": 3600,
        "request_timeout": 120, "binddn": body["binddn"], "userdn": body["userdn"],
        "groupdn": body["groupdn"],
    }  # fmt: skip
    for secret in (body["bindpass"], slapd.client_key_pem):
        assert secret not in reply.text
    # An update keeps what it does not name.
    assert ldap.post("auth/ldap/config", {"starttls": True}).status_code == 204
    assert ldap.get("auth/ldap/config").json()["data"]["userattr"] == "uid"


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"certificate": "junk"},
         "failed to parse server tls cert: failed to decode PEM block in the certificate"),
        ({"client_tls_cert": "junk"}, "both client_tls_cert and client_tls_key must be set"),
        ({"client_tls_cert": "junk", "client_tls_key": "junk"},
         "failed to parse client X509 key pair"),
        ({"tls_min_version": "tls13"},
         "'tls_max_version' must be greater than or equal to 'tls_min_version'"),
        ({"userfilter": "({{.Bad}})"},
         "invalid userfilter: {{.Bad}} is not one of {{.UserAttr}}, {{.Username}}"),
        ({"groupfilter": "(member={{.UserDN}"}, "invalid groupfilter: unclosed action"),
        ({"request_timeout": "-1s"}, "'request_timeout' cannot be negative"),
        ({"token_type": "bogus"}, "invalid 'token_type' value \"bogus\""),
    ],
)  # fmt: skip
def test_bad_configs_are_refused(ldap: VaultHTTP, body: dict, error: str) -> None:
    reply = ldap.post("auth/ldap/config", body)
    assert (reply.status_code, reply.json()) == (400, {"errors": [error]})


def test_a_userfilter_ignoring_userattr_is_warned_about(ldap: VaultHTTP) -> None:
    reply = ldap.post("auth/ldap/config", {"userfilter": "(uid={{.Username}})"})
    warning = (
        "userfilter configured does not consider userattr and may result in colliding entity "
        "aliases on logins"
    )
    assert reply.json()["warnings"] == [warning]
    assert ldap.get("auth/ldap/config").json()["warnings"] == [warning]


def test_groups_and_users_crud(ldap: VaultHTTP) -> None:
    assert ldap.list("auth/ldap/groups").status_code == 404
    assert ldap.post("auth/ldap/groups/Engineers", {"policies": "eng,Shared"}).status_code == 204
    assert ldap.post("auth/ldap/groups/devs", {"policies": ["dev"]}).status_code == 204
    assert ldap.get("auth/ldap/groups/ENGINEERS").json()["data"] == {"policies": ["eng", "shared"]}
    assert ldap.list("auth/ldap/groups").json()["data"]["keys"] == ["devs", "engineers"]
    user = {"policies": "alice-own", "groups": "Extra, extra2"}
    assert ldap.post("auth/ldap/users/Alice", user).status_code == 204
    assert ldap.get("auth/ldap/users/alice").json()["data"] == {
        "groups": "extra,extra2", "policies": ["alice-own"],
    }  # fmt: skip
    assert ldap.list("auth/ldap/users").json()["data"]["keys"] == ["alice"]
    assert ldap.get("auth/ldap/users/nobody").json() == {"errors": []}
    assert ldap.delete("auth/ldap/users/alice").status_code == 204
    assert ldap.get("auth/ldap/users/alice").status_code == 404
    assert ldap.delete("auth/ldap/groups/devs").status_code == 204
    assert ldap.list("auth/ldap/groups").json()["data"]["keys"] == ["engineers"]


def test_case_sensitive_names_keep_case(ldap: VaultHTTP) -> None:
    assert ldap.post("auth/ldap/config", {"case_sensitive_names": True}).status_code == 204
    assert ldap.post("auth/ldap/groups/Devs", {"policies": "dev"}).status_code == 204
    assert ldap.get("auth/ldap/groups/devs").status_code == 404
    assert ldap.get("auth/ldap/groups/Devs").json()["data"] == {"policies": ["dev"]}


def test_login_paths_need_no_token_but_config_does(ldap: VaultHTTP) -> None:
    assert ldap.get("auth/ldap/config", token="").status_code == 403
    assert ldap.post("auth/ldap/groups/x", {"policies": "p"}, token="").status_code == 403
