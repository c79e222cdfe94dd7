"""Response wrapping through the real OpenBao CLI and hvac against `lambdavault server -dev`."""

from __future__ import annotations

from typing import Any

import hvac
import pytest
from hvac.exceptions import InvalidRequest

from tests.compat.conftest import ROOT_TOKEN, Server

pytestmark = pytest.mark.compat


@pytest.fixture(scope="module", name="dev_server")
def module_server(module_dev_server: Server) -> Server:
    """One server for the module's tests (each works under names of its own)."""
    return module_dev_server

INVALID = "wrapping token is not valid or does not exist"


def _json(
    server: Server, command: str, *args: str, token: str | None = ROOT_TOKEN
) -> dict[str, Any]:
    """``bao <command> -format=json <args>``, parsed (``command`` may be "kv get")."""
    reply = server.bao(*command.split(), "-format=json", *args, token=token).json()
    assert isinstance(reply, dict)
    return reply


def _wrap_info(server: Server, command: str, *args: str) -> dict[str, Any]:
    info = _json(server, command, *args)["wrap_info"]
    assert info["token"].startswith("s.")
    return info


def test_read_wrapped_then_unwrap_once(dev_server: Server) -> None:
    dev_server.bao("kv", "put", "secret/w", "v=1")
    info = _wrap_info(dev_server, "read", "-wrap-ttl=5m", "secret/data/w")
    assert info["ttl"] == 300 and info["creation_path"] == "secret/data/w"
    table = dev_server.bao("read", "-wrap-ttl=5m", "secret/data/w").out
    assert "wrapping_token:" in table and "wrapping_token_creation_path:    secret/data/w" in table
    unwrapped = _json(dev_server, "unwrap", info["token"])
    assert unwrapped["data"]["data"] == {"v": "1"}
    again = dev_server.bao("unwrap", info["token"], check=False)
    assert again.code == 2 and INVALID in again.err


def test_kv_get_wrapped_and_lookup(dev_server: Server) -> None:
    dev_server.bao("kv", "put", "secret/k", "a=b")
    info = _wrap_info(dev_server, "kv get", "-wrap-ttl=2m", "secret/k")
    looked = _json(dev_server, "write", "sys/wrapping/lookup", f"token={info['token']}")
    assert looked["data"]["creation_path"] == "secret/data/k"
    assert looked["data"]["creation_ttl"] == 120
    assert _json(dev_server, "unwrap", info["token"])["data"]["data"] == {"a": "b"}


def test_token_create_wrapped_unwraps_to_a_working_token(dev_server: Server) -> None:
    info = _wrap_info(dev_server, "token create", "-wrap-ttl=1m", "-policy=default")
    assert info["creation_path"] == "auth/token/create" and info["wrapped_accessor"]
    auth = _json(dev_server, "unwrap", info["token"])["auth"]
    assert auth["accessor"] == info["wrapped_accessor"]
    looked = _json(dev_server, "token lookup", token=auth["client_token"])
    assert looked["data"]["policies"] == ["default"]


def test_wrap_and_rewrap_with_write(dev_server: Server) -> None:
    first = _wrap_info(dev_server, "write", "-wrap-ttl=90s", "sys/wrapping/wrap", "x=y")
    second = _wrap_info(dev_server, "write", "sys/wrapping/rewrap", f"token={first['token']}")
    assert second["ttl"] == 90 and second["creation_path"] == "sys/wrapping/wrap"
    assert dev_server.bao("unwrap", first["token"], check=False).code == 2
    assert dev_server.bao("unwrap", "-field=x", second["token"]).out.strip() == "y"


def test_a_wrapping_token_unwraps_itself_with_the_cli(dev_server: Server) -> None:
    info = _wrap_info(dev_server, "write", "-wrap-ttl=1m", "sys/wrapping/wrap", "x=y")
    assert dev_server.bao("unwrap", "-field=x", token=info["token"]).out.strip() == "y"


def test_hvac_read_wrap_and_unwrap(dev_server: Server) -> None:
    client = hvac.Client(url=dev_server.address, token=ROOT_TOKEN)
    client.secrets.kv.v2.create_or_update_secret("h", secret={"s": "t"})
    wrapped = client.read("secret/data/h", wrap_ttl="5m")
    token = wrapped["wrap_info"]["token"]
    assert client.sys.unwrap(token)["data"]["data"] == {"s": "t"}
    with pytest.raises(InvalidRequest, match=INVALID):
        client.sys.unwrap(token)
    own = client.sys.wrap(payload={"p": "q"}, ttl=60)["wrap_info"]["token"]
    assert hvac.Client(url=dev_server.address, token=own).sys.unwrap()["data"] == {"p": "q"}
    created = client.auth.token.create(policies=["default"], wrap_ttl="1m")["wrap_info"]
    auth = client.sys.unwrap(created["token"])["auth"]
    assert hvac.Client(url=dev_server.address, token=auth["client_token"]).is_authenticated()
