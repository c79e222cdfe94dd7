"""Which names a role allows: OpenBao's validateNames, validateCommonName, other SANs,
URI SANs and serial numbers (pki/cert_util.go), decision for decision."""

from __future__ import annotations

import re
from collections.abc import Callable

from chalicelib.engines.pki.role import Role

_LABEL = r"([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9\-]*[a-zA-Z0-9])"
HOSTNAME = re.compile(rf"(\*\.)?({_LABEL}\.)*{_LABEL}\.?\Z")
_LEFT_WILD_LABEL = re.compile(rf"(\*|\*{_LABEL}|{_LABEL}\*|{_LABEL}\*{_LABEL})\Z")

# Renders an allowed_domains / allowed_uri_sans template for the request's entity, or
# returns None when it cannot (no entity, unknown key): that entry is then skipped.
Renderer = Callable[[str], "str | None"]


def glob(pattern: str, subject: str) -> bool:
    """ryanuber/go-glob: ``*`` matches any run of characters; nothing else is special."""
    if pattern == "*":
        return True
    parts = pattern.split("*")
    if len(parts) == 1:
        return pattern == subject
    if not subject.startswith(parts[0]) or not subject.endswith(parts[-1]):
        return False
    position = len(parts[0])
    end = len(subject) - len(parts[-1])
    for part in parts[1:-1]:
        found = subject.find(part, position, end)
        if found < 0:
            return False
        position = found + len(part)
    return position <= end


def to_ascii(name: str) -> str | None:
    """The IDNA A-label form of a DNS name (Go's idna with VerifyDNSLength), None if invalid."""
    try:
        converted = name if name.isascii() else name.encode("idna").decode("ascii")
    except UnicodeError:
        return None
    labels = converted[:-1].split(".") if converted.endswith(".") else converted.split(".")
    if not converted or len(converted) > 253 or any(not 0 < len(x) <= 63 for x in labels):
        return None
    return converted


def _split_wildcard(name: str) -> tuple[str, str] | None:
    """(wildcard label, rest) of an RFC 6125 wildcard name; None when malformed."""
    if name.count("*") > 1:
        return None
    label, _, rest = name.partition(".")
    if "*" in rest:
        return None
    return label, rest


def _valid_hostname(reduced: str, is_wildcard: bool, wildcard_label: str) -> bool:
    if reduced:
        converted = to_ascii(reduced)
        if converted is None or not HOSTNAME.match(converted):
            return False
    return not is_wildcard or bool(_LEFT_WILD_LABEL.match(wildcard_label))


def validate_names(role: Role, names: list[str], display_name: str = "",
                   render: Renderer | None = None) -> str:
    """The first of ``names`` the role does not allow, or ""."""
    for name in names:
        if not _name_allowed(role, name, display_name, render):
            return name
    return ""


def _name_allowed(role: Role, name: str, display_name: str, render: Renderer | None) -> bool:
    reduced, email_domain, is_email, is_wildcard, wildcard_label = name, name, False, False, ""
    if "@" in reduced:
        parts = reduced.split("@")
        if len(parts) != 2:
            return False
        reduced = email_domain = parts[1]
        is_email = True
    if "*" in reduced:
        is_wildcard = True
        if not role.allow_wildcard_certificates:
            return False
        split = _split_wildcard(reduced)
        if split is None:
            return False
        wildcard_label, reduced = split
    if is_email and is_wildcard:
        return False
    if role.enforce_hostnames and not _valid_hostname(reduced, is_wildcard, wildcard_label):
        return False
    if role.allow_any_name:
        return True
    if role.allow_localhost and _is_local(role, reduced, email_domain, is_email, is_wildcard):
        return True
    if role.allow_token_displayname and _is_display_name(
        role, name, reduced, is_email, is_wildcard, display_name
    ):
        return True
    return any(
        _domain_allows(role, domain, name, reduced, email_domain, is_email, is_wildcard)
        for domain in _allowed_domains(role, render)
    )


def _is_local(role: Role, reduced: str, email_domain: str, is_email: bool,
              is_wildcard: bool) -> bool:
    for local in ("localhost", "localdomain"):
        if reduced == local or (is_email and email_domain == local):
            return True
        if role.allow_subdomains and (
            reduced.endswith("." + local) or (is_wildcard and reduced == local)
        ):
            return True
    return False


def _is_display_name(role: Role, name: str, reduced: str, is_email: bool, is_wildcard: bool,
                     display_name: str) -> bool:
    if name == display_name:
        return True
    if not role.allow_subdomains:
        return False
    if is_email and "@" in display_name:
        parts = display_name.split("@")
        if len(parts) == 2 and reduced.endswith("." + parts[1]):
            return True
    return reduced.endswith("." + display_name) or (is_wildcard and reduced == display_name)


def _allowed_domains(role: Role, render: Renderer | None) -> list[str]:
    domains: list[str] = []
    for domain in role.allowed_domains:
        if not domain:
            continue  # a trailing comma, say
        if role.allowed_domains_template and render is not None and "{{" in domain:
            rendered = render(domain)
            if rendered is None:
                continue
            domain = rendered
        domains.append(domain)
    return domains


def _domain_allows(role: Role, domain: str, name: str, reduced: str, email_domain: str,
                   is_email: bool, is_wildcard: bool) -> bool:
    if role.allow_bare_domains and (
        name.lower() == domain.lower() or (is_email and email_domain.lower() == domain.lower())
    ):
        return True
    if role.allow_subdomains and (
        reduced.endswith("." + domain) or (is_wildcard and reduced.lower() == domain.lower())
    ):
        return True
    return role.allow_glob_domains and "*" in domain and glob(domain, name)


def validate_common_name(role: Role, name: str, display_name: str = "",
                         render: Renderer | None = None) -> str:
    """OpenBao's validateCommonName: the name if refused, else ""."""
    validations = role.cn_validations
    if validations == ["disabled"]:
        return ""
    if validate_names(role, [name], display_name, render):
        return name
    if not validations:
        return ""
    wanted = "email" if "@" in name else "hostname"
    return "" if wanted in validations else name


def parse_other_sans(values: list[str]) -> dict[str, list[str]]:
    """``<oid>;UTF8:<value>`` entries by OID (OpenBao's parseOtherSANs and its texts)."""
    result: dict[str, list[str]] = {}
    for other in values:
        oid, sep, rest = other.partition(";")
        if not sep:
            raise ValueError(f'expected a semicolon in other SAN "{other}"')
        kind, sep, value = rest.partition(":")
        if not sep:
            raise ValueError(f'expected a colon in other SAN "{other}"')
        if kind.lower() not in ("utf8", "utf-8"):
            raise ValueError(
                f'only utf8 other SANs are supported; found non-supported type in other SAN '
                f'"{other}"'
            )
        result.setdefault(oid, []).append(value)
    return result


def validate_other_sans(role: Role, requested: dict[str, list[str]]) -> tuple[str, str]:
    """(refused OID, refused value): ("", "") when every requested other SAN is allowed."""
    if role.allowed_other_sans == ["*"]:
        return "", ""
    allowed = parse_other_sans(role.allowed_other_sans)
    for oid, values in requested.items():
        for value in values:
            if oid not in allowed:
                return oid, ""
            if not any(glob(pattern, value) for pattern in allowed[oid]):
                return oid, value
    return "", ""


def validate_uri_san(role: Role, uri: str, render: Renderer | None = None) -> bool:
    for allowed in role.allowed_uri_sans:
        if role.allowed_uri_sans_template and render is not None and "{{" in allowed:
            rendered = render(allowed)
            if rendered is None:
                continue
            allowed = rendered
        if glob(allowed, uri):
            return True
    return False


def validate_serial_number(role: Role, serial: str) -> bool:
    return any(
        allowed and (("*" in allowed and glob(allowed, serial)) or allowed == serial)
        for allowed in role.allowed_serial_numbers
    )


def validate_user_id(role: Role, user_id: str) -> bool:
    """OpenBao's validateUserId: case-insensitive equality, or a glob with ``*``."""
    allowed = role.allowed_user_ids
    if any(a.lower() == user_id.lower() for a in allowed):
        return True
    return any(a and "*" in a and glob(a, user_id) for a in allowed)
