"""``config/cluster`` (the mount's public URL, which ACME URLs are built from) and
``config/acme``, as OpenBao's path_config_cluster.go and path_config_acme.go."""

from __future__ import annotations

import ipaddress
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from chalicelib.core.errors import BadRequest
from chalicelib.core.operation import Operation
from chalicelib.core.records import build
from chalicelib.core.request import Request, Response
from chalicelib.engines.pki import storage as st
from chalicelib.engines.pki.cluster import CLUSTER_CONFIG, read_cluster_config
from chalicelib.engines.pki.role import read_role
from chalicelib.framework import Field, FieldData, FieldType, Path
from chalicelib.framework.storage import view_of

if TYPE_CHECKING:
    from chalicelib.storage.view import StorageView

ACME_CONFIG = "config/acme"
EAB_POLICIES = ("not-required", "new-account-required", "always-required")
# OpenBao caps every ACME certificate at 90 days (maxAcmeCertTTL); max_ttl lowers it.
DEFAULT_MAX_TTL = 90 * 24 * 3600
NO_CLUSTER_PATH = "ACME feature requires local cluster 'path' field configuration to be set"


@dataclass(slots=True)
class AcmeConfig:
    enabled: bool = False
    allowed_issuers: list[str] = field(default_factory=lambda: ["*"])
    allowed_roles: list[str] = field(default_factory=lambda: ["*"])
    allow_role_ext_key_usage: bool = False
    default_directory_policy: str = "sign-verbatim"
    dns_resolver: str = ""
    eab_policy: str = "not-required"
    max_ttl: int = DEFAULT_MAX_TTL


def read_acme_config(view: StorageView) -> AcmeConfig:
    raw = view.get_json(ACME_CONFIG)
    return AcmeConfig() if raw is None else build(AcmeConfig, raw)


def cluster_path(view: StorageView) -> str:
    """The configured ``path`` (e.g. https://vault.example.com/v1/pki), or ""."""
    return read_cluster_config(view).path


def _check_url(name: str, value: str) -> None:
    parts = urlsplit(value)
    if not parts.scheme or not parts.netloc:
        raise BadRequest(f"invalid, non-URL {name} given to cluster: {value}")


def path_cluster_read(request: Request, _data: FieldData) -> Response:
    return Response(data=read_cluster_config(view_of(request))._asdict())


def path_cluster_write(request: Request, data: FieldData) -> Response:
    view = view_of(request)
    current = read_cluster_config(view)._asdict()
    for name in ("path", "aia_path"):
        if data.is_set(name):
            current[name] = data[name]
            if current[name]:
                _check_url(name, current[name])
    view.put_json(CLUSTER_CONFIG, current)
    return Response(data={"path": current["path"], "aia_path": current["aia_path"]})


def path_acme_read(request: Request, _data: FieldData) -> Response:
    view = view_of(request)
    config = read_acme_config(view)
    warnings = [NO_CLUSTER_PATH] if config.enabled and not cluster_path(view) else []
    return Response(data=asdict(config), warnings=warnings)


def path_acme_write(request: Request, data: FieldData) -> Response:
    view = view_of(request)
    config = read_acme_config(view)
    for name in ("enabled", "allow_role_ext_key_usage", "default_directory_policy",
                 "allowed_roles", "allowed_issuers", "dns_resolver", "max_ttl"):
        if data.is_set(name):
            setattr(config, name, data[name])
    if data.is_set("allowed_roles") and not config.allowed_roles:
        raise BadRequest("allowed_roles must take a non-zero length value; specify '*' as the "
                         "value to allow anything or specify enabled=false to disable ACME "
                         "entirely")
    if data.is_set("allowed_issuers") and not config.allowed_issuers:
        raise BadRequest("allowed_issuers must take a non-zero length value; specify '*' as "
                         "the value to allow anything or specify enabled=false to disable ACME "
                         "entirely")
    if data.is_set("eab_policy"):
        if data["eab_policy"] not in EAB_POLICIES:
            raise BadRequest("invalid eab policy name provided, valid values are "
                             "'not-required', 'new-account-required', 'always-required'")
        config.eab_policy = data["eab_policy"]
    if config.dns_resolver:
        _check_resolver(config.dns_resolver)
    if config.max_ttl <= 0:
        raise BadRequest("max_ttl must be positive")
    _check_policy(view, config)
    if config.enabled and not cluster_path(view):
        raise BadRequest(NO_CLUSTER_PATH)
    view.put_json(ACME_CONFIG, asdict(config))
    return Response(data=asdict(config))


def _check_resolver(value: str) -> None:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit():
        raise BadRequest(f"failed to parse DNS resolver address: address {value}: missing "
                         "port in address")
    if not host:
        raise BadRequest("failed to parse DNS resolver address: got empty address")
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        raise BadRequest("failed to parse DNS resolver address: expected IPv4/IPv6 address, "
                         "likely got hostname") from None


def directory_role(policy: str) -> str | None:
    """The role of a ``role:<name>`` default directory policy; None for the other kinds."""
    if policy in ("forbid", "sign-verbatim"):
        return None
    kind, _, name = policy.partition(":")
    if kind != "role" or not name:
        raise BadRequest(f"invalid default_directory_policy: string {policy} was not a valid "
                         "default directory policy")
    return name


def check_acme_role(view: StorageView, name: str) -> None:
    role = read_role(view, name)
    if role is None:
        raise BadRequest(f"role {name} is not a valid ACME role: role does not exist")
    if role.no_store:
        raise BadRequest(f"role {name} is not a valid ACME role: role can not be used as "
                         "NoStore is set to true")


def _check_policy(view: StorageView, config: AcmeConfig) -> None:
    default_role = directory_role(config.default_directory_policy)
    if default_role is not None:
        check_acme_role(view, default_role)
    if config.allowed_roles != ["*"]:
        for index, name in enumerate(config.allowed_roles):
            if name == "*":
                raise BadRequest(f"cannot use '*' as role name at index {index}")
            check_acme_role(view, name)
        if default_role is not None and default_role not in config.allowed_roles:
            raise BadRequest(f"default directory policy {config.default_directory_policy} "
                             f"was not specified in allowed_roles: {config.allowed_roles}")
    if config.allowed_issuers != ["*"]:
        for index, name in enumerate(config.allowed_issuers):
            if name == "*":
                raise BadRequest(f"cannot use '*' as issuer name at index {index}")
            try:
                st.resolve_issuer_id(view, name)
            except st.RefNotFound as error:
                raise BadRequest(f"failed validating allowed_issuers: unable to fetch issuer: "
                                 f"{name}: {error.message}") from None


_LIST = FieldType.COMMA_STRING_LIST
ACME_FIELDS = {
    "enabled": Field(FieldType.BOOL, False, "Whether the ACME directories answer."),
    "allowed_issuers": Field(_LIST, lambda: ["*"], "Issuers ACME may sign with."),
    "allowed_roles": Field(_LIST, lambda: ["*"], "Roles ACME directories may use."),
    "allow_role_ext_key_usage": Field(FieldType.BOOL, False,
                                      "Use the role's extended key usages (else serverAuth)."),
    "default_directory_policy": Field(FieldType.STRING, "sign-verbatim",
                                      "forbid, sign-verbatim or role:<name>."),
    "dns_resolver": Field(FieldType.STRING, "", "DNS resolver (ip:port) for validation."),
    "eab_policy": Field(FieldType.STRING, "always-required",
                        "not-required, new-account-required or always-required."),
    "max_ttl": Field(FieldType.DURATION, DEFAULT_MAX_TTL, "Longest ACME certificate."),
}
CLUSTER_FIELDS = {
    "path": Field(FieldType.STRING, "", "This mount's URL, e.g. https://host/v1/pki."),
    "aia_path": Field(FieldType.STRING, "", "The mount's URL for AIA (may be plain http)."),
}


def paths() -> list[Path]:
    return [
        Path("config/cluster", {Operation.READ: path_cluster_read,
                                Operation.CREATE: path_cluster_write,
                                Operation.UPDATE: path_cluster_write},
             fields=CLUSTER_FIELDS, synopsis="The mount's public URLs (ACME, AIA)."),
        Path("config/acme", {Operation.READ: path_acme_read,
                             Operation.CREATE: path_acme_write,
                             Operation.UPDATE: path_acme_write},
             fields=ACME_FIELDS, synopsis="ACME configuration."),
    ]
