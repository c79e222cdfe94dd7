"""The UI's shell in a real browser: login with a token, navigation, logout."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.xdist_group("ui-browser")


def test_root_token_login_shows_the_secrets_engines(logged_in) -> None:
    logged_in.get_by_role("link", name="secret/").wait_for()
    assert logged_in.locator("#nav a").all_inner_texts()[:2] == ["Secrets", "Policies"]
    assert not logged_in.seen.dialogs
