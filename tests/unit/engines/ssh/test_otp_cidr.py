"""IP and CIDR parsing for OTP roles, as Go's net.ParseIP and net.ParseCIDR read them."""

from __future__ import annotations

import pytest

from chalicelib.engines.ssh.cidr import CIDRError, cidr_list_contains_ip, parse_ip, validate_ip


@pytest.mark.parametrize(("text", "shown"), [
    ("10.0.0.1", "10.0.0.1"),
    ("::ffff:10.0.0.1", "10.0.0.1"),
    ("2001:DB8:0:0:0:0:0:1", "2001:db8::1"),
    ("::1.2.3.4", "::102:304"),
])
def test_parse_ip_prints_as_go(text: str, shown: str):
    assert str(parse_ip(text)) == shown


@pytest.mark.parametrize("text", ["", "010.0.0.1", "10.0.0", "fe80::1%eth0", " 10.0.0.1",
                                  "10.0.0.0/8", "host"])
def test_parse_ip_refuses_what_go_refuses(text: str):
    assert parse_ip(text) is None


@pytest.mark.parametrize(("ip", "cidr_list", "inside"), [
    ("10.1.2.3", "10.0.0.0/8", True),
    ("10.1.2.3", "10.0.0.9/8", True),  # host bits are masked off
    ("10.1.2.3", "192.168.0.0/16,10.1.0.0/16", True),
    ("11.0.0.1", "10.0.0.0/8", False),
    ("2001:db8::1", "10.0.0.0/8", False),
    ("10.1.2.3", "::ffff:10.0.0.0/104", True),  # a mapped network is an IPv4 one
    ("2001:db8::1", "2001:db8::/32", True),
    ("10.1.2.3", "10.0.0.0/8,bogus", True),  # Go stops at the first match
])
def test_cidr_list_contains_ip(ip: str, cidr_list: str, inside: bool):
    address = parse_ip(ip)
    assert address is not None
    assert cidr_list_contains_ip(address, cidr_list) is inside


@pytest.mark.parametrize(("cidr_list", "message"), [
    ("", "IP does not belong to role"),
    ("bogus,10.0.0.0/8", 'invalid CIDR entry "bogus"'),
    ("10.0.0.1", 'invalid CIDR entry "10.0.0.1"'),
    ("10.0.0.0/255.0.0.0", 'invalid CIDR entry "10.0.0.0/255.0.0.0"'),
    ("10.0.0.0/33", 'invalid CIDR entry "10.0.0.0/33"'),
    (" 10.0.0.0/8", 'invalid CIDR entry " 10.0.0.0/8"'),
])
def test_cidr_list_errors(cidr_list: str, message: str):
    address = parse_ip("10.1.2.3")
    assert address is not None
    with pytest.raises(CIDRError) as raised:
        cidr_list_contains_ip(address, cidr_list)
    assert str(raised.value) == message


def test_validate_ip():
    address = parse_ip("10.9.0.1")
    assert address is not None
    validate_ip(address, "r", "10.0.0.0/8", "", [])
    validate_ip(address, "r", "", "10.0.0.0/8", ["r"])  # zero-address roles take any IP
    with pytest.raises(CIDRError) as outside:
        validate_ip(address, "r", "10.0.0.0/8", "10.9.0.0/16", [])
    assert str(outside.value) == "IP does not belong to role"
    with pytest.raises(CIDRError) as invalid:
        validate_ip(address, "r", "10.0.0.0/8", "x", [])
    assert str(invalid.value) == 'invalid CIDR entry "x"'
