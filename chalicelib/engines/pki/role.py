"""A pki role: what issue/ and sign/ may put in a certificate. Stored at ``role/<name>``
with Vault's field names; read back exactly as OpenBao shows it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from chalicelib.core.records import build
from chalicelib.engines.pki.storage import ROLE_PREFIX

if TYPE_CHECKING:
    from chalicelib.storage.view import StorageView


@dataclass(slots=True)
class Role:
    ttl: int = 0
    max_ttl: int = 0
    allow_localhost: bool = True
    allowed_domains: list[str] = field(default_factory=list)
    allowed_domains_template: bool = False
    allow_bare_domains: bool = False
    allow_subdomains: bool = False
    allow_glob_domains: bool = False
    allow_wildcard_certificates: bool = True
    allow_any_name: bool = False
    enforce_hostnames: bool = True
    allow_ip_sans: bool = True
    allowed_ip_sans_cidr: list[str] = field(default_factory=list)
    allowed_uri_sans: list[str] = field(default_factory=list)
    allowed_uri_sans_template: bool = False
    allowed_other_sans: list[str] = field(default_factory=list)
    allowed_serial_numbers: list[str] = field(default_factory=list)
    allowed_user_ids: list[str] = field(default_factory=list)
    allow_token_displayname: bool = False
    allow_globs_in_identity_templates: bool = False
    server_flag: bool = True
    client_flag: bool = True
    code_signing_flag: bool = False
    email_protection_flag: bool = False
    key_type: str = "rsa"
    key_bits: int = 2048
    signature_bits: int = 0
    use_pss: bool = False
    key_usage: list[str] = field(
        default_factory=lambda: ["DigitalSignature", "KeyAgreement", "KeyEncipherment"]
    )
    ext_key_usage: list[str] = field(default_factory=list)
    ext_key_usage_oids: list[str] = field(default_factory=list)
    use_csr_common_name: bool = True
    use_csr_sans: bool = True
    ou: list[str] = field(default_factory=list)
    organization: list[str] = field(default_factory=list)
    country: list[str] = field(default_factory=list)
    locality: list[str] = field(default_factory=list)
    province: list[str] = field(default_factory=list)
    street_address: list[str] = field(default_factory=list)
    postal_code: list[str] = field(default_factory=list)
    generate_lease: bool = False
    no_store: bool = False
    require_cn: bool = True
    policy_identifiers: list[str] = field(default_factory=list)
    basic_constraints_valid_for_non_ca: bool = False
    not_before_duration: int = 30
    not_after: str = ""
    not_after_bound: str = "permit"
    not_before: str = ""
    not_before_bound: str = "permit"
    issuer_ref: str = "default"
    cn_validations: list[str] = field(default_factory=lambda: ["email", "hostname"])

    @classmethod
    def from_storage(cls, raw: dict[str, Any]) -> Role:
        return build(cls, raw)

    def to_storage(self) -> dict[str, Any]:
        return asdict(self)


def read_role(view: StorageView, name: str) -> Role | None:
    raw = view.get_json(ROLE_PREFIX + name)
    return None if raw is None else Role.from_storage(raw)


def write_role(view: StorageView, name: str, role: Role) -> None:
    view.put_json(ROLE_PREFIX + name, role.to_storage())
