"""What root/generate, intermediate/generate and the CA-signing paths share: their fields,
the key they use (generated, exported or an existing one), and the issuer that signs."""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from chalicelib.core.errors import BadRequest
from chalicelib.engines.pki import storage as st
from chalicelib.engines.pki import urls, validity
from chalicelib.engines.pki.issuance import Signing
from chalicelib.engines.pki.keytypes import (
    KeySpec,
    PrivateKey,
    generate,
    key_bits_of,
    key_type_of,
    load_private_key,
    validate_key_spec,
)
from chalicelib.engines.pki.role import Role
from chalicelib.engines.pki.x509build import load_pem
from chalicelib.framework import Field, FieldData, FieldType
from chalicelib.system.mount_config import effective_ttls

if TYPE_CHECKING:
    from chalicelib.core.request import Request
    from chalicelib.storage.view import StorageView

_LIST = FieldType.COMMA_STRING_LIST
NAME_FIELDS: dict[str, Field] = {
    "common_name": Field(FieldType.STRING, "", "The requested common name."),
    "alt_names": Field(FieldType.STRING, "", "Comma-separated DNS names and email addresses."),
    "ip_sans": Field(_LIST, list, "IP Subject Alternative Names."),
    "uri_sans": Field(_LIST, list, "URI Subject Alternative Names."),
    "other_sans": Field(_LIST, list, "Other SANs, as <oid>;UTF8:<value>."),
    "exclude_cn_from_sans": Field(FieldType.BOOL, False, "Keep the common name out of SANs."),
    "ttl": Field(FieldType.DURATION, 0, "Requested time to live."),
    "not_after": Field(FieldType.STRING, "", "Explicit expiry (RFC 3339)."),
    "serial_number": Field(FieldType.STRING, "", "The subject's serialNumber attribute."),
    "format": Field(FieldType.STRING, "pem", "pem, der or pem_bundle."),
    "private_key_format": Field(FieldType.STRING, "der", "der (or pem) or pkcs8."),
}
SUBJECT_FIELDS: dict[str, Field] = {
    name: Field(_LIST, list, f"The subject's {name}.")
    for name in ("ou", "organization", "country", "locality", "province", "street_address",
                 "postal_code")
}
CA_FIELDS: dict[str, Field] = {
    **NAME_FIELDS,
    **SUBJECT_FIELDS,
    "exported": Field(FieldType.STRING, "", "internal, exported or existing."),
    "key_type": Field(FieldType.STRING, "rsa", "rsa, ec or ed25519."),
    "key_bits": Field(FieldType.INT, 0, "Key size (0: the type's default)."),
    "signature_bits": Field(FieldType.INT, 0, "Signature hash size (0: the key's default)."),
    "use_pss": Field(FieldType.BOOL, False, "Sign with RSASSA-PSS."),
    "not_before_duration": Field(FieldType.DURATION, 30, "Backdating of NotBefore."),
    # Accepted on every CA path as OpenBao does; only sign-intermediate honours it.
    "not_before": Field(FieldType.STRING, "", "An explicit NotBefore (RFC 3339)."),
    "max_path_length": Field(FieldType.INT, -1, "Basic constraints path length (-1: none)."),
    "permitted_dns_domains": Field(_LIST, list, "DNS name constraints."),
    "key_name": Field(FieldType.STRING, "", "A name for the new key."),
    "key_ref": Field(FieldType.STRING, "default", "The existing key to use."),
    "issuer_name": Field(FieldType.STRING, "", "A name for the new issuer."),
}
GENERATION_TYPES = ("internal", "exported", "existing")
_BAD_TYPE = ('the "exported" path parameter must be "internal", "existing", exported" or '
             '"kms"')
MISSING_AIA = (
    "This mount hasn't configured any authority information access (AIA) fields; this may "
    "make it harder for systems to find missing certificates in the chain or to validate "
    "revocation status of certificates. Consider updating /config/urls or the newly "
    "generated issuer with this information."
)


class GenerationKey(NamedTuple):
    key: PrivateKey
    spec: KeySpec
    exported: bool
    existing_id: str  # "" unless type was existing


def limits_of(request: Request) -> validity.Limits:
    assert request.mount is not None
    return validity.Limits(*effective_ttls(request.mount))


def check_generation_type(kind: str) -> str:
    if kind == "kms":
        raise BadRequest("managed keys (kms) are not supported by this server")
    if kind not in GENERATION_TYPES:
        raise BadRequest(_BAD_TYPE)
    return kind


def new_names(view: StorageView, data: FieldData) -> tuple[str, str]:
    """The issuer and key names a generation asked for, checked as OpenBao checks them."""
    issuer_name = st.check_name("issuer", data["issuer_name"]) if data.is_set(
        "issuer_name") else ""
    if issuer_name and st.name_taken(view, "issuer", issuer_name):
        raise BadRequest("issuer name already in use")
    key_name = st.check_name("key", data["key_name"])
    if key_name and st.name_taken(view, "key", key_name):
        raise BadRequest("key name already in use")
    return issuer_name, key_name


def requested_spec(data: FieldData) -> KeySpec:
    """The request's key_type, key_bits and signature_bits, checked first as OpenBao's
    getGenerationParams does (before names, whatever the generation type)."""
    return validate_key_spec(data["key_type"], data["key_bits"], data["signature_bits"])


def generation_key(view: StorageView, data: FieldData, kind: str,
                   requested: KeySpec) -> GenerationKey:
    if kind == "existing":
        try:
            entry = st.fetch_key(view, data["key_ref"])
        except st.RefNotFound as error:
            raise BadRequest(
                f"failed to lookup public key from existing key: {error.message}"
            ) from None
        key = load_private_key(entry.private_key)
        spec = validate_key_spec(key_type_of(key), key_bits_of(key), data["signature_bits"])
        return GenerationKey(key, spec, False, entry.id)
    if requested.key_type == "any":
        raise BadRequest("unknown key type any")
    return GenerationKey(generate(requested), requested, kind == "exported", "")


def ca_role(data: FieldData, spec: KeySpec) -> Role:
    """OpenBao's role for CA operations: any name, checks off, the request's subject."""
    return Role(
        ttl=data["ttl"], key_type=spec.key_type, key_bits=spec.key_bits,
        signature_bits=spec.signature_bits, use_pss=data["use_pss"],
        allow_any_name=True, enforce_hostnames=False, allowed_other_sans=["*"],
        allowed_serial_numbers=["*"], allowed_uri_sans=["*"], not_after=data["not_after"],
        not_before_duration=data["not_before_duration"], cn_validations=["disabled"],
        require_cn=False, key_usage=[], server_flag=False, client_flag=False,
        not_before_bound="", **{name: data[name] for name in SUBJECT_FIELDS},
    )


def signing_for(view: StorageView, reference: str) -> Signing:
    """The issuer ``reference`` names, with its key, ready to sign (OpenBao's fetchCAInfo
    with the issuing usage)."""
    try:
        issuer = st.fetch_issuer(view, reference)
    except st.RefNotFound as error:
        raise BadRequest(
            f"could not fetch the CA certificate (was one set?): {error.message}"
        ) from None
    if st.ISSUANCE_USAGE not in issuer.usage:
        raise st.RefNotFound(
            f"error while attempting to use issuer {issuer.id}: requested usage "
            f"issuing-certificates for issuer [{issuer.id}] but only had usage "
            f"{','.join(issuer.usage)}"
        )
    key = st.read_key(view, issuer.key_id) if issuer.key_id else None
    if key is None:
        raise BadRequest(
            "could not fetch the CA certificate (was one set?): unable to fetch corresponding "
            f"key for issuer {issuer.id}; unable to use this issuer for signing"
        )
    return Signing(issuer.id, load_pem(issuer.certificate), load_private_key(key.private_key),
                   issuer.ca_chain, issuer.leaf_not_after_behavior, issuer.aia_urls)


def signing_with_urls(view: StorageView, reference: str) -> tuple[Signing, urls.Urls]:
    """The issuer and the URLs its certificates carry, fetched together as OpenBao's
    fetchCAInfo does before any check of the format, the CSR, names or TTLs: a templating
    failure is the error when the parameters are wrong too."""
    signing = signing_for(view, reference)
    return signing, urls.for_issuer(view, signing.issuer_id, signing.aia_urls)
