"""approle through the real `bao` CLI, side by side with a real `bao server -dev`.

Each command runs against both servers; exit codes, texts and JSON answers must agree,
less what is random per server (IDs, tokens, accessors, times).
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.compat.conftest import BaoResult, Server

pytestmark = pytest.mark.compat

RANDOM = {"request_id", "client_token", "accessor", "entity_id", "role_id", "secret_id",
          "secret_id_accessor", "token", "creation_time", "expiration_time",
          "last_updated_time", "wrapped_accessor", "creation_path_hmac"}  # fmt: skip
_UUID = re.compile(r"[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}")
_TOKEN = re.compile(r"\b[sb]\.[A-Za-z0-9]{24}\b")


def scrub(value: Any) -> Any:
    """``value`` with what differs between any two servers blanked out."""
    if isinstance(value, dict):
        return {k: "<random>" if k in RANDOM else scrub(v) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(item) for item in value]
    return scrub_text(value) if isinstance(value, str) else value


def scrub_text(text: str) -> str:
    return _TOKEN.sub("<token>", _UUID.sub("<uuid>", text))


@pytest.fixture
def both(module_dev_server: Server, openbao_dev: Server) -> list[Server]:
    for server in (module_dev_server, openbao_dev):
        server.bao("auth", "disable", "approle")  # both servers serve the whole module
        assert server.bao("auth", "enable", "approle").out == (
            "Success! Enabled approle auth method at: approle/\n"
        )
    return [module_dev_server, openbao_dev]


def same(servers: list[Server], *args: str, token: str | None = "root") -> list[BaoResult]:
    """``bao args`` on both: equal exit codes, and equal answers once scrubbed."""
    ours, theirs = results = [server.bao(*args, token=token, check=False) for server in servers]
    assert ours.code == theirs.code, (ours, theirs)
    if "-format=json" in args and ours.code == 0:
        assert scrub(ours.json()) == scrub(theirs.json())
    else:
        texts = [(scrub_text(r.out.replace(s.address, "ADDR")),
                  scrub_text(r.err.replace(s.address, "ADDR")))
                 for r, s in zip(results, servers, strict=True)]  # fmt: skip
        assert texts[0] == texts[1]
    return results


def field(result: BaoResult, *path: str) -> Any:
    value = result.json()
    for name in path:
        value = value[name]  # type: ignore[index]
    return value


def test_roles_read_write_and_list_as_openbao(both: list[Server]) -> None:
    same(both, "write", "auth/approle/role/x", "token_policies=a,b", "secret_id_num_uses=5",
         "token_ttl=1h", "secret_id_bound_cidrs=127.0.0.0/8")
    same(both, "read", "-format=json", "auth/approle/role/x")
    same(both, "read", "auth/approle/role/x/token-ttl")
    same(both, "write", "auth/approle/role/x/policies", "token_policies=c")
    same(both, "read", "-format=json", "auth/approle/role/x/policies")
    same(both, "list", "-format=json", "auth/approle/role")
    # A role with no constraint: OpenBao answers 500, we answer 400 with the same message.
    ours, theirs = (s.bao("write", "auth/approle/role/y", "bind_secret_id=false", check=False)
                    for s in both)  # fmt: skip
    assert "Code: 400" in ours.err and "Code: 500" in theirs.err
    assert all("at least one constraint should be enabled on the role" in r.err
               for r in (ours, theirs))  # fmt: skip
    same(both, "write", "auth/approle/role/x", "secret_id_num_uses=-1")
    same(both, "delete", "auth/approle/role/x")
    same(both, "read", "auth/approle/role/x")


def credentials(server: Server, role: str) -> tuple[str, str]:
    """The role's role ID and a new secret ID, as a script reads them (``-field``)."""
    path = f"auth/approle/role/{role}"
    role_id = server.bao("read", "-field=role_id", f"{path}/role-id").out.strip()
    secret_id = server.bao("write", "-field=secret_id", "-f", f"{path}/secret-id").out.strip()
    return role_id, secret_id


def test_role_id_secret_id_and_login(both: list[Server]) -> None:
    same(both, "write", "auth/approle/role/x", "token_policies=a", "secret_id_num_uses=2")
    same(both, "read", "-format=json", "auth/approle/role/x/role-id")
    same(both, "write", "-format=json", "-f", "auth/approle/role/x/secret-id")
    logins, lookups = [], []
    for server in both:
        role_id, secret_id = credentials(server, "x")
        logins.append(server.bao("write", "-format=json", "auth/approle/login",
                                 f"role_id={role_id}", f"secret_id={secret_id}", token=None))
        lookups.append(server.bao("write", "-format=json", "auth/approle/role/x/secret-id/lookup",
                                  f"secret_id={secret_id}"))
    assert scrub(logins[0].json()) == scrub(logins[1].json())
    assert field(logins[0], "auth", "metadata") == {"role_name": "x"}
    assert scrub(lookups[0].json()) == scrub(lookups[1].json())
    assert field(lookups[0], "data", "secret_id_num_uses") == 1
    for server, login in zip(both, logins, strict=True):
        renewed = server.bao("token", "renew", "-format=json",
                             token=field(login, "auth", "client_token"))
        assert field(renewed, "auth", "renewable") is True
    accessors = same(both, "list", "-format=json", "auth/approle/role/x/secret-id")
    assert len(accessors[0].json()) == 2  # type: ignore[arg-type]
    same(both, "write", "auth/approle/login", "role_id=nope", "secret_id=x", token=None)
    same(both, "write", "auth/approle/role/x/custom-secret-id", "secret_id=")
    same(both, "write", "-format=json", "auth/approle/role/x/custom-secret-id",
         "secret_id=my-own", "metadata=team=x")
    same(both, "write", "-f", "auth/approle/tidy/secret-id")


def test_a_wrapped_secret_id_unwraps_once_and_logs_in(both: list[Server]) -> None:
    same(both, "write", "auth/approle/role/x", "token_policies=a")
    wrapped = same(both, "write", "-wrap-ttl=60s", "-format=json", "-f",
                   "auth/approle/role/x/secret-id")
    for server, reply in zip(both, wrapped, strict=True):
        wrap = field(reply, "wrap_info")
        assert wrap["ttl"] == 60 and wrap["creation_path"] == "auth/approle/role/x/secret-id"
        unwrapped = server.bao("unwrap", "-format=json", wrap["token"])
        secret = field(unwrapped, "data", "secret_id")
        role = server.bao("read", "-field=role_id", "auth/approle/role/x/role-id").out.strip()
        login = server.bao("write", "-format=json", "auth/approle/login", f"role_id={role}",
                           f"secret_id={secret}", token=None)
        assert field(login, "auth", "policies") == ["a", "default"]
        again = server.bao("unwrap", wrap["token"], check=False)
        assert again.code == 2 and "wrapping token is not valid or does not exist" in again.err
