"""Engine pages in Chromium: KV's version lifecycle and metadata, transit's tools, and
dynamic credentials (the aws engine against the dev server's moto) with their lease."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.xdist_group("ui-browser-engines")

IAM_POLICY = json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}],
})


def test_kv_delete_undelete_destroy_and_metadata(logged_in, ui_server, root_api) -> None:
    for value in ("one", "two"):
        assert root_api.post("secret/data/life", {"data": {"v": value}}).ok
    logged_in.goto(f"{ui_server.address}/ui/#/kv?mount=secret&secret=life")
    logged_in.get_by_role("button", name="Delete this version").click()
    logged_in.get_by_text("Version 2 of this secret is deleted.").wait_for()
    logged_in.get_by_role("button", name="Undelete").click()
    logged_in.get_by_role("button", name="Delete this version").wait_for()
    assert root_api.get("secret/data/life").json()["data"]["data"] == {"v": "two"}

    logged_in.seen.accept_dialogs = True
    logged_in.get_by_role("button", name="Destroy this version").click()
    logged_in.get_by_text("Version 2 of this secret is destroyed.").wait_for()

    logged_in.get_by_role("link", name="Metadata").click()
    logged_in.locator("input[name=max_versions]").fill("7")
    logged_in.get_by_role("button", name="Add row").click()
    logged_in.get_by_label("Metadata key").fill("owner")
    logged_in.get_by_label("Metadata value").fill("team-a")
    logged_in.get_by_role("button", name="Save metadata").click()
    expect(logged_in.get_by_role("status")).to_have_text("Saved.")
    metadata = root_api.get("secret/metadata/life").json()["data"]
    assert metadata["max_versions"] == 7
    assert metadata["custom_metadata"] == {"owner": "team-a"}


def test_kv_folder_search_and_json_create(logged_in, ui_server, root_api) -> None:
    for name in ("alpha", "beta", "gamma"):
        assert root_api.post(f"secret/data/dir/{name}", {"data": {"k": name}}).ok
    logged_in.goto(f"{ui_server.address}/ui/#/kv?mount=secret&path=dir/")
    logged_in.get_by_role("link", name="beta").wait_for()
    logged_in.get_by_label("Filter this folder").fill("alp")
    expect(logged_in.locator("table.list a")).to_have_text(["alpha"])

    logged_in.get_by_role("link", name="Create secret").click()
    logged_in.get_by_label("Secret path").fill("dir/delta")
    logged_in.get_by_role("button", name="JSON").click()
    logged_in.get_by_label("Secret as JSON").fill('{"user": "d", "n": "1"}')
    logged_in.get_by_role("button", name="Save").click()
    logged_in.get_by_text("version 1").wait_for()
    assert root_api.get("secret/data/dir/delta").json()["data"]["data"] == {"user": "d", "n": "1"}


def test_transit_key_rotate_and_tools(logged_in, ui_server, root_api) -> None:
    assert root_api.post("sys/mounts/transit", {"type": "transit"}).ok
    logged_in.goto(f"{ui_server.address}/ui/#/transit?mount=transit")
    logged_in.get_by_label("Key name").fill("orders")
    logged_in.get_by_role("button", name="Create key").click()
    logged_in.get_by_role("button", name="Rotate").click()
    expect(logged_in.locator("tr", has_text="latest_version")).to_contain_text("2")

    logged_in.get_by_label("Input").fill("hello <b>world</b>")
    logged_in.get_by_role("button", name="Encrypt").click()
    expect(logged_in.get_by_label("Output")).to_contain_text("vault:v2:")
    ciphertext = logged_in.get_by_label("Output").inner_text()
    logged_in.get_by_label("Input").fill(ciphertext)
    logged_in.get_by_role("button", name="Decrypt").click()
    expect(logged_in.get_by_label("Output")).to_have_text("hello <b>world</b>")
    logged_in.get_by_label("Input").fill("hello")
    logged_in.get_by_role("button", name="HMAC").click()
    expect(logged_in.get_by_label("Output")).to_contain_text("vault:v2:")
    logged_in.get_by_label("Input").fill("x" * 300_000)  # more arguments than a call takes
    logged_in.get_by_role("button", name="HMAC").click()
    expect(logged_in.get_by_label("Output")).to_contain_text("vault:v2:")  # cleared on click
    expect(logged_in.locator("#flash")).to_be_hidden()


def test_dynamic_credentials_with_their_lease(logged_in, ui_server, root_api) -> None:
    assert root_api.post("sys/mounts/aws", {"type": "aws"}).ok
    root = {"access_key": "testing", "secret_key": "testing", "region": "us-east-1"}
    assert root_api.post("aws/config/root", root).ok
    role = {"credential_type": "iam_user", "policy_document": IAM_POLICY}
    assert root_api.post("aws/roles/reader", role).ok
    logged_in.reload()  # the engines list was drawn before aws/ was mounted
    logged_in.get_by_role("link", name="aws/").click()
    logged_in.get_by_role("link", name="reader").click()
    logged_in.get_by_role("button", name="Generate credentials").click()
    logged_in.get_by_text("expire_time").wait_for()
    lease_id = logged_in.locator("code.lease-id").inner_text()
    assert lease_id.startswith("aws/creds/reader/")
    assert "Reveal" in logged_in.locator("table.secret").inner_text()  # masked
    expires = logged_in.locator("tr", has_text="last_renewal")
    expect(expires.locator("td")).to_have_text("")
    logged_in.get_by_role("button", name="Renew").click()
    expect(expires.locator("td")).not_to_have_text("")
    logged_in.get_by_role("button", name="Revoke").click()
    expect(logged_in.get_by_role("status")).to_have_text("Revoked.")
    lookup = root_api.put("sys/leases/lookup", {"lease_id": lease_id})
    assert lookup.status_code == 400

    for _ in range(2):
        assert root_api.get("aws/creds/reader").ok
    logged_in.goto(f"{ui_server.address}/ui/#/leases?prefix=aws/creds/reader/")
    expect(logged_in.locator("table.list a")).to_have_count(2)
    logged_in.seen.accept_dialogs = True
    logged_in.get_by_role("button", name="Revoke all under aws/creds/reader/").click()
    logged_in.get_by_text("No leases under this prefix.").wait_for()
    assert logged_in.seen.dialogs[-1].startswith("Revoke every lease under aws/creds/reader/?")


def test_root_token_login_and_what_it_can_do_here(logged_in, root_api) -> None:
    logged_in.get_by_role("link", name="secret/").click()
    expect(logged_in.locator(".caps .cap")).to_have_text(["root"])


def test_copy_puts_the_value_on_the_clipboard(logged_in, ui_server, root_api) -> None:
    assert root_api.post("secret/data/clip", {"data": {"pin": "1234"}}).ok
    logged_in.context.grant_permissions(["clipboard-read", "clipboard-write"])
    logged_in.goto(f"{ui_server.address}/ui/#/kv?mount=secret&secret=clip")
    logged_in.get_by_role("button", name="Copy").click()
    expect(logged_in.get_by_role("button", name="Copied")).to_be_visible()
    assert logged_in.evaluate("navigator.clipboard.readText()") == "1234"


def test_auth_methods_enable_and_tune(logged_in, ui_server, root_api) -> None:
    logged_in.goto(f"{ui_server.address}/ui/#/auth-methods")
    logged_in.get_by_label("Type").select_option("userpass")
    logged_in.get_by_label("Path").fill("people")
    logged_in.get_by_role("button", name="Enable").click()
    logged_in.locator("input[name=default_lease_ttl]").fill("1h")
    logged_in.locator("select[name=listing_visibility]").select_option("unauth")
    logged_in.get_by_role("button", name="Save").click()
    expect(logged_in.get_by_role("status")).to_have_text("Saved.")
    tune = root_api.get("sys/auth/people/tune").json()["data"]
    assert tune["default_lease_ttl"] == 3600
    assert tune["listing_visibility"] == "unauth"


def test_entities_and_groups(logged_in, ui_server, root_api) -> None:
    logged_in.goto(f"{ui_server.address}/ui/#/identity")
    logged_in.get_by_label("New entity name").fill("carol")
    logged_in.get_by_label("New entity policies").fill("editor, audit")
    logged_in.get_by_role("button", name="Create entity").click()
    logged_in.get_by_role("heading", name="Entity carol").wait_for()
    expect(logged_in.locator("tr", has_text="policies")).to_contain_text("audit, editor")
    logged_in.get_by_role("link", name="Back").click()
    logged_in.get_by_label("New group name").fill("ops")
    logged_in.get_by_role("button", name="Create group").click()
    logged_in.get_by_role("heading", name="Group ops").wait_for()
    names = root_api.request("LIST", "identity/group/name").json()["data"]["keys"]
    assert "ops" in names
