"""config/zeroaddress as stored: the OTP roles that accept any IP address, whatever
their cidr_list says. Deleting a role takes it off this list (path_roles)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chalicelib.storage.view import StorageView

ZERO_ADDRESS_KEY = "config/zeroaddress"


def read_roles(view: StorageView) -> list[str] | None:
    """The listed roles; None when config/zeroaddress was never written (or deleted)."""
    raw = view.get_json(ZERO_ADDRESS_KEY)
    return None if raw is None else list(raw.get("roles") or [])


def write_roles(view: StorageView, roles: list[str]) -> None:
    view.put_json(ZERO_ADDRESS_KEY, {"roles": roles})


def remove_role(view: StorageView, name: str) -> None:
    """Take ``name`` off the list, as a role delete does (nothing when it is not there)."""
    roles = read_roles(view)
    if roles is not None and name in roles:
        write_roles(view, [role for role in roles if role != name])
