"""The web UI's main flows in Chromium against `lambdavault server -dev`: userpass login, KV
read/reveal/edit/versions/diff, a policy's parse error, lease revocation, a restricted user,
XSS, and what the UI's request URLs carry."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import pytest
import requests
from playwright.sync_api import expect

from tests.browser.conftest import login_with_password, login_with_token
from tests.support import VaultHTTP

pytestmark = pytest.mark.xdist_group("ui-browser-flows")

XSS = "<img src=x onerror=alert(1)>"
PASSWORD = "correct horse battery staple"
SECRET_VALUE = "s3cr3t-value-1"
EDITED_VALUE = "s3cr3t-value-2"
USERPASS_TAB = "userpass (userpass)"
EDITOR_POLICY = 'path "*" { capabilities = ["create", "read", "update", "delete", "list", "sudo"] }'
READER_POLICY = """
path "secret/data/team/*" { capabilities = ["read"] }
path "secret/metadata/team/*" { capabilities = ["list", "read"] }
path "secret/metadata/" { capabilities = ["list"] }
"""


@pytest.fixture(scope="module")
def users(root_api: VaultHTTP) -> None:
    """userpass (listed on the login page), an editor and a reader, and a few secrets."""
    assert root_api.post("sys/auth/userpass", {"type": "userpass"}).ok
    assert root_api.post("sys/auth/userpass/tune", {"listing_visibility": "unauth"}).ok
    for name, policy in (("editor", EDITOR_POLICY), ("reader", READER_POLICY)):
        assert root_api.put(f"sys/policies/acl/{name}", {"policy": policy}).ok
        user = {"password": PASSWORD, "token_policies": [name]}
        assert root_api.post(f"auth/userpass/users/{name}", user).ok
    assert root_api.post("secret/data/app/db", {"data": {"password": SECRET_VALUE}}).ok
    assert root_api.post("secret/data/team/notes", {"data": {"hello": "world"}}).ok
    assert root_api.post("secret/data/xss", {"data": {XSS: XSS}}).ok


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    """Where screenshots go: docs/ui/ when LAMBDAVAULT_UI_SCREENSHOTS names it, else tmp."""
    return Path(os.environ.get("LAMBDAVAULT_UI_SCREENSHOTS") or tmp_path)


def test_editor_reads_reveals_edits_and_diffs_a_kv_secret(page, ui_server, users, shots) -> None:
    login_with_password(page, ui_server, "editor", PASSWORD, USERPASS_TAB)
    page.get_by_role("link", name="secret/").wait_for()
    expect(page.locator("#nav a")).to_have_text(
        ["Secrets", "Policies", "Auth methods", "Entities & groups", "Leases", "Audit"]
    )
    page.screenshot(path=shots / "secrets.png")
    page.get_by_role("link", name="secret/").click()
    page.get_by_role("link", name="app/").click()
    page.get_by_role("link", name="db").click()
    row = page.locator("table.secret tr", has_text="password")
    assert SECRET_VALUE not in row.inner_text()  # masked until revealed
    row.get_by_role("button", name="Reveal").click()
    assert SECRET_VALUE in row.inner_text()
    page.screenshot(path=shots / "kv-secret.png")

    page.get_by_role("link", name="Edit").click()
    page.locator(".kv-row input[name=value]").first.fill(EDITED_VALUE)
    page.get_by_role("button", name="Save").click()
    page.get_by_text("version 2").wait_for()

    page.get_by_role("link", name="Versions").click()
    page.get_by_role("button", name="Show diff").click()
    diff = page.locator(".diff")
    assert diff.locator(".del").inner_text().strip() == f'-   "password": "{SECRET_VALUE}"'
    assert diff.locator(".add").inner_text().strip() == f'+   "password": "{EDITED_VALUE}"'
    page.screenshot(path=shots / "kv-diff.png")
    assert not page.seen.dialogs
    assert not page.seen.console_errors  # a CSP violation would be reported here


def test_a_stale_edit_is_shown_as_a_check_and_set_conflict(page, ui_server, users, root_api):
    login_with_password(page, ui_server, "editor", PASSWORD, USERPASS_TAB)
    page.goto(f"{ui_server.address}/ui/#/kv?mount=secret&secret=app/db&view=edit")
    page.locator(".kv-row input[name=value]").first.wait_for()
    assert root_api.post("secret/data/app/db", {"data": {"password": "changed meanwhile"}}).ok
    page.locator(".kv-row input[name=value]").first.fill("mine")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".conflict")).to_contain_text("check-and-set")


def test_an_edit_saved_under_another_existing_name_does_not_overwrite_it(
    page, ui_server, users, root_api
) -> None:
    assert root_api.post("secret/data/renamed/target", {"data": {"keep": "me"}}).ok
    login_with_password(page, ui_server, "editor", PASSWORD, USERPASS_TAB)
    page.goto(f"{ui_server.address}/ui/#/kv?mount=secret&secret=team/notes&view=edit")
    page.locator(".kv-row input[name=value]").first.wait_for()
    page.get_by_label("Secret path").fill("renamed/target")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".conflict")).to_contain_text("check-and-set")
    assert root_api.get("secret/data/renamed/target").json()["data"]["data"] == {"keep": "me"}


def test_a_policy_syntax_error_shows_the_servers_message(page, ui_server, users, shots) -> None:
    login_with_password(page, ui_server, "editor", PASSWORD, USERPASS_TAB)
    page.get_by_role("link", name="Policies").click()
    page.get_by_role("link", name="Create policy").click()
    page.locator("input[name=name]").fill("broken")
    page.locator("textarea[name=policy]").fill('path "x" { capabilities = ["read" }')
    page.get_by_role("button", name="Save policy").click()
    error = page.locator(".field-error")
    expect(error).to_contain_text("failed to parse policy")
    expect(error).to_contain_text("At 1:")  # the server's position of the mistake
    page.screenshot(path=shots / "policy-error.png")

    page.locator("textarea[name=policy]").fill('path "x" { capabilities = ["read"] }')
    page.get_by_role("button", name="Save policy").click()
    page.get_by_role("heading", name="Policy broken").wait_for()
    page.seen.accept_dialogs = True
    page.get_by_role("button", name="Delete policy").click()
    page.get_by_role("heading", name="ACL policies").wait_for()
    expect(page.get_by_role("link", name="broken", exact=True)).to_have_count(0)


def test_revoking_a_lease_revokes_it(page, ui_server, users, root_api, shots) -> None:
    created = root_api.post("auth/token/create", {"ttl": "1h", "policies": ["default"]}).json()
    child = created["auth"]["client_token"]
    login_with_password(page, ui_server, "editor", PASSWORD, USERPASS_TAB)
    page.goto(f"{ui_server.address}/ui/#/leases?prefix=auth/token/create/")
    page.locator("table.list a").first.click()
    page.get_by_text("expire_time").wait_for()
    page.screenshot(path=shots / "lease.png")
    lease_id = page.locator("table.lease tr", has_text="id").first.locator("td").inner_text()
    page.goto(f"{ui_server.address}/ui/#/leases")
    page.get_by_label("Lease ID").fill(lease_id)
    page.get_by_role("button", name="Look up").click()
    page.get_by_role("button", name="Renew").click()
    # As in Vault, a token's lease is renewed through auth/token/renew: the reason is shown.
    expect(page.locator("#flash")).to_contain_text("tokens cannot be renewed through this endpoint")
    page.seen.accept_dialogs = True
    page.get_by_role("button", name="Revoke").click()
    page.get_by_text("No leases under this prefix.").wait_for()
    assert VaultHTTP(ui_server.address, child).get("auth/token/lookup-self").status_code == 403


def test_a_restricted_user_is_offered_only_what_it_may_use(page, ui_server, users) -> None:
    login_with_password(page, ui_server, "reader", PASSWORD, USERPASS_TAB)
    page.get_by_role("link", name="secret/").wait_for()
    assert page.locator("#nav a").all_inner_texts() == ["Secrets"]
    page.get_by_role("link", name="secret/").click()
    page.get_by_role("link", name="team/").click()
    page.get_by_role("link", name="notes").wait_for()
    page.goto(f"{ui_server.address}/ui/#/policies")
    expect(page.locator("#flash")).to_have_text("permission denied")
    page.goto(f"{ui_server.address}/ui/#/kv?mount=secret&secret=app/db")
    expect(page.locator("#flash")).to_have_text("permission denied")


def test_secret_keys_and_values_render_as_text(logged_in, ui_server, users) -> None:
    logged_in.goto(f"{ui_server.address}/ui/#/kv?mount=secret&secret=xss")
    row = logged_in.locator("table.secret tr").first
    row.get_by_role("button", name="Reveal").click()
    assert row.inner_text().count(XSS) == 2  # the key and the revealed value, as text
    assert logged_in.locator("main img").count() == 0
    logged_in.get_by_role("link", name="Edit").click()
    logged_in.get_by_role("button", name="JSON").click()
    assert XSS in logged_in.locator("textarea[name=json]").input_value()
    assert logged_in.locator("main img").count() == 0
    assert not logged_in.seen.dialogs
    # Trusted Types (the CSP): an HTML sink throws, whatever code would reach it.
    sink = "() => { try { document.body.innerHTML = '<b>x</b>' } catch (e) { return e.name } }"
    assert logged_in.evaluate(sink) == "TypeError"


def test_no_token_or_secret_value_in_any_request_url(page, ui_server, users) -> None:
    login_with_password(page, ui_server, "editor", PASSWORD, USERPASS_TAB)
    token = page.evaluate("sessionStorage.getItem('lambdavault.token')")
    page.goto(f"{ui_server.address}/ui/#/kv?mount=secret&secret=app/db")
    page.get_by_role("button", name="Reveal").click()
    page.get_by_role("link", name="Versions").click()
    page.get_by_role("button", name="Show diff").click()
    page.locator(".diff").wait_for()
    assert token
    assert page.seen.urls
    for url in page.seen.urls:
        for secret in (token, PASSWORD, SECRET_VALUE, EDITED_VALUE, "changed meanwhile"):
            assert secret not in url, url


def test_keys_with_url_characters_work_and_dot_segments_reach_no_other_path(
    logged_in, ui_server, users, root_api
) -> None:
    assert root_api.post("secret/data/odd/a%3Fb%23c%25d", {"data": {"k": "odd-value"}}).ok
    logged_in.goto(f"{ui_server.address}/ui/#/kv?mount=secret&path=odd/")
    logged_in.get_by_role("link", name="a?b#c%d").click()
    logged_in.get_by_role("button", name="Reveal").click()
    expect(logged_in.locator("table.secret")).to_contain_text("odd-value")
    # A crafted link's ".." would otherwise be resolved by the browser: the page would show
    # a KV secret while reading (and on Save, writing) a policy.
    logged_in.goto(
        f"{ui_server.address}/ui/#/kv?mount=secret&secret=../../sys/policies/acl/editor&view=edit"
    )
    expect(logged_in.locator("#flash")).to_contain_text('may not hold "." or ".." segments')
    assert not [u for u in logged_in.seen.urls if "/v1/sys/policies" in u]


def test_logout_forgets_the_token_and_an_expired_token_goes_back_to_login(
    page, ui_server, users, root_api
) -> None:
    short = root_api.post("auth/token/create", {"policies": ["editor"]}).json()["auth"]
    login_with_token(page, ui_server, short["client_token"])
    page.get_by_role("button", name="Log out").click()
    page.get_by_role("tab", name="Token").wait_for()
    assert page.evaluate("sessionStorage.getItem('lambdavault.token')") is None
    # The token still works: logging out revoked nothing.
    assert VaultHTTP(ui_server.address, short["client_token"]).get("auth/token/lookup-self").ok

    login_with_token(page, ui_server, short["client_token"])
    page.get_by_role("link", name="secret/").wait_for()
    assert root_api.post("auth/token/revoke", {"token": short["client_token"]}).ok
    page.get_by_role("link", name="Policies").click()
    page.get_by_text("Your session has expired").wait_for()
    assert page.evaluate("sessionStorage.getItem('lambdavault.token')") is None


def test_first_load_weight_and_timing(page, ui_server, users) -> None:
    page.goto(f"{ui_server.address}/ui/")
    page.locator("input[name=username]").wait_for()
    usable_ms = page.evaluate("performance.now()")
    timing = page.evaluate("JSON.stringify(performance.getEntriesByType('navigation')[0])")
    assets = [u for u in page.seen.urls if u.startswith(f"{ui_server.address}/ui/")]
    raw = compressed = 0
    for url in assets:
        body = requests.get(url, timeout=10).content
        raw += len(body)
        compressed += len(gzip.compress(body))
    print(f"\nUI first load: {len(assets)} assets, {raw} B raw, {compressed} B gzip, "
          f"usable after {usable_ms:.0f} ms; navigation timing {timing}")
    assert compressed <= 300 * 1024
