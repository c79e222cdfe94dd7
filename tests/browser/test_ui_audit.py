"""The Audit page in Chromium against `lambdavault server -dev`: the devices, an s3 device's
recent requests (Firehose into the dev bucket) filtered by path, the chain verification, and
a tampered file device's log reported as such."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.support import VaultHTTP

pytestmark = pytest.mark.xdist_group("ui-browser")

XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def audited(root_api: VaultHTTP, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An s3 device, a file device and a stdout one, then a few requests they all record."""
    log = tmp_path_factory.mktemp("audit") / "audit.log"
    for path, body in (("s3", {"type": "s3"}), ("out", {"type": "stdout"}),
                       ("file", {"type": "file", "options": {"file_path": str(log)}})):
        reply = root_api.post(f"sys/audit/{path}", body)
        assert reply.status_code == 204, reply.text
    assert root_api.post("secret/data/audited/a", {"data": {"k": "v"}}).ok
    assert root_api.get("secret/data/audited/a").ok
    assert root_api.get("secret/data/audited/missing").status_code == 404
    assert root_api.get(f"secret/data/{XSS}").status_code == 404
    return log


def open_device(page: Page, device: str) -> None:
    page.get_by_role("link", name="Audit", exact=True).click()
    page.locator("table.devices").get_by_role("link", name=device).click()
    page.locator("table.requests").wait_for()


def test_queries_an_s3_device_and_verifies_its_chain(logged_in: Page, audited: Path) -> None:
    page = logged_in
    page.get_by_role("link", name="Audit", exact=True).click()
    devices = page.locator("table.devices")
    expect(devices.locator("tbody tr td:first-child")).to_have_text(["file/", "out/", "s3/"])
    expect(devices.get_by_role("link")).to_have_text(["file/", "s3/"])  # stdout: no records
    open_device(page, "s3/")
    paths = page.locator("table.requests td.col-path")
    expect(paths.first).to_be_visible()
    assert "secret/data/audited/missing" in paths.all_inner_texts()

    page.locator("input[name=path_prefix]").fill("secret/data/audited/")
    page.get_by_role("button", name="Query").click()
    expect(paths).to_have_text(["secret/data/audited/missing", "secret/data/audited/a",
                                "secret/data/audited/a"])
    expect(page.locator("table.requests td.col-status")).to_have_text(["not found", "ok", "ok"])
    assert "path_prefix=secret%2Fdata%2Faudited%2F" in page.url  # the query is in the route

    page.get_by_role("button", name="Verify chain").click()
    verdict = page.locator(".audit-verify [role=status]").first
    expect(verdict).to_have_text(re.compile(r"^OK: \d+ records in 1 chains verified$"))
    expect(page.locator("table.chains tbody tr")).to_have_count(1)
    assert not page.seen.dialogs and not page.seen.console_errors


def test_record_values_are_text_and_errors_shown(logged_in: Page, audited: Path) -> None:
    page = logged_in
    open_device(page, "s3/")
    page.locator("input[name=path_prefix]").fill("secret/data/<img")
    page.get_by_role("button", name="Query").click()
    expect(page.locator("table.requests td.col-path")).to_have_text([f"secret/data/{XSS}"])
    assert page.locator("table.requests img").count() == 0
    assert not page.seen.dialogs
    page.locator("input[name=since]").fill("yesterday")
    page.get_by_role("button", name="Query").click()
    expect(page.locator("#flash")).to_contain_text('invalid time "yesterday"')
    expect(page.locator("input[name=since]")).to_have_value("yesterday")  # the form stays


def test_a_tampered_file_log_fails_verification(logged_in: Page, audited: Path) -> None:
    lines = audited.read_text().splitlines()
    index = next(i for i, line in enumerate(lines) if "secret/data/audited/missing" in line)
    record = json.loads(lines[index])
    record["request"]["path"] = "secret/data/audited/elsewhere"
    lines[index] = json.dumps(record, separators=(",", ":"))
    audited.write_text("\n".join(lines) + "\n")
    page = logged_in
    open_device(page, "file/")
    page.get_by_role("button", name="Verify chain").click()
    verdict = page.locator(".audit-verify [role=status]").first
    expect(verdict).to_contain_text("FAILED: 1 problem(s)")
    expect(page.locator("ul.problems li")).to_have_text(
        [f"{audited}:{index + 1}: seq {record['chain_seq']} was modified or replaced: its "
         "SHA-256 does not match the hash links around it"])
