"""Browser tests of the web UI: Debian's Chromium driven by Playwright (no browser download).

Fixtures for every browser test module:
- ``ui_server``: one ``lambdavault server -dev`` for the module (root token ``root``);
- ``root_api``: a VaultHTTP client of it holding the root token, to set state up;
- ``browser``: Chromium for the module (/usr/bin/chromium, from scripts/test-deps.sh);
- ``page``: a fresh browser context and page; ``page.seen`` is a ``Seen`` record of every
  request URL, dialog and console error, so a test can assert nothing leaked or fired;
- ``logged_in``: ``page`` at ``/ui/`` logged in with the root token;
- ``login_with_token(page, server, token)`` / ``login_with_password(...)`` for other identities.

Mark a module with a group of its own (``pytestmark = pytest.mark.xdist_group("ui-browser-x")``)
so ``--dist loadgroup`` keeps its module-scoped server and browser on one worker while
other modules run on the other.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.compat.conftest import ROOT_TOKEN, Server, start_server, stop_server
from tests.support import VaultHTTP

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Dialog, Page

CHROMIUM = Path(os.environ.get("LAMBDAVAULT_CHROMIUM", "/usr/bin/chromium"))
# Waits for the UI itself (each step is a request or two to a local server).
STEP_TIMEOUT_MS = 15_000


@dataclass
class Seen:
    """What the page did, for assertions that something never happened."""

    urls: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    accept_dialogs: bool = False  # confirm() answers: a test that means to confirm sets it


@pytest.fixture(scope="module")
def ui_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    log = tmp_path_factory.mktemp("lambdavault-ui") / "server.log"
    server = start_server(["-dev", f"-dev-root-token-id={ROOT_TOKEN}"], log)
    try:
        yield server
    finally:
        stop_server(server)


@pytest.fixture(scope="module")
def root_api(ui_server: Server) -> VaultHTTP:
    return VaultHTTP(ui_server.address, ROOT_TOKEN)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/test-deps.sh (apt chromium)")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=STEP_TIMEOUT_MS)  # the same patience for assertions
    with sync_playwright() as playwright:
        # --no-sandbox: CI runs as root, where Chromium refuses its sandbox.
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1200, "height": 800})
    context.set_default_timeout(STEP_TIMEOUT_MS)
    opened = context.new_page()
    seen = Seen()
    opened.on("request", lambda request: seen.urls.append(request.url))
    opened.on("dialog", lambda dialog: _dialog(seen, dialog))
    opened.on("console", lambda message: _console(seen, message))
    opened.seen = seen  # type: ignore[attr-defined]
    try:
        yield opened
    finally:
        context.close()


def _dialog(seen: Seen, dialog: Dialog) -> None:
    seen.dialogs.append(dialog.message)
    if seen.accept_dialogs:
        dialog.accept()
    else:
        dialog.dismiss()


def _console(seen: Seen, message: ConsoleMessage) -> None:
    if message.type == "error":
        seen.console_errors.append(message.text)


def login_with_token(page: Page, server: Server, token: str) -> None:
    """Open the UI and log in with ``token`` on the Token tab."""
    page.goto(f"{server.address}/ui/")
    page.get_by_role("tab", name="Token").click()
    page.locator("input[name=token]").fill(token)
    page.get_by_role("button", name="Log in").click()
    page.locator("#logout").wait_for(state="visible")


def login_with_password(page: Page, server: Server, username: str, password: str, tab: str) -> None:
    """Open the UI and log in on a username/password tab (userpass or ldap), named as the
    login page shows it: "<mount> (<type>)", e.g. "userpass (userpass)"."""
    page.goto(f"{server.address}/ui/")
    page.get_by_role("tab", name=tab).click()
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.locator("#logout").wait_for(state="visible")


@pytest.fixture
def logged_in(page: Page, ui_server: Server) -> Page:
    login_with_token(page, ui_server, ROOT_TOKEN)
    return page
