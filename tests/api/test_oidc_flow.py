"""The OIDC authorization-code flow: auth_url, the provider's redirect, the callback."""

from __future__ import annotations

import urllib.parse
from collections import Counter

import pytest
import requests

from chalicelib.auth.jwt import oidc_state
from tests.idp_support import CLIENT_ID, CLIENT_SECRET, IdP, idp
from tests.support import VaultHTTP


@pytest.fixture(scope="module", name="vault")
def module_cluster(module_vault: VaultHTTP) -> VaultHTTP:
    """One cluster for the module's tests (each mounts its engine afresh)."""
    return module_vault


__all__ = ["idp"]  # a fixture the tests below take

CLI_CALLBACK = "http://localhost:8250/oidc/callback"


@pytest.fixture
def oidc(vault: VaultHTTP, idp: IdP) -> VaultHTTP:
    vault.delete("sys/auth/oidc")  # the module's tests share a cluster
    assert vault.post("sys/auth/oidc", {"type": "oidc"}).status_code == 204
    config = {"oidc_discovery_url": idp.url, "oidc_client_id": CLIENT_ID,
              "oidc_client_secret": CLIENT_SECRET, "default_role": "web"}  # fmt: skip
    assert vault.post("auth/oidc/config", config).status_code == 204
    role = {"user_claim": "email", "allowed_redirect_uris": CLI_CALLBACK,
            "oidc_scopes": "groups", "token_policies": "web", "groups_claim": "groups",
            "claim_mappings": {"sub": "subject"}}  # fmt: skip
    assert vault.post("auth/oidc/role/web", role).status_code == 204
    idp.user = {"sub": "alice", "email": "alice@example.com", "groups": ["dev"]}
    return vault


def _auth_url(vault: VaultHTTP, redirect: str = CLI_CALLBACK, nonce: str = "cn") -> str:
    body = {"role": "web", "redirect_uri": redirect, "client_nonce": nonce}
    reply = vault.post("auth/oidc/oidc/auth_url", body, token="")
    assert reply.status_code == 200, reply.text
    return reply.json()["data"]["auth_url"]


def _approve(auth_url: str) -> dict[str, str]:
    """The browser's part: the provider approves and redirects with code and state."""
    reply = requests.get(auth_url, allow_redirects=False, timeout=10)
    assert reply.status_code == 302
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(reply.headers["Location"]).query))


def _callback(vault: VaultHTTP, params: dict[str, str], nonce: str = "cn") -> requests.Response:
    return vault.get("auth/oidc/oidc/callback", params={**params, "client_nonce": nonce},
                     token="")  # fmt: skip


def test_code_flow_logs_in_with_pkce(oidc: VaultHTTP, idp: IdP) -> None:
    url = _auth_url(oidc)
    asked = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
    assert url.startswith(f"{idp.url}/authorize?")
    assert asked["client_id"] == CLIENT_ID and asked["redirect_uri"] == CLI_CALLBACK
    assert asked["scope"] == "openid groups" and asked["response_type"] == "code"
    assert asked["code_challenge_method"] == "S256" and asked["code_challenge"]
    assert asked["state"] and asked["nonce"]
    reply = _callback(oidc, _approve(url))
    assert reply.status_code == 200, reply.text
    auth = reply.json()["auth"]
    assert auth["policies"] == ["default", "web"]
    assert auth["metadata"] == {"role": "web", "subject": "alice"}
    assert idp.hits["/token"] == 1


def test_a_callback_is_consumed_once(oidc: VaultHTTP) -> None:
    params = _approve(_auth_url(oidc))
    assert _callback(oidc, params).status_code == 200
    replay = _callback(oidc, params)
    assert (replay.status_code, replay.json()) == (
        400, {"errors": ["OpenBao login failed. Expired or missing OAuth state."]})


@pytest.mark.parametrize("state", ["", "st_1_" + "a" * 32, "bogus", "../../x"])
def test_unknown_states_are_refused(oidc: VaultHTTP, state: str) -> None:
    reply = _callback(oidc, {"state": state, "code": "c"})
    assert reply.status_code == 400
    assert reply.json()["errors"] == ["OpenBao login failed. Expired or missing OAuth state."]


def test_an_expired_state_is_refused(oidc: VaultHTTP, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(oidc_state, "REQUEST_TIMEOUT", 0)
    params = _approve(_auth_url(oidc))
    assert _callback(oidc, params).json()["errors"] == [
        "OpenBao login failed. Expired or missing OAuth state."]


def test_client_nonce_must_match(oidc: VaultHTTP) -> None:
    params = _approve(_auth_url(oidc))
    reply = _callback(oidc, params, nonce="other")
    assert (reply.status_code, reply.json()) == (400, {"errors": ["invalid client_nonce"]})
    assert _callback(oidc, params).status_code == 400  # the state went with the attempt


def test_id_token_nonce_and_audience_are_checked(oidc: VaultHTTP, idp: IdP) -> None:
    idp.id_token_overrides = {"nonce": "replayed"}
    reply = _callback(oidc, _approve(_auth_url(oidc)))
    assert reply.json()["errors"] == ["OpenBao login failed. invalid ID token nonce."]
    idp.id_token_overrides = {"aud": "another-client"}
    reply = _callback(oidc, _approve(_auth_url(oidc)))
    assert reply.status_code == 400
    assert "invalid audience (aud) claim" in reply.json()["errors"][0]


def test_a_bare_id_token_needs_the_id_token_response_type(oidc: VaultHTTP, idp: IdP) -> None:
    asked = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(_auth_url(oidc)).query))
    id_token = idp.token({"aud": CLIENT_ID, "nonce": asked["nonce"], **idp.user})
    reply = _callback(oidc, {"state": asked["state"], "id_token": id_token})
    assert reply.json()["errors"] == ["OpenBao login failed. No code or id_token received."]


def test_provider_errors_are_reported(oidc: VaultHTTP) -> None:
    state = _approve(_auth_url(oidc))["state"]
    reply = _callback(oidc, {"state": state, "error": "access_denied"})
    assert reply.json()["errors"] == ["OpenBao login failed. access_denied"]


def test_redirect_uris(oidc: VaultHTTP) -> None:
    assert _auth_url(oidc, "https://evil.example/cb") == ""
    # A loopback redirect may use any port (the CLI picks one), as OpenBao allows.
    assert _auth_url(oidc, "http://localhost:9999/oidc/callback").startswith("http")
    reply = oidc.post("auth/oidc/oidc/auth_url", {"role": "web"}, token="")
    assert reply.json()["errors"] == ["missing redirect_uri"]


def test_groups_claim_joins_external_groups(oidc: VaultHTTP) -> None:
    accessor = oidc.get("sys/auth").json()["data"]["oidc/"]["accessor"]
    group = oidc.post("identity/group", {"name": "dev", "type": "external",
                                         "policies": "dev-policy"}).json()["data"]["id"]
    oidc.post("identity/group-alias", {"name": "dev", "mount_accessor": accessor,
                                       "canonical_id": group})  # fmt: skip
    auth = _callback(oidc, _approve(_auth_url(oidc))).json()["auth"]
    assert auth["identity_policies"] == ["dev-policy"]


def test_form_post_callback(oidc: VaultHTTP, idp: IdP) -> None:
    assert oidc.post("auth/oidc/oidc/callback", {"state": "x"}, token="").status_code == 405
    config = {"oidc_discovery_url": idp.url, "oidc_client_id": CLIENT_ID,
              "oidc_client_secret": CLIENT_SECRET, "oidc_response_mode": "form_post"}
    assert oidc.post("auth/oidc/config", config).status_code == 204
    url = _auth_url(oidc)
    assert "response_mode=form_post" in url
    params = _approve(url)
    reply = oidc.post("auth/oidc/oidc/callback", {**params, "client_nonce": "cn"}, token="")
    assert reply.status_code == 200, reply.text


def test_client_secret_post(oidc: VaultHTTP, idp: IdP) -> None:
    idp.auth_methods = ["client_secret_post"]
    oidc.post("auth/oidc/config", {"oidc_discovery_url": idp.url, "oidc_client_id": CLIENT_ID,
                                   "oidc_client_secret": CLIENT_SECRET})  # fmt: skip
    assert _callback(oidc, _approve(_auth_url(oidc))).status_code == 200


def test_auth_url_needs_an_oidc_client(vault: VaultHTTP, idp: IdP) -> None:
    vault.post("sys/auth/jwt", {"type": "jwt"})
    vault.post("auth/jwt/config", {"oidc_discovery_url": idp.url})
    vault.post("auth/jwt/role/web", {"user_claim": "sub", "allowed_redirect_uris": CLI_CALLBACK})
    reply = vault.post("auth/jwt/oidc/auth_url", {"role": "web", "redirect_uri": CLI_CALLBACK})
    assert reply.json()["errors"] == ["OIDC login is not configured for this mount"]


def test_oidc_login_counts(oidc: VaultHTTP, idp: IdP, calls: Counter[str]) -> None:
    _callback(oidc, _approve(_auth_url(oidc)))
    calls.clear()
    hits = sum(idp.hits.values())
    url = _auth_url(oidc)
    at_auth_url = dict(calls)
    calls.clear()
    reply = _callback(oidc, _approve(url))
    assert reply.status_code == 200
    print("dynamodb calls: auth_url", at_auth_url, "callback", dict(calls),
          "idp requests", sum(idp.hits.values()) - hits)
    # authorize (the browser's) and token: discovery and JWKS are cached.
    assert sum(idp.hits.values()) - hits == 2


def test_a_refused_code_exchange_names_no_secret(oidc: VaultHTTP, idp: IdP) -> None:
    oidc.post("auth/oidc/config", {"oidc_discovery_url": idp.url, "oidc_client_id": CLIENT_ID,
                                   "oidc_client_secret": "not-the-secret"})  # fmt: skip
    reply = _callback(oidc, _approve(_auth_url(oidc)))
    assert reply.status_code == 400
    assert reply.json()["errors"] == [
        f'OpenBao login failed. Error exchanging oidc code: "{idp.url}/token answered 401 '
        '(invalid_client)".']
    assert "not-the-secret" not in reply.text


def test_id_token_response_type(oidc: VaultHTTP, idp: IdP) -> None:
    config = {"oidc_discovery_url": idp.url, "oidc_client_id": CLIENT_ID,
              "oidc_client_secret": CLIENT_SECRET, "oidc_response_mode": "form_post",
              "oidc_response_types": "id_token"}  # fmt: skip
    assert oidc.post("auth/oidc/config", config).status_code == 204
    asked = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(_auth_url(oidc)).query))
    assert asked["response_type"] == "id_token" and "code_challenge" not in asked
    id_token = idp.token({"aud": CLIENT_ID, "nonce": asked["nonce"], **idp.user})
    form = {"state": asked["state"], "id_token": id_token, "client_nonce": "cn"}
    reply = oidc.post("auth/oidc/oidc/callback", form, token="")
    assert reply.status_code == 200, reply.text
    asked = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(_auth_url(oidc)).query))
    forged = idp.token({"aud": CLIENT_ID, "nonce": asked["nonce"], **idp.user}, kid="ec-1")
    form = {"state": asked["state"], "id_token": forged, "client_nonce": "cn"}
    reply = oidc.post("auth/oidc/oidc/callback", form, token="")
    assert reply.json()["errors"] == [
        "Token verification failed. error verifying token signature: failed to verify id "
        "token signature"]  # ES256 is not in jwt_supported_algs
    assert idp.hits["/token"] == 0
