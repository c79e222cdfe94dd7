"""From a role and a request to certificate parameters: OpenBao's generateCreationBundle
(names and their checks, subject, SANs, validity), and the CSR key checks of signCert."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import replace
from typing import TYPE_CHECKING, Any, NamedTuple

from cryptography import x509
from cryptography.x509.name import _ASN1Type
from cryptography.x509.oid import NameOID

from chalicelib.core.cidrs import address_in
from chalicelib.core.errors import BadRequest
from chalicelib.engines.pki import names as nm
from chalicelib.engines.pki import validity
from chalicelib.engines.pki.keytypes import key_bits_of, key_type_of, validate_key_spec
from chalicelib.engines.pki.policies import policies
from chalicelib.engines.pki.x509build import Params, ext_key_usage_names, key_usage_names

if TYPE_CHECKING:
    from chalicelib.engines.pki.keytypes import PrivateKey
    from chalicelib.engines.pki.role import Role
    from chalicelib.framework import FieldData


class Signing(NamedTuple):
    """The issuer that signs: its certificate, key, leaf_not_after_behavior and own URLs."""

    issuer_id: str
    certificate: x509.Certificate
    key: PrivateKey
    chain: list[str]  # the issuer's ca_chain (PEM, newline-terminated)
    leaf_not_after_behavior: str
    aia_urls: dict[str, Any] | None  # issuer/<ref>'s URLs (IssuerEntry.aia_urls)


class Request(NamedTuple):
    """What of the client's request the checks need beyond its fields."""

    data: FieldData
    limits: validity.Limits
    display_name: str = ""
    render: nm.Renderer | None = None


# encoding/asn1's isPrintable without the '*' and '&' Go also lets in: cryptography refuses
# to sign a PrintableString holding them, so such values (a wildcard CN) go as UTF8String.
_PRINTABLE = re.compile(r"[A-Za-z0-9 '()+,\-./:=?]*\Z")
_SUBJECT_FIELDS = (
    (NameOID.COUNTRY_NAME, "country"),
    (NameOID.ORGANIZATION_NAME, "organization"),
    (NameOID.ORGANIZATIONAL_UNIT_NAME, "ou"),
    (NameOID.LOCALITY_NAME, "locality"),
    (NameOID.STATE_OR_PROVINCE_NAME, "province"),
    (NameOID.STREET_ADDRESS, "street_address"),
    (NameOID.POSTAL_CODE, "postal_code"),
)


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


def subject_for(role: Role, common_name: str, serial: str,
                user_ids: list[str] = ()) -> x509.Name:  # type: ignore[assignment]
    """Go's pkix.Name order: C, O, OU, L, ST, street, postal code, CN, serialNumber, then
    the extra names (user IDs)."""
    attributes = [
        _attribute(oid, value)
        for oid, name in _SUBJECT_FIELDS
        for value in _unique(getattr(role, name))
    ]
    if common_name:
        attributes.append(_attribute(NameOID.COMMON_NAME, common_name))
    if serial:
        attributes.append(_attribute(NameOID.SERIAL_NUMBER, serial))
    attributes += [_attribute(NameOID.USER_ID, uid) for uid in user_ids]
    return x509.Name([x509.RelativeDistinguishedName([a]) for a in attributes])


def _attribute(oid: x509.ObjectIdentifier, value: str) -> x509.NameAttribute:
    """Go's encoding choice: PrintableString when every character allows it, else UTF8String
    (so our names are byte-for-byte the names OpenBao would write)."""
    kind = _ASN1Type.PrintableString if _PRINTABLE.match(value) else _ASN1Type.UTF8String
    return x509.NameAttribute(oid, value, _type=kind)


def _user_ids(role: Role, data: FieldData,
              csr: x509.CertificateSigningRequest | None) -> list[str]:
    """user_ids (issue and sign only), else the CSR's; each must match allowed_user_ids."""
    wanted = list(data.get("user_ids", []))
    if not wanted and csr is not None and "user_ids" in data:
        wanted = [str(a.value) for a in csr.subject.get_attributes_for_oid(NameOID.USER_ID)]
    for value in wanted:
        if not nm.validate_user_id(role, value):
            raise BadRequest(f"user_id {value} is not allowed by this role")
    return wanted


def csr_names(csr: x509.CertificateSigningRequest) -> x509.SubjectAlternativeName | None:
    """The CSR's Subject Alternative Names extension, if it has one."""
    try:
        return csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return None


def csr_values(params: Params, csr: x509.CertificateSigningRequest) -> Params:
    """The CSR's subject and SANs as the CSR states them (sign-verbatim, and
    sign-intermediate with use_csr_values)."""
    san = csr_names(csr)
    if san is None:
        return params._replace(subject=csr.subject)
    return params._replace(
        subject=csr.subject,
        dns_names=tuple(san.get_values_for_type(x509.DNSName)),
        emails=tuple(san.get_values_for_type(x509.RFC822Name)),
        ip_addresses=tuple(str(ip) for ip in san.get_values_for_type(x509.IPAddress)),
        uris=tuple(san.get_values_for_type(x509.UniformResourceIdentifier)),
    )


def _split_names(values: list[str], dns: list[str], emails: list[str]) -> None:
    for value in values:
        if "@" in value:
            emails.append(value)
            continue
        converted = nm.to_ascii(value)
        if converted is None:
            raise BadRequest(f'idna: invalid label "{value}"')
        if nm.HOSTNAME.match(converted):
            dns.append(converted)


class _Names(NamedTuple):
    common_name: str
    serial: str
    dns: list[str]
    emails: list[str]


def _names(role: Role, req: Request, csr: x509.CertificateSigningRequest | None,
           csr_san: x509.SubjectAlternativeName | None) -> _Names:
    """The common name, subject serial number, DNS names and emails, each checked against
    the role (OpenBao's first block of generateCreationBundle)."""
    data = req.data
    common_name = ""
    if csr is not None and role.use_csr_common_name:
        found = csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        common_name = str(found[0].value) if found else ""
    if not common_name:
        common_name = data["common_name"]
        if not common_name and role.require_cn:
            raise BadRequest('the common_name field is required, or must be provided in a CSR '
                             'with "use_csr_common_name" set to true, unless "require_cn" is set '
                             "to false")
    serial = data.get("serial_number", "")
    if not serial and csr is not None:
        found = csr.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)
        serial = str(found[0].value) if found else ""
    use_csr_sans = csr_san is not None and role.use_csr_sans
    dns = list(csr_san.get_values_for_type(x509.DNSName)) if use_csr_sans else []
    emails = list(csr_san.get_values_for_type(x509.RFC822Name)) if use_csr_sans else []
    if common_name and not data["exclude_cn_from_sans"]:
        _split_names([common_name], dns, emails)
    if not (csr is not None and role.use_csr_sans):
        alt_names = [name.strip() for name in data["alt_names"].split(",") if name.strip()]
        _split_names(_unique(alt_names), dns, emails)
    render = req.render
    if common_name and nm.validate_common_name(role, common_name, req.display_name, render):
        raise BadRequest(f"common name {common_name} not allowed by this role")
    if serial and not nm.validate_serial_number(role, serial):
        raise BadRequest(f"serial_number {serial} not allowed by this role")
    bad = nm.validate_names(role, dns, req.display_name, render)
    if bad:
        raise BadRequest(f"subject alternate name {bad} not allowed by this role")
    bad = nm.validate_names(role, emails, req.display_name, render)
    if bad:
        raise BadRequest(f"email address {bad} not allowed by this role")
    return _Names(common_name, serial, dns, emails)


def creation_params(
    role: Role, req: Request, csr: x509.CertificateSigningRequest | None,
    signing: Signing | None, *, is_ca: bool = False,
) -> tuple[Params, list[str]]:
    """OpenBao's generateCreationBundle: the certificate's contents, or the refusal."""
    data = req.data
    csr_san = csr_names(csr) if csr is not None else None
    use_csr_sans = csr is not None and role.use_csr_sans
    names = _names(role, req, csr, csr_san)
    other_sans = _other_sans(role, data, csr_san if use_csr_sans else None)
    ips = _ip_sans(role, data, csr_san, use_csr_sans)
    uris = _uri_sans(role, data, csr_san, use_csr_sans, req.render)
    at = validity.now()
    start = validity.not_before(role, data.get("not_before", ""), at)
    end, warnings = validity.not_after(
        role, data["ttl"], data["not_after"], req.limits, at,
        None if signing is None else signing.certificate.not_valid_after_utc,
        "err" if signing is None else signing.leaf_not_after_behavior,
    )
    validity.check_order(start, end)
    params = Params(
        subject=subject_for(role, names.common_name, names.serial, _user_ids(role, data, csr)),
        not_before=start, not_after=end,
        dns_names=tuple(_unique(names.dns)), emails=tuple(_unique(names.emails)),
        ip_addresses=tuple(ips), uris=tuple(uris), other_sans=tuple(other_sans),
        key_usage=key_usage_names(role.key_usage),
        ext_key_usage=_role_ext_key_usages(role),
        ext_key_usage_oids=tuple(role.ext_key_usage_oids),
        is_ca=is_ca,
        basic_constraints_for_non_ca=role.basic_constraints_valid_for_non_ca,
        signature_bits=role.signature_bits, use_pss=role.use_pss,
        policies=policies(role.policy_identifiers),
    )
    return params, warnings


def _role_ext_key_usages(role: Role) -> frozenset[str]:
    flags = {
        "serverauth": role.server_flag, "clientauth": role.client_flag,
        "codesigning": role.code_signing_flag, "emailprotection": role.email_protection_flag,
    }
    return frozenset(n for n, on in flags.items() if on) | ext_key_usage_names(role.ext_key_usage)


def _other_sans(role: Role, data: FieldData,
                csr_san: x509.SubjectAlternativeName | None) -> list[tuple[str, str]]:
    wanted = list(data["other_sans"]) if "other_sans" in data else []
    if csr_san is not None:
        for other in csr_san.get_values_for_type(x509.OtherName):
            value = _utf8_value(other.value)
            if value is None:
                raise BadRequest("could not parse requested other SAN: no UTF-8 string found "
                                 "in OtherName")
            wanted.append(f"{other.type_id.dotted_string};UTF-8:{value}")
    if not wanted:
        return []
    try:
        requested = nm.parse_other_sans(wanted)
    except ValueError as error:
        raise BadRequest(f"could not parse requested other SAN: {error}") from None
    try:
        bad_oid, bad_value = nm.validate_other_sans(role, requested)
    except ValueError as error:
        raise BadRequest(f"error parsing role's allowed SANs: {error}") from None
    if bad_value:
        raise BadRequest(f"other SAN {bad_value} not allowed for OID {bad_oid} by this role")
    if bad_oid:
        raise BadRequest(f"other SAN OID {bad_oid} not allowed by this role")
    return [(oid, value) for oid, values in requested.items() for value in values]


def _utf8_value(der: bytes) -> str | None:
    if len(der) < 2 or der[0] != 0x0C:
        return None
    length, offset = der[1], 2
    if length & 0x80:
        size = length & 0x7F
        length, offset = int.from_bytes(der[2:2 + size], "big"), 2 + size
    return der[offset:offset + length].decode("utf-8", errors="replace")


def _ip_sans(role: Role, data: FieldData, csr_san: x509.SubjectAlternativeName | None,
             use_csr: bool) -> list[str]:
    if use_csr:
        source = "CSR"
        ips = [str(ip) for ip in csr_san.get_values_for_type(x509.IPAddress)] if csr_san else []
    else:
        source = "the API"
        ips = []
        for value in data["ip_sans"]:
            try:
                ips.append(str(ipaddress.ip_address(value)))
            except ValueError:
                raise BadRequest(f'the value "{value}" is not a valid IP address') from None
    if ips and not role.allow_ip_sans:
        raise BadRequest(f"IP Subject Alternative Names are not allowed in this role, but was "
                         f"provided via {source}")
    if role.allowed_ip_sans_cidr:  # blocks checked when the role was written
        for ip in ips:
            if not address_in(ip, role.allowed_ip_sans_cidr):
                raise BadRequest(f'the IP address "{ip}" is not allowed in this role')
    return ips


def _uri_sans(role: Role, data: FieldData, csr_san: x509.SubjectAlternativeName | None,
              use_csr: bool, render: nm.Renderer | None) -> list[str]:
    source = "CSR" if use_csr else "the API"
    if use_csr:
        uris = list(csr_san.get_values_for_type(x509.UniformResourceIdentifier)) if csr_san else []
    else:
        uris = list(data["uri_sans"])
    if not uris:
        return []
    if not role.allowed_uri_sans:
        raise BadRequest(f"URI Subject Alternative Names are not allowed in this role, but "
                         f"were provided via {source}")
    for uri in uris:
        if not nm.validate_uri_san(role, uri, render):
            raise BadRequest(f"URI Subject Alternative Names were provided via {source} which "
                             "are not valid for this role")
    return uris


def check_csr_key(role: Role, csr: x509.CertificateSigningRequest) -> Role:
    """OpenBao's signCert key checks; returns the role with key sizes filled for "any"."""
    try:
        public = csr.public_key()
    except (ValueError, TypeError):
        raise BadRequest("Refusing to sign CSR with empty PublicKey. This usually means the "
                         "SubjectPublicKeyInfo field has an OID not recognized by Go, such as "
                         "1.2.840.113549.1.1.10 for rsaPSS.") from None
    try:
        actual = key_type_of(public)  # type: ignore[arg-type]
    except AttributeError:
        actual = ""
    if role.key_type != "any" and actual != role.key_type:
        raise BadRequest(f"role requires keys of type {role.key_type}")
    bits = key_bits_of(public)  # type: ignore[arg-type]
    minimum = role.key_bits
    if role.key_type == "any":
        if actual == "rsa" and bits < 2048:
            raise BadRequest("RSA keys < 2048 bits are unsafe and not supported")
        spec = validate_key_spec(actual, 0, role.signature_bits)
        minimum = 224 if actual == "ec" else spec.key_bits
        role = replace(role, key_bits=minimum, signature_bits=spec.signature_bits)
    if actual in ("rsa", "ec") and bits < minimum:
        raise BadRequest(f"role requires a minimum of a {minimum}-bit key, but CSR's key is "
                         f"{bits} bits")
    if actual == "rsa" and bits < 2048:
        raise BadRequest(f"OpenBao requires a minimum of a 2048-bit key, but CSR's key is "
                         f"{bits} bits")
    return role


def parse_csr(text: str) -> x509.CertificateSigningRequest:
    if not text:
        raise BadRequest('"csr" is empty')
    if "-----BEGIN" not in text:
        raise BadRequest("csr contains no data")
    try:
        csr = x509.load_pem_x509_csr(text.strip().encode())
    except ValueError as error:
        raise BadRequest(f"certificate request could not be parsed: {error}") from None
    if not csr.is_signature_valid:
        raise BadRequest("request signature invalid")
    return csr
