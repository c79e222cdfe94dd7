"""Cubbyhole through the real CLI: private to the token that wrote it."""

from __future__ import annotations

import pytest

from tests.compat.conftest import Server

pytestmark = pytest.mark.compat


def test_write_read_list_delete_and_privacy(dev_server: Server) -> None:
    dev_server.bao("write", "cubbyhole/notes", "pin=1234")
    assert dev_server.bao("read", "-field=pin", "cubbyhole/notes").out.strip() == "1234"
    assert "notes" in dev_server.bao("list", "cubbyhole/").out

    other = dev_server.bao("token", "create", "-policy=default", "-field=token").out.strip()
    hidden = dev_server.bao("read", "cubbyhole/notes", token=other, check=False)
    assert hidden.code == 2 and "No value found at cubbyhole/notes" in hidden.err

    dev_server.bao("delete", "cubbyhole/notes")
    gone = dev_server.bao("read", "cubbyhole/notes", check=False)
    assert gone.code == 2
