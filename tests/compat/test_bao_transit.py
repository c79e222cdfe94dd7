"""Transit through the real OpenBao CLI against `lambdavault server -dev` (the commands of
OpenBao's transit documentation, as an operator types them)."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from tests.compat.conftest import ROOT_TOKEN, Server, start_server, stop_server

pytestmark = pytest.mark.compat


@pytest.fixture(scope="module", name="server")
def transit_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One dev server for the module, transit mounted at transit/."""
    log = tmp_path_factory.mktemp("transit-cli") / "server.log"
    started = start_server(["-dev", f"-dev-root-token-id={ROOT_TOKEN}"], log)
    try:
        started.bao("secrets", "enable", "transit")
        yield started
    finally:
        stop_server(started)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def value(server: Server, *args: str) -> str:
    """`bao ... -field=X`: one field's value, as scripts read it."""
    return server.bao(*args).out.strip()


def test_encrypt_rotate_decrypt_rewrap(server: Server) -> None:
    created = server.bao("write", "-f", "transit/keys/orders").out
    assert "latest_version" in created  # as OpenBao, creating a key answers with the key
    first = value(server, "write", "-field=ciphertext", "transit/encrypt/orders",
                  f"plaintext={b64(b'card 4111')}")
    assert first.startswith("vault:v1:")
    rotated = server.bao("write", "-f", "transit/keys/orders/rotate", "-format=json").json()
    assert rotated["data"]["latest_version"] == 2  # type: ignore[index]
    second = value(server, "write", "-field=ciphertext", "transit/encrypt/orders",
                   f"plaintext={b64(b'card 4111')}")
    assert second.startswith("vault:v2:")
    for ciphertext in (first, second):
        plain = value(server, "write", "-field=plaintext", "transit/decrypt/orders",
                      f"ciphertext={ciphertext}")
        assert base64.b64decode(plain) == b"card 4111"
    rewrapped = value(server, "write", "-field=ciphertext", "transit/rewrap/orders",
                      f"ciphertext={first}")
    assert rewrapped.startswith("vault:v2:")
    listed = server.bao("list", "-format=json", "transit/keys").json()
    assert "orders" in listed  # type: ignore[operator]
    read = server.bao("read", "transit/keys/orders").out
    assert "latest_version            2" in read and "aes256-gcm96" in read


def test_bad_input_exits_2_with_the_message(server: Server) -> None:
    server.bao("write", "-f", "transit/keys/strict")
    failed = server.bao("write", "transit/decrypt/strict", "ciphertext=vault:v1:%%",
                        check=False)
    assert failed.code == 2
    assert "Code: 400" in failed.err
    assert "invalid ciphertext: could not decode base64" in failed.err
    refused = server.bao("delete", "transit/keys/strict", check=False)
    assert refused.code == 2 and "deletion is not allowed for this key" in refused.err


def test_sign_verify_hmac_and_tools(server: Server) -> None:
    server.bao("write", "transit/keys/signer", "type=ecdsa-p256")
    signature = value(server, "write", "-field=signature", "transit/sign/signer/sha2-256",
                      f"input={b64(b'doc')}")
    assert value(server, "write", "-field=valid", "transit/verify/signer/sha2-256",
                 f"input={b64(b'doc')}", f"signature={signature}") == "true"
    server.bao("write", "-f", "transit/keys/mac")
    mac = value(server, "write", "-field=hmac", "transit/hmac/mac", f"input={b64(b'doc')}")
    assert value(server, "write", "-field=valid", "transit/verify/mac",
                 f"input={b64(b'doc')}", f"hmac={mac}") == "true"
    random = value(server, "write", "-field=random_bytes", "transit/random/24", "format=hex")
    assert len(random) == 48
    digest = value(server, "write", "-field=sum", "transit/hash/sha2-256", f"input={b64(b'')}")
    assert digest == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_byok_import_with_the_cli(server: Server) -> None:
    """`bao transit import` fetches our wrapping key and wraps the key itself."""
    material = b64(b"k" * 32)
    server.bao("transit", "import", "transit/keys/brought", material, "type=aes256-gcm96")
    sealed = value(server, "write", "-field=ciphertext", "transit/encrypt/brought",
                   f"plaintext={b64(b'x')}")
    body = base64.b64decode(sealed.split(":")[2])
    assert AESGCM(b"k" * 32).decrypt(body[:12], body[12:], None) == b"x"
    server.bao("transit", "import-version", "transit/keys/brought", b64(b"j" * 32))
    assert server.bao("read", "-format=json", "transit/keys/brought").json()[
        "data"]["latest_version"] == 2  # type: ignore[index]
