"""Logging in to the web UI with the auth methods listed on its login page: LDAP against
a real slapd, and OIDC's redirects through a loopback provider."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import login_with_password
from tests.idp_support import CLIENT_ID, CLIENT_SECRET, IdP, idp
from tests.ldap_support import USERS, Directory

__all__ = ["idp"]  # a fixture the tests below take

pytestmark = pytest.mark.xdist_group("ui-browser-login")


def test_oidc_login_follows_the_providers_redirect_back_to_the_ui(
    page, ui_server, root_api, idp: IdP
) -> None:
    callback = f"{ui_server.address}/ui/vault/auth/oidc/oidc/callback"
    assert root_api.post("sys/auth/oidc", {"type": "oidc"}).ok
    assert root_api.post("sys/auth/oidc/tune", {"listing_visibility": "unauth"}).ok
    config = {"oidc_discovery_url": idp.url, "oidc_client_id": CLIENT_ID,
              "oidc_client_secret": CLIENT_SECRET, "default_role": "web"}  # fmt: skip
    assert root_api.post("auth/oidc/config", config).ok
    role = {"user_claim": "email", "allowed_redirect_uris": callback, "token_policies": "default"}
    assert root_api.post("auth/oidc/role/web", role).ok

    page.goto(f"{ui_server.address}/ui/")
    page.get_by_role("tab", name="oidc (oidc)").click()
    page.get_by_role("button", name="Sign in with OIDC").click()
    page.locator("#logout").wait_for(state="visible")
    assert idp.last_authorize["redirect_uri"] == callback
    # The code and state left the address bar once exchanged.
    expect(page).to_have_url(f"{ui_server.address}/ui/#/secrets")
    who = page.evaluate(
        "fetch('../v1/auth/token/lookup-self', {headers: {'X-Vault-Token':"
        " sessionStorage.getItem('lambdavault.token')}}).then(r => r.json())"
    )
    assert who["data"]["display_name"] == "oidc-alice@example.com"


@pytest.mark.parametrize("mount", ["oidc", "%E0"])  # %E0: no UTF-8, decoding it throws
def test_a_callback_this_tab_did_not_start_is_refused_unsent(page, ui_server, mount) -> None:
    # Exchanging it would log the user in as whoever's code the link carries.
    page.goto(f"{ui_server.address}/ui/vault/auth/{mount}/oidc/callback?code=c&state=forged")
    expect(page.locator(".notice")).to_contain_text("OIDC login failed:")
    expect(page).to_have_url(f"{ui_server.address}/ui/#/login")
    assert not [u for u in page.seen.urls if "/v1/auth/" in u]


def test_a_failed_oidc_exchange_is_explained_on_the_login_page(page, ui_server) -> None:
    page.goto(f"{ui_server.address}/ui/")
    pending = "{mount: 'oidc', nonce: 'n', state: 's'}"
    page.evaluate(f"sessionStorage.setItem('lambdavault.oidc', JSON.stringify({pending}))")
    page.goto(f"{ui_server.address}/ui/vault/auth/oidc/oidc/callback?code=c&state=s")
    expect(page.locator(".notice")).to_contain_text("OIDC login failed:")
    assert [u for u in page.seen.urls if "/v1/auth/oidc/oidc/callback?" in u]


def test_ldap_login_from_the_listed_mount(page, ui_server, root_api, slapd: Directory) -> None:
    assert root_api.post("sys/auth/ldap", {"type": "ldap"}).ok
    assert root_api.post("sys/auth/ldap/tune", {"listing_visibility": "unauth"}).ok
    assert root_api.post("auth/ldap/config", slapd.config(token_policies="default")).ok
    login_with_password(page, ui_server, "alice", USERS["alice"], "ldap (ldap)")
    expect(page.locator("#who")).to_have_text("ldap-alice")


def test_only_methods_listed_as_unauth_get_a_tab(page, ui_server, root_api) -> None:
    assert root_api.post("sys/auth/quiet", {"type": "userpass"}).ok
    assert root_api.post("sys/auth/loud", {"type": "userpass"}).ok
    assert root_api.post("sys/auth/loud/tune", {"listing_visibility": "unauth"}).ok
    page.goto(f"{ui_server.address}/ui/")
    page.get_by_role("tab", name="loud (userpass)").wait_for()
    assert page.get_by_role("tab", name="quiet (userpass)").count() == 0
