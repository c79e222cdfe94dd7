"""OpenBao's name checks (validateNames, validateCommonName), case by case."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.engines.pki.names import (
    glob,
    parse_other_sans,
    validate_common_name,
    validate_names,
    validate_other_sans,
    validate_serial_number,
)
from chalicelib.engines.pki.role import Role


def role(**fields: Any) -> Role:
    return Role(**{"allowed_domains": ["example.com"], **fields})


@pytest.mark.parametrize(("fields", "name", "allowed"), [
    ({}, "example.com", False),
    ({"allow_bare_domains": True}, "EXAMPLE.com", True),
    ({"allow_subdomains": True}, "a.b.example.com", True),
    ({"allow_subdomains": True}, "notexample.com", False),
    ({"allow_subdomains": True}, "*.example.com", True),
    ({"allow_subdomains": True, "allow_wildcard_certificates": False}, "*.example.com", False),
    ({"allow_subdomains": True}, "*.*.example.com", False),
    ({"allow_subdomains": True}, "a.*.example.com", False),
    ({"allow_subdomains": True}, "foo*.example.com", True),
    ({"allow_subdomains": True}, "user@mail.example.com", True),
    ({"allow_bare_domains": True}, "user@example.com", True),
    ({"allow_subdomains": True}, "a@b@example.com", False),
    ({"allow_subdomains": True}, "bad_label.example.com", False),
    ({"allow_subdomains": True, "enforce_hostnames": False}, "bad_label.example.com", True),
    ({}, "localhost", True),
    ({"allow_localhost": False}, "localhost", False),
    ({"allow_subdomains": True}, "a.localdomain", True),
    ({"allow_any_name": True}, "anything.at.all", True),
    ({"allow_any_name": True}, "not a host", False),
    ({"allow_glob_domains": True, "allowed_domains": ["*.svc.local"]}, "db.svc.local", True),
    ({"allow_glob_domains": True, "allowed_domains": ["*.svc.local"]}, "db.svc.remote", False),
    ({"allow_token_displayname": True}, "token-alice", True),
])
def test_validate_names(fields: dict, name: str, allowed: bool) -> None:
    refused = validate_names(role(**fields), [name], display_name="token-alice")
    assert refused == ("" if allowed else name)


def test_common_name_validations() -> None:
    assert validate_common_name(role(allow_subdomains=True), "a.example.com") == ""
    assert validate_common_name(role(allow_subdomains=True, cn_validations=["email"]),
                                "a.example.com") == "a.example.com"
    assert validate_common_name(role(cn_validations=["disabled"]), "anything") == ""
    assert validate_common_name(role(allow_bare_domains=True, cn_validations=["email"]),
                                "x@example.com") == ""


def test_templated_domains_render_for_the_entity() -> None:
    templated = role(allowed_domains=["{{identity.entity.name}}.example.com"],
                     allowed_domains_template=True, allow_bare_domains=True)
    assert validate_names(templated, ["alice.example.com"],
                          render=lambda text: text.replace("{{identity.entity.name}}", "alice")
                          ) == ""
    assert validate_names(templated, ["bob.example.com"], render=lambda text: None)


def test_glob_is_go_glob() -> None:
    assert glob("*", "") and glob("a*c", "abc") and glob("a*c", "ac") and glob("*.x", "a.x")
    assert not glob("a*c", "ab") and not glob("a*b*c", "acb") and not glob("abc", "abcd")


def test_other_sans_and_serials() -> None:
    assert parse_other_sans(["1.2.3;UTF8:a", "1.2.3;utf-8:b"]) == {"1.2.3": ["a", "b"]}
    with pytest.raises(ValueError, match="expected a semicolon"):
        parse_other_sans(["1.2.3"])
    with pytest.raises(ValueError, match="only utf8 other SANs are supported"):
        parse_other_sans(["1.2.3;IA5:x"])
    limited = role(allowed_other_sans=["1.2.3;UTF8:dev-*"])
    assert validate_other_sans(limited, {"1.2.3": ["dev-1"]}) == ("", "")
    assert validate_other_sans(limited, {"1.2.3": ["prod"]}) == ("1.2.3", "prod")
    assert validate_other_sans(limited, {"9.9": ["x"]}) == ("9.9", "")
    assert validate_serial_number(role(allowed_serial_numbers=["sn-*"]), "sn-1")
    assert not validate_serial_number(role(), "sn-1")
