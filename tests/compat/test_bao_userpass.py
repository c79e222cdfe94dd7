"""userpass through the real `bao` CLI, side by side with a real `bao server -dev`.

Every command runs against both servers and their answers are compared, less what is
random per server (tokens, accessors, entity IDs, request IDs, times).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.compat.conftest import BaoResult, Server

pytestmark = pytest.mark.compat

RANDOM = {"client_token", "accessor", "entity_id", "request_id", "id", "creation_time",
          "expire_time", "issue_time", "ttl"}


def scrub(value: Any) -> Any:
    """``value`` without the fields that differ between any two servers."""
    if isinstance(value, dict):
        return {k: scrub(v) for k, v in value.items() if k not in RANDOM}
    if isinstance(value, list):
        return [scrub(item) for item in value]
    return value


@pytest.fixture
def both(module_dev_server: Server, openbao_dev: Server) -> list[Server]:
    for server in (module_dev_server, openbao_dev):
        server.bao("auth", "disable", "userpass")  # both servers serve the whole module
        server.bao("auth", "enable", "userpass")
    return [module_dev_server, openbao_dev]


def same(servers: list[Server], *args: str, token: str | None = "root",
         their_500: bool = False) -> Any:
    """Run ``bao args`` on both; the exit codes, stdout and stderr must agree (scrubbed).

    ``their_500``: where OpenBao answers 500 for what the request caused and we answer 400
    (the project's rule), that pair is accepted too, with the same words."""
    results = [server.bao(*args, token=token, check=False) for server in servers]
    ours, theirs = results
    if their_500 and "Code: 500" in theirs.err:
        _same_words(ours, theirs)
        return ours.out
    assert ours.code == theirs.code, (ours, theirs)
    if "-format=json" in args and ours.code == 0:
        assert scrub(ours.json()) == scrub(theirs.json())
        return ours.json()
    texts = [
        (result.out.replace(server.address, "ADDR"), result.err.replace(server.address, "ADDR"))
        for result, server in zip(results, servers, strict=True)
    ]
    assert texts[0] == texts[1]
    return ours.out


def _same_words(ours: BaoResult, theirs: BaoResult) -> None:
    assert (ours.code, theirs.code) == (2, 2)
    assert "Code: 400" in ours.err and "Code: 500" in theirs.err, (ours, theirs)
    assert ours.err.split("Errors:")[1] == theirs.err.split("Errors:")[1]


def same_words(servers: list[Server], *args: str) -> None:
    """Run ``bao args`` on both: OpenBao answers 500 for what the request caused, we answer
    400; the errors must be the same words."""
    _same_words(*(server.bao(*args, check=False) for server in servers))


def test_users_and_logins_match_openbao(both: list[Server]) -> None:
    same(both, "write", "auth/userpass/users/alice", "password=pw", "policies=a,b",
         "token_ttl=1h")
    same(both, "read", "-format=json", "auth/userpass/users/alice")
    same(both, "list", "-format=json", "auth/userpass/users")
    auth = same(both, "login", "-method=userpass", "-no-store", "-format=json",
                "username=alice", "password=pw", token=None)
    assert auth["auth"]["policies"] == ["a", "b", "default"]
    same(both, "login", "-method=userpass", "-no-store", "username=alice", "password=bad",
         token=None)
    same(both, "login", "-method=userpass", "-no-store", "username=nobody", "password=bad",
         token=None)


def test_login_token_lookup_matches_openbao(both: list[Server]) -> None:
    looked = []
    for server in both:
        server.bao("write", "auth/userpass/users/bob", "password=pw", "token_policies=p")
        token = server.bao("login", "-method=userpass", "-no-store", "-field=token",
                           "username=bob", "password=pw", token=None).out.strip()
        looked.append(scrub(server.bao("token", "lookup", "-format=json", token=token).json()))
    assert looked[0] == looked[1]
    assert looked[0]["data"]["display_name"] == "userpass-bob"


def test_tuned_token_type_matches_openbao(both: list[Server]) -> None:
    same(both, "auth", "tune", "-token-type=batch", "userpass/")
    same(both, "read", "-format=json", "sys/auth/userpass/tune")
    same(both, "write", "auth/userpass/users/carol", "password=pw")
    auth = same(both, "login", "-method=userpass", "-no-store", "-format=json",
                "username=carol", "password=pw", token=None)
    assert auth["auth"]["client_token"].startswith("b.")  # the CLI prints no token_type
