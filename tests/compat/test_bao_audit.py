"""Audit devices through the real OpenBao CLI (`bao audit ...`) against `lambdavault server -dev`,
then `lambdavault audit verify` over what the devices wrote (the dev server's moto bucket, a file).

Expected outputs were recorded from `bao server -dev` (OpenBao 2.7, with
`unsafe_allow_api_audit_creation`) running the same commands; `s3` is Lambdavault's own type.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import hvac
import pytest
from hvac.exceptions import InvalidRequest

from tests.compat.conftest import BIN, ROOT_TOKEN, Server

pytestmark = pytest.mark.compat


def table(*rows: tuple[str, ...]) -> str:
    """The CLI's table: columns padded to their widest cell, 4 spaces apart, "n/a" for ""."""
    cells = [[cell or "n/a" for cell in row] for row in rows]
    cells.insert(1, ["-" * len(cell) for cell in cells[0]])
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
    lines = ["    ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
             for row in cells]
    return "\n".join(lines) + "\n"


def aws_endpoint(server: Server) -> str:
    match = re.search(r"^(http://127\.0\.0\.1:\d+) for boto3", server.output, re.MULTILINE)
    assert match, server.output
    return match.group(1)


def verify(*args: str, endpoint: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    if endpoint:
        env.update(AWS_ENDPOINT_URL=endpoint, AWS_REGION="us-east-1",
                   AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
    return subprocess.run(
        [str(BIN / "lambdavault"), "audit", "verify", *args],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )


def test_enable_list_disable_and_verify(dev_server: Server, tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    enabled = dev_server.bao("audit", "enable", "s3")
    assert enabled.out == "Success! Enabled the s3 audit device at: s3/\n"
    enabled = dev_server.bao("audit", "enable", "file", f"file_path={log}")
    assert enabled.out == "Success! Enabled the file audit device at: file/\n"
    enabled = dev_server.bao("audit", "enable", "-path=team/a", "-description=team A", "-local",
                             "stdout")
    assert enabled.out == "Success! Enabled the stdout audit device at: team/a/\n"

    assert dev_server.bao("audit", "list").out == table(
        ("Path", "Type", "Description"),
        ("file/", "file", ""), ("s3/", "s3", ""), ("team/a/", "stdout", "team A"),
    )
    assert dev_server.bao("audit", "list", "-detailed").out == table(
        ("Path", "Type", "Description", "Replication", "Options"),
        ("file/", "file", "", "replicated", f"file_path={log}"),
        ("s3/", "s3", "", "replicated", ""),
        ("team/a/", "stdout", "team A", "local", ""),
    )
    listed = dev_server.bao("audit", "list", "-format=json").json()
    assert listed["s3/"] == {"type": "s3", "description": "", "options": {}, "local": False,
                             "path": "s3/"}

    dev_server.bao("kv", "put", "secret/c", "v=canary-31f0")
    dev_server.bao("kv", "get", "secret/c")
    hashed = dev_server.bao("write", "-field=hash", "sys/audit-hash/file", "input=canary-31f0")
    text = log.read_text()
    assert "canary-31f0" not in text and hashed.out.strip() in text

    for path in ("team/a", "file"):
        disabled = dev_server.bao("audit", "disable", path)
        assert disabled.out == f"Success! Disabled audit device (if it was enabled) at: {path}/\n"
    again = dev_server.bao("audit", "enable", "s3", check=False)
    assert again.code == 2 and "* path already in use" in again.err
    dev_server.bao("audit", "disable", "s3")
    empty = dev_server.bao("audit", "list", check=False)
    assert (empty.code, empty.out) == (2, "No audit devices are enabled.\n")

    from_file = verify("--file", str(log))
    assert from_file.returncode == 0, from_file.stdout + from_file.stderr
    from_bucket = verify("--bucket", "lambdavault-audit", endpoint=aws_endpoint(dev_server))
    assert from_bucket.returncode == 0, from_bucket.stdout + from_bucket.stderr
    assert from_bucket.stdout.strip().splitlines()[-1].startswith("OK: ")


def test_records_of_the_cli_session_are_json_lines(dev_server: Server, tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    dev_server.bao("audit", "enable", "file", f"file_path={log}")
    dev_server.bao("token", "lookup")
    records = [json.loads(line) for line in log.read_text().splitlines()]
    lookups = [r for r in records if r["request"]["path"] == "auth/token/lookup-self"]
    assert [r["type"] for r in lookups] == ["request", "response"]
    assert lookups[0]["request"]["mount_type"] == "token"
    assert lookups[0]["request"]["mount_class"] == "auth"
    tampered = log.read_text().replace("lookup-self", "lookup-else", 1)
    log.write_text(tampered)
    result = verify("--file", str(log))
    assert result.returncode == 1 and "was modified or replaced" in result.stdout


def test_hvac_audit_devices(dev_server: Server, tmp_path: Path) -> None:
    client = hvac.Client(url=dev_server.address, token=ROOT_TOKEN)
    log = tmp_path / "hvac.log"
    client.sys.enable_audit_device("file", options={"file_path": str(log)}, path="hv")
    listed = client.sys.list_enabled_audit_devices()
    assert listed["data"]["hv/"]["options"] == {"file_path": str(log)}
    digest = client.sys.calculate_hash("hv", "canary-0a9")["data"]["hash"]
    assert digest.startswith("hmac-sha256:")
    with pytest.raises(InvalidRequest, match="path already in use"):
        client.sys.enable_audit_device("s3", path="hv")
    client.sys.disable_audit_device("hv")
    assert client.sys.list_enabled_audit_devices()["data"] == {}
