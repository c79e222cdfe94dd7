"""Certificates and CSRs built with ``cryptography``, shaped as OpenBao's certutil builds
them: Go's extension choices (key usage always critical, CA basic constraints critical,
SKID from the key, AKID from the issuer's SKID), 159-bit random serials."""

from __future__ import annotations

import datetime
import ipaddress
from typing import NamedTuple

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID, ObjectIdentifier

from chalicelib.engines.pki.keytypes import PrivateKey, PublicKey, signer_for
from chalicelib.engines.pki.urls import Urls
from chalicelib.engines.pki.urls import add_extensions as add_url_extensions

_KEY_USAGES = (
    "digitalsignature", "contentcommitment", "keyencipherment", "dataencipherment",
    "keyagreement", "certsign", "crlsign", "encipheronly", "decipheronly",
)
# Go's ExtKeyUsage order, which is also the order in the certificate.
_EXT_KEY_USAGES: dict[str, ObjectIdentifier] = {
    "any": ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE,
    "serverauth": ExtendedKeyUsageOID.SERVER_AUTH,
    "clientauth": ExtendedKeyUsageOID.CLIENT_AUTH,
    "codesigning": ExtendedKeyUsageOID.CODE_SIGNING,
    "emailprotection": ExtendedKeyUsageOID.EMAIL_PROTECTION,
    "ipsecendsystem": ObjectIdentifier("1.3.6.1.5.5.7.3.5"),
    "ipsectunnel": ObjectIdentifier("1.3.6.1.5.5.7.3.6"),
    "ipsecuser": ObjectIdentifier("1.3.6.1.5.5.7.3.7"),
    "timestamping": ExtendedKeyUsageOID.TIME_STAMPING,
    "ocspsigning": ExtendedKeyUsageOID.OCSP_SIGNING,
    "microsoftservergatedcrypto": ObjectIdentifier("1.3.6.1.4.1.311.10.3.3"),
    "netscapeservergatedcrypto": ObjectIdentifier("2.16.840.1.113730.4.1"),
}
_UTF8_STRING_TAG = 0x0C


class Params(NamedTuple):
    """What goes into one certificate (OpenBao's certutil.CreationParameters)."""

    subject: x509.Name
    not_before: datetime.datetime
    not_after: datetime.datetime
    dns_names: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    ip_addresses: tuple[str, ...] = ()
    uris: tuple[str, ...] = ()
    other_sans: tuple[tuple[str, str], ...] = ()  # (oid, UTF-8 value)
    key_usage: frozenset[str] = frozenset()  # lowercase names
    ext_key_usage: frozenset[str] = frozenset()  # lowercase names
    ext_key_usage_oids: tuple[str, ...] = ()
    is_ca: bool = False
    max_path_length: int = -1  # -1: no limit
    basic_constraints_for_non_ca: bool = False
    permitted_dns_domains: tuple[str, ...] = ()
    signature_bits: int = 0
    use_pss: bool = False
    skid: bytes = b""  # an explicit subject key id (cross-signing); else from the key
    policies: tuple[tuple[str, str, str], ...] = ()  # (oid, CPS URL, user notice text)
    urls: Urls = Urls()  # config/urls: AIA and CRL distribution points


def key_usage_names(values: list[str]) -> frozenset[str]:
    """Role or request key_usage values as OpenBao parses them: case-insensitive, unknown
    names ignored."""
    return frozenset(v.strip().lower() for v in values if v.strip().lower() in _KEY_USAGES)


def ext_key_usage_names(values: list[str]) -> frozenset[str]:
    return frozenset(v.strip().lower() for v in values if v.strip().lower() in _EXT_KEY_USAGES)


def _key_usage(names: frozenset[str]) -> x509.KeyUsage:
    has = names.__contains__
    agreement = has("keyagreement")
    return x509.KeyUsage(
        digital_signature=has("digitalsignature"), content_commitment=has("contentcommitment"),
        key_encipherment=has("keyencipherment"), data_encipherment=has("dataencipherment"),
        key_agreement=agreement, key_cert_sign=has("certsign"), crl_sign=has("crlsign"),
        encipher_only=agreement and has("encipheronly"),
        decipher_only=agreement and has("decipheronly"),
    )


def _other_name(oid: str, value: str) -> x509.OtherName:
    encoded = value.encode()
    return x509.OtherName(ObjectIdentifier(oid), _der_tlv(_UTF8_STRING_TAG, encoded))


def _der_tlv(tag: int, body: bytes) -> bytes:
    length = len(body)
    if length < 0x80:
        return bytes([tag, length]) + body
    size = (length.bit_length() + 7) // 8
    return bytes([tag, 0x80 | size]) + length.to_bytes(size, "big") + body


def general_names(params: Params) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = [x509.DNSName(n) for n in params.dns_names]
    names += [x509.RFC822Name(e) for e in params.emails]
    names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in params.ip_addresses]
    names += [x509.UniformResourceIdentifier(u) for u in params.uris]
    names += [_other_name(oid, value) for oid, value in params.other_sans]
    return names


def _extensions(
    builder: x509.CertificateBuilder, params: Params, public_key: PublicKey,
    issuer_skid: bytes | None,
) -> x509.CertificateBuilder:
    usage = params.key_usage
    if params.is_ca:
        usage = frozenset({"certsign", "crlsign"} | (usage & {"digitalsignature"}))
    if usage:
        builder = builder.add_extension(_key_usage(usage), critical=True)
    ekus = [oid for name, oid in _EXT_KEY_USAGES.items() if name in params.ext_key_usage]
    ekus += [ObjectIdentifier(oid) for oid in params.ext_key_usage_oids]
    if ekus:
        builder = builder.add_extension(x509.ExtendedKeyUsage(ekus), critical=False)
    if params.is_ca:
        path = None if params.max_path_length < 0 else params.max_path_length
        builder = builder.add_extension(x509.BasicConstraints(True, path), critical=True)
    elif params.basic_constraints_for_non_ca:
        builder = builder.add_extension(x509.BasicConstraints(False, None), critical=True)
    skid = params.skid or x509.SubjectKeyIdentifier.from_public_key(public_key).digest
    builder = builder.add_extension(x509.SubjectKeyIdentifier(skid), critical=False)
    authority = skid if issuer_skid is None else issuer_skid
    builder = builder.add_extension(
        x509.AuthorityKeyIdentifier(authority, None, None), critical=False
    )
    names = general_names(params)
    if names:
        # An empty subject makes the SAN extension critical (RFC 5280 4.2.1.6), as Go does.
        builder = builder.add_extension(
            x509.SubjectAlternativeName(names), critical=len(params.subject) == 0
        )
    if params.policies:
        builder = builder.add_extension(x509.CertificatePolicies([
            x509.PolicyInformation(ObjectIdentifier(oid), _qualifiers(cps, notice))
            for oid, cps, notice in params.policies
        ]), critical=False)
    builder = add_url_extensions(builder, params.urls)
    if params.permitted_dns_domains:
        permitted = [x509.DNSName(d) for d in params.permitted_dns_domains]
        builder = builder.add_extension(x509.NameConstraints(permitted, None), critical=True)
    return builder


def _qualifiers(cps: str, notice: str) -> list[str | x509.UserNotice] | None:
    qualifiers: list[str | x509.UserNotice] = [cps] if cps else []
    if notice:
        qualifiers.append(x509.UserNotice(None, notice))
    return qualifiers or None


def subject_key_id(cert: x509.Certificate) -> bytes | None:
    try:
        return cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    except x509.ExtensionNotFound:
        return None


def build_certificate(
    params: Params,
    public_key: PublicKey,
    signing_key: PrivateKey,
    issuer: x509.Certificate | None,
) -> x509.Certificate:
    """Sign ``params`` for ``public_key``; self-signed when ``issuer`` is None."""
    builder = (
        x509.CertificateBuilder()
        .subject_name(params.subject)
        .issuer_name(params.subject if issuer is None else issuer.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(params.not_before)
        .not_valid_after(params.not_after)
    )
    issuer_skid = None if issuer is None else subject_key_id(issuer) or b""
    builder = _extensions(builder, params, public_key, issuer_skid)
    signer = signer_for(signing_key, params.signature_bits, params.use_pss)
    return builder.sign(signing_key, signer.algorithm, rsa_padding=signer.rsa_padding)  # type: ignore[arg-type]


def build_csr(
    subject: x509.Name, key: PrivateKey, names: list[x509.GeneralName],
    *, is_ca: bool, signature_bits: int = 0, use_pss: bool = False,
) -> x509.CertificateSigningRequest:
    """An intermediate's CSR: subject, SANs and, when asked (add_basic_constraints), CA
    basic constraints, as OpenBao's createCSR."""
    builder = x509.CertificateSigningRequestBuilder().subject_name(subject)
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    if is_ca:
        builder = builder.add_extension(x509.BasicConstraints(True, None), critical=True)
    signer = signer_for(key, signature_bits, use_pss)
    return builder.sign(key, signer.algorithm, rsa_padding=signer.rsa_padding)  # type: ignore[arg-type]


def serial_text(cert: x509.Certificate) -> str:
    """Go's hex form of the serial's minimal big-endian bytes: "1f:0a:..."."""
    number = cert.serial_number
    raw = number.to_bytes(max(1, (number.bit_length() + 7) // 8), "big")
    return ":".join(f"{byte:02x}" for byte in raw)


def to_pem(cert: x509.Certificate) -> str:
    """PEM without the final newline, as OpenBao's responses carry it."""
    return cert.public_bytes(serialization.Encoding.PEM).decode().strip()


def to_der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def load_pem(pem: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem.encode())
