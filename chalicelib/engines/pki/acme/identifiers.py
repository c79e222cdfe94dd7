"""Order identifiers (RFC 8555 section 7.1.4): parsed as OpenBao's parseOrderIdentifiers,
checked against the directory's role before any authorization is created, and compared
with a finalize CSR."""

from __future__ import annotations

import ipaddress
from typing import Any

from cryptography import x509
from cryptography.x509.oid import NameOID

from chalicelib.engines.pki import names as nm
from chalicelib.engines.pki.acme.problems import AcmeProblem, malformed
from chalicelib.engines.pki.role import Role

WILDCARD = "*."


def parse(payload: dict[str, Any]) -> list[dict[str, str]]:
    """The order's identifiers as the client wrote them (type dns or ip)."""
    raw = payload.get("identifiers")
    if raw is None:
        raise malformed("missing required identifiers argument")
    if not isinstance(raw, list) or not raw:
        raise malformed("identifiers must be a non-empty list")
    parsed = []
    for item in raw:
        if not isinstance(item, dict) or not isinstance(item.get("value"), str):
            raise malformed("identifier is not an object with a string value")
        kind, value = item.get("type"), item["value"].strip()
        if kind == "dns":
            if not value or nm.to_ascii(value.removeprefix(WILDCARD)) is None:
                raise malformed(f"invalid DNS identifier: {value}")
        elif kind == "ip":
            try:
                value = str(ipaddress.ip_address(value))
            except ValueError:
                raise malformed(f"unable to parse IP identifier: {value}") from None
        else:
            raise AcmeProblem("unsupportedIdentifier", f"unsupported identifier type {kind}")
        parsed.append({"type": kind, "value": value})
    return parsed


def check_role(role: Role, role_name: str, identifiers: list[dict[str, str]]) -> None:
    """OpenBao's validateIdentifiersAgainstRole: refused names fail the new-order."""
    for identifier in identifiers:
        value = identifier["value"]
        if identifier["type"] == "dns" and nm.validate_names(role, [value]):
            raise AcmeProblem("rejectedIdentifier", f"role ({role_name}) will not issue "
                              f"certificate for name {value}", meaning_first=True)
        if identifier["type"] == "ip" and not role.allow_ip_sans:
            raise AcmeProblem("rejectedIdentifier", f"role ({role_name}) does not allow IP "
                              f"sans, so cannot issue certificate for {value}",
                              meaning_first=True)


def from_csr(csr: x509.CertificateSigningRequest) -> tuple[list[str], list[str]]:
    """OpenBao's getIdentifiersFromCSR: SANs plus the common name, deduplicated, sorted."""
    dns: list[str] = []
    ips: list[str] = []
    try:
        san = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        dns += san.get_values_for_type(x509.DNSName)
        ips += [str(ip) for ip in san.get_values_for_type(x509.IPAddress)]
    except x509.ExtensionNotFound:
        pass
    for attribute in csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME):
        common_name = str(attribute.value)
        try:
            ips.append(str(ipaddress.ip_address(common_name)))
        except ValueError:
            dns.append(common_name)
    return sorted({d.lower() for d in dns}), sorted(set(ips))


def check_csr(csr: x509.CertificateSigningRequest, identifiers: list[dict[str, str]]) -> None:
    """The CSR asks for exactly the order's names (OpenBao's validateCsrMatchesOrder)."""
    csr_dns, csr_ips = from_csr(csr)
    order_dns = sorted({i["value"].lower() for i in identifiers if i["type"] == "dns"})
    order_ips = sorted({i["value"] for i in identifiers if i["type"] == "ip"})
    if len(order_dns) != len(csr_dns):
        raise AcmeProblem("badCSR", f"Order ({len(order_dns)}) and CSR ({len(csr_dns)}) "
                          "mismatch on number of DNS identifiers", meaning_first=True)
    if len(order_ips) != len(csr_ips):
        raise AcmeProblem("badCSR", f"Order ({len(order_ips)}) and CSR ({len(csr_ips)}) "
                          "mismatch on number of IP identifiers", meaning_first=True)
    for wanted, found in zip(order_dns + order_ips, csr_dns + csr_ips, strict=True):
        if wanted != found:
            raise AcmeProblem("badCSR", f"CSR is missing order identifier {wanted}",
                              meaning_first=True)
