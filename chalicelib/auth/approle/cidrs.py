"""CIDR blocks on roles and secret IDs: validation and subsets (the login's address check
is chalicelib.core.cidrs.address_in)."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from chalicelib.core.errors import BadRequest
from chalicelib.tokens.policies import go_quoted

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _network(block: str) -> Network | None:
    # OpenBao parses these with Go's net.ParseCIDR: a bare address (no mask) is refused.
    if "/" not in block:
        return None
    try:
        return ipaddress.ip_network(block, strict=False)
    except ValueError:
        return None


def cidr_blocks(values: Sequence[str], what: str = "CIDR blocks") -> tuple[str, ...]:
    """The blocks as given (trimmed), or OpenBao's error naming the first bad one."""
    blocks = tuple(value.strip() for value in values)
    for block in blocks:
        if _network(block) is None:
            raise BadRequest(f"failed to validate {what}: invalid CIDR address: {block}")
    return blocks


def check_subset(secret_blocks: Sequence[str], role_blocks: Sequence[str]) -> None:
    """A secret ID's blocks must each lie inside one of the role's (if the role has any)."""
    if not secret_blocks or not role_blocks:
        return
    outer = [net for net in map(_network, role_blocks) if net is not None]
    for block in secret_blocks:
        inner = _network(block)
        if inner is None or not any(_within(inner, net) for net in outer):
            raise BadRequest(
                "failed to verify subset relationship between CIDR blocks on the role "
                f"{go_quoted(role_blocks)} and CIDR blocks on the secret ID "
                f"{go_quoted(secret_blocks)}"
            )


def _within(inner: Network, outer: Network) -> bool:
    return inner.version == outer.version and inner.subnet_of(outer)  # type: ignore[arg-type]
