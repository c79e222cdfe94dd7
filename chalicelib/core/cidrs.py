"""Whether a client's address lies in CIDR blocks: token binds and the login checks of
auth methods (userpass users, approle roles and secret IDs) all ask the same question."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable


def address_in(address: str, blocks: Iterable[str]) -> bool:
    """True when ``address`` is inside one of ``blocks``; an address that cannot be read
    (none over direct invoke) or a block that cannot be read matches nothing."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return False
    for block in blocks:
        try:
            if parsed in ipaddress.ip_network(block, strict=False):
                return True
        except ValueError:
            continue
    return False
