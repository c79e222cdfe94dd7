"""`bao operator generate-root` and hvac's root generation against `lambdavault server -dev`,
side by side with a real `bao server -dev`.

OpenBao's dev server takes shares of its unseal key, ours of the recovery key it printed:
the key material differs, the envelopes, field names, flows and error words do not.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hvac
import pytest
from hvac.exceptions import InvalidRequest

from tests.compat.conftest import (
    BAO,
    ROOT_TOKEN,
    BaoResult,
    Server,
    recovery_key,
    start_server,
    stop_server,
)
from tests.compat.test_bao_userpass import same

pytestmark = pytest.mark.compat


@pytest.fixture
def both(module_dev_server: Server, openbao_dev: Server) -> list[Server]:
    """Our server and OpenBao's, each with no attempt in progress."""
    servers = [module_dev_server, openbao_dev]
    for server in servers:
        server.bao("operator", "generate-root", "-cancel")
    return servers


def key_of(server: Server) -> str:
    """The one share a dev server printed: our recovery key, OpenBao's unseal key."""
    match = re.search(r"^Unseal Key: (\S+)$", server.output, re.MULTILINE)
    return match.group(1) if match else recovery_key(server.output)


def bao_stdin(server: Server, text: str, *args: str) -> BaoResult:
    """``bao args`` with ``text`` on its standard input (a share given as "-")."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_"))}
    env.update(BAO_ADDR=server.address, BAO_TOKEN=ROOT_TOKEN, HOME=os.environ.get("HOME", "/tmp"))
    done = subprocess.run([str(BAO), *args], input=text, env=env, capture_output=True,
                          text=True, timeout=60, check=False)
    return BaoResult(done.returncode, done.stdout, done.stderr)


def status(server: Server) -> dict[str, Any]:
    result = server.bao("operator", "generate-root", "-status", "-format=json").json()
    assert isinstance(result, dict)
    return result


def without(answer: dict[str, Any], *names: str) -> dict[str, Any]:
    return {key: value for key, value in answer.items() if key not in names}


def test_full_flow_decodes_to_a_working_root_token(both: list[Server]) -> None:
    inits, finals = [], []
    for server in both:
        otp = server.bao("operator", "generate-root", "-generate-otp").out.strip()
        assert len(otp) == 26
        inits.append(server.bao("operator", "generate-root", "-init", f"-otp={otp}",
                                "-format=json").json())
        nonce = status(server)["nonce"]
        final = server.bao("operator", "generate-root", f"-nonce={nonce}", "-format=json",
                           key_of(server)).json()
        finals.append(final)
        token = server.bao("operator", "generate-root", f"-decode={final['encoded_token']}",
                           f"-otp={otp}").out.strip()
        looked = server.bao("token", "lookup", "-format=json", token=token).json()
        assert looked["data"]["policies"] == ["root"]
        assert looked["data"]["path"] == "auth/token/root"
        assert status(server)["started"] is False
    ours, theirs = inits
    assert without(ours, "nonce") == without(theirs, "nonce")
    assert ours["started"] is True and ours["otp_length"] == 26
    ours, theirs = finals
    assert without(ours, "nonce", "encoded_token") == without(theirs, "nonce", "encoded_token")
    assert ours["complete"] is True


def test_server_made_otp_and_a_share_on_stdin(both: list[Server]) -> None:
    started = []
    for server in both:
        begun = server.bao("operator", "generate-root", "-init", "-format=json").json()
        started.append(begun)
        done = bao_stdin(server, key_of(server) + "\n", "operator", "generate-root",
                         f"-nonce={begun['nonce']}", "-format=json", "-")
        assert done.code == 0, done
        encoded = done.json()["encoded_token"]
        token = bao_stdin(server, encoded, "operator", "generate-root", "-decode=-",
                          f"-otp={begun['otp']}").out.strip()
        assert server.bao("token", "lookup", "-format=json", token=token).json()["data"][
            "policies"] == ["root"]
    ours, theirs = started
    assert len(ours["otp"]) == len(theirs["otp"]) == 26
    assert without(ours, "nonce", "otp") == without(theirs, "nonce", "otp")


def test_refusals_match_openbao(both: list[Server]) -> None:
    same(both, "operator", "generate-root", "-status")
    same(both, "operator", "generate-root", "-init", "-otp=short")
    same(both, "operator", "generate-root", "-nonce=abc", key_of(both[0]))  # none in progress
    same(both, "operator", "generate-root", "-cancel")
    nonces = []
    for server in both:
        server.bao("operator", "generate-root", "-init", "-otp=" + "x" * 26)
        nonces.append(status(server)["nonce"])
    same(both, "operator", "generate-root", "-init", "-otp=" + "y" * 26)  # one at a time
    ours, theirs = (without(status(server), "nonce") for server in both)
    assert ours == theirs
    # What OpenBao answers 500 (wrong nonce, unreadable share) is 400 here, same words.
    for args in (["-nonce=wrong", key_of(both[0])], ["-nonce=x", "not-a-key!"],
                 ["-nonce=x", "abcd"]):
        results = [server.bao("operator", "generate-root", *args, check=False)
                   for server in both]
        ours, theirs = (scrub_nonces(result.err, nonces) for result in results)
        assert "Code: 400" in ours and "Code: 500" in theirs, results
        assert ours.split("Errors:")[1] == theirs.split("Errors:")[1]
    # A share of no key: each server says its key does not authenticate.
    for server, nonce in zip(both, nonces, strict=True):
        wrong = server.bao("operator", "generate-root", f"-nonce={nonce}", "ab" * 32,
                           check=False)
        assert wrong.code == 2 and "root generation aborted: unable to authenticate" in wrong.err
        assert status(server)["started"] is True  # the attempt stays, its progress restarts
    same(both, "operator", "generate-root", "-cancel")
    same(both, "operator", "generate-root", "-status")


def scrub_nonces(text: str, nonces: list[str]) -> str:
    for nonce in nonces:
        text = text.replace(nonce, "NONCE")
    return re.sub(r"http://127\.0\.0\.1:\d+", "ADDR", text)


def test_vaults_endpoints_are_off_by_default(both: list[Server]) -> None:
    same(both, "read", "sys/generate-root/attempt")
    same(both, "write", "sys/generate-root/update", "key=abcd", "nonce=x")


def test_decode_token_matches_openbao(both: list[Server]) -> None:
    same(both, "write", "-format=json", "sys/decode-token", "encoded_token=AAAA", "otp=abc")
    same(both, "write", "sys/decode-token", "encoded_token=AAA=", "otp=xy")
    same(both, "write", "sys/decode-token", "encoded_token=abc", "otp=x")


@pytest.fixture
def unauthed_generate_root(tmp_path: Path) -> Iterator[Server]:
    """Our dev server with Vault's sys/generate-root endpoints enabled (OpenBao's listener
    option disable_unauthed_generate_root_endpoints=false)."""
    server = start_server(["-dev", f"-dev-root-token-id={ROOT_TOKEN}"], tmp_path / "server.log",
                          {"LAMBDAVAULT_UNAUTHED_GENERATE_ROOT": "true"})
    try:
        yield server
    finally:
        stop_server(server)


def test_hvac_generates_a_root_token(unauthed_generate_root: Server) -> None:
    """hvac speaks Vault's unauthenticated sys/generate-root, which OpenBao (and we) serve
    only when enabled, so it runs against our server alone."""
    server = unauthed_generate_root
    client = hvac.Client(url=server.address)  # no token: these endpoints need none
    progress = client.sys.read_root_generation_progress()
    assert (progress["started"], progress["required"], progress["otp_length"]) == (False, 1, 26)
    otp = "z" * 26
    started = client.sys.start_root_token_generation(otp=otp)
    assert started["started"] is True and started["otp"] == ""
    with pytest.raises(InvalidRequest, match="already in progress"):
        client.sys.start_root_token_generation(otp=otp)
    with pytest.raises(InvalidRequest, match="incorrect nonce"):
        client.sys.generate_root(key=key_of(server), nonce="wrong")
    client.sys.cancel_root_generation()
    assert client.sys.read_root_generation_progress()["started"] is False
    nonce = client.sys.start_root_token_generation(otp=otp)["nonce"]
    done = client.sys.generate_root(key=key_of(server), nonce=nonce)
    assert done["complete"] is True and done["encoded_root_token"] == done["encoded_token"]
    token = server.bao("operator", "generate-root", f"-decode={done['encoded_token']}",
                       f"-otp={otp}").out.strip()
    looked = hvac.Client(url=server.address, token=token).auth.token.lookup_self()
    assert looked["data"]["policies"] == ["root"]
