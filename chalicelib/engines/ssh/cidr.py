"""IP addresses and CIDR lists as Go's net package reads them, for OTP roles.

Vault parses the client's ``ip`` with net.ParseIP and each ``cidr_list`` entry with
net.ParseCIDR; Python's ipaddress accepts more (zone ids, netmasks, a bare address as
a network), so those forms are refused here first. An IPv4-mapped IPv6 address is an
IPv4 address, as Go prints and compares it.
"""

from __future__ import annotations

import ipaddress
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

from chalicelib.policy.errors import go_quote

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network
# Outside cidr_list or inside exclude_cidr_list (Vault says the same for both).
NOT_IN_ROLE = "IP does not belong to role"
# Bits of an IPv6 address before an IPv4-mapped tail (::ffff:a.b.c.d).
_MAPPED_PREFIX_BITS = 96


class CIDRError(ValueError):
    """Why an IP is not accepted; the text is Vault's."""


def parse_ip(text: str) -> IPAddress | None:
    """net.ParseIP: None for anything Go refuses (zones included)."""
    if "%" in text:
        return None
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def parse_cidr(item: str) -> IPNetwork:
    """net.ParseCIDR: an address, "/" and decimal prefix bits; host bits are masked off."""
    address, slash, bits = item.partition("/")
    if not slash or not bits.isascii() or not bits.isdigit() or "%" in address:
        raise CIDRError(f"invalid CIDR entry {go_quote(item)}")
    try:
        network = ipaddress.ip_network(f"{address}/{int(bits)}", strict=False)
    except ValueError:
        raise CIDRError(f"invalid CIDR entry {go_quote(item)}") from None
    mapped = network.network_address
    if (isinstance(mapped, IPv6Address) and mapped.ipv4_mapped is not None
            and network.prefixlen >= _MAPPED_PREFIX_BITS):
        return IPv4Network((mapped.ipv4_mapped, network.prefixlen - _MAPPED_PREFIX_BITS))
    return network


def cidr_list_contains_ip(ip: IPAddress, cidr_list: str) -> bool:
    """Vault's cidrListContainsIP: entries in order, the first bad one an error."""
    if not cidr_list:
        raise CIDRError(NOT_IN_ROLE)
    return any(ip in parse_cidr(item) for item in cidr_list.split(","))


def validate_ip(
    ip: IPAddress, role_name: str, cidr_list: str, exclude_cidr_list: str,
    zero_address_roles: list[str],
) -> None:
    """Vault's validateIP: a zero-address role takes any IP; otherwise the IP must be in
    cidr_list and outside exclude_cidr_list. Raises CIDRError."""
    if role_name in zero_address_roles:
        return
    if not cidr_list_contains_ip(ip, cidr_list):
        raise CIDRError(NOT_IN_ROLE)
    if exclude_cidr_list and cidr_list_contains_ip(ip, exclude_cidr_list):
        raise CIDRError(NOT_IN_ROLE)
