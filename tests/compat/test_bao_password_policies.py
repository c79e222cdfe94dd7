"""Password policies through the real `bao` CLI, against `lambdavault server -dev` and a
real `bao server -dev`: the same commands must print the same thing on both."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest

from tests.compat.conftest import BaoResult, Server

pytestmark = pytest.mark.compat

POLICY = """length = 20

rule "charset" {
  charset = "abcdefghijklmnopqrstuvwxyz"
  min-chars = 1
}

rule "charset" {
  charset = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
  min-chars = 1
}

rule "charset" {
  charset = "0123456789"
  min-chars = 1
}

rule "charset" {
  charset = "!@#$%^&*"
  min-chars = 1
}
"""


@pytest.fixture
def servers(module_dev_server: Server, openbao_dev: Server) -> list[Server]:
    return [module_dev_server, openbao_dev]


def same(servers: list[Server], *args: str) -> BaoResult:
    """``bao args`` on both servers: equal exit codes and output (addresses aside)."""
    ours, theirs = (server.bao(*args, check=False) for server in servers)
    texts = [
        (
            result.code,
            result.out.replace(server.address, "ADDR"),
            result.err.replace(server.address, "ADDR"),
        )
        for result, server in ((ours, servers[0]), (theirs, servers[1]))
    ]
    assert texts[0] == texts[1]
    return ours


def meets_policy(password: str) -> bool:
    return bool(
        re.fullmatch(r"[a-zA-Z0-9!@#$%^&*]{20}", password)
        and all(re.search(kind, password) for kind in ("[a-z]", "[A-Z]", "[0-9]", "[!@#$%^&*]"))
    )


def test_write_read_generate_list_delete(servers: list[Server], tmp_path: Path) -> None:
    policy = tmp_path / "example.hcl"
    policy.write_text(POLICY)
    written = same(servers, "write", "sys/policies/password/example", f"policy=@{policy}")
    assert written.out == "Success! Data written to: sys/policies/password/example\n"
    assert same(servers, "read", "-field=policy", "sys/policies/password/example").out == POLICY
    for server in servers:
        generated = server.bao("read", "-field=password", "sys/policies/password/example/generate")
        assert meets_policy(generated.out)
        as_json = server.bao("read", "-format=json", "sys/policies/password/example/generate")
        assert set(as_json.json()["data"]) == {"password"}  # type: ignore[index]
    encoded = base64.b64encode(POLICY.encode()).decode()
    same(servers, "write", "sys/policies/password/team/encoded", f"policy={encoded}")
    assert (
        same(servers, "read", "-field=policy", "sys/policies/password/team/encoded").out == POLICY
    )
    assert "team/encoded" in same(servers, "list", "sys/policies/password").out
    same(servers, "delete", "sys/policies/password/example")
    gone = same(servers, "read", "sys/policies/password/example/generate")
    assert gone.code == 2 and "No value found" in gone.err  # the CLI words a 404 so


@pytest.mark.parametrize(
    "policy",
    [
        'length = 2\nrule "charset" { charset = "ab" }',
        'length = 20\nrule "charset" {\n  charset = "ab"\n  min-chars = "3"\n}',
        'length = 20\nrule "punctuation" { charset = "!?" }',
        "length = 20\nrule {",
        "length = 20",
    ],
    ids=["too-short", "string-min-chars", "rule-type", "bad-hcl", "no-charset"],
)
def test_refusals_read_the_same(servers: list[Server], tmp_path: Path, policy: str) -> None:
    source = tmp_path / "bad.hcl"
    source.write_text(policy)
    refused = same(servers, "write", "sys/policies/password/bad", f"policy=@{source}")
    assert refused.code == 2 and "Code: 400" in refused.err
