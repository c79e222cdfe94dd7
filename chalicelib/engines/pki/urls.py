"""`config/urls` (OpenBao's path_config_urls.go) and the AIA / CRL distribution point
extensions it puts into issued certificates. Stored as one item, ``config/urls``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import urlparse

from cryptography import x509
from cryptography.x509.oid import AuthorityInformationAccessOID

from chalicelib.core.errors import BadRequest
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.framework import Field, FieldData, FieldType, Path
from chalicelib.framework.storage import view_of

if TYPE_CHECKING:
    from chalicelib.storage.view import StorageView

URLS_CONFIG = "config/urls"
_LISTS = ("issuing_certificates", "crl_distribution_points", "delta_crl_distribution_points",
          "ocsp_servers")
_TEMPLATES = ("{{issuer_id}}", "{{cluster_path}}", "{{cluster_aia_path}}")
# This vault has no config/cluster: its addresses are never set.
_NO_CLUSTER = {
    "{{cluster_path}}": "unable to template AIA URLs as we lack local cluster address "
                        "information (path)",
    "{{cluster_aia_path}}": "unable to template AIA URLs as we lack local cluster address "
                            "information (aia_path)",
}


class Urls(NamedTuple):
    """The URLs an issued certificate carries."""

    issuing_certificates: tuple[str, ...] = ()
    crl_distribution_points: tuple[str, ...] = ()
    ocsp_servers: tuple[str, ...] = ()


def read_urls_config(view: StorageView) -> dict[str, Any]:
    stored = view.get_json(URLS_CONFIG) or {}
    return {**{name: [] for name in _LISTS}, "enable_templating": False, **stored}


def _bad_url(urls: list[str]) -> str:
    for url in urls:
        parsed = urlparse(url)
        if not parsed.scheme or not parsed.netloc or any(t in url for t in _TEMPLATES):
            return url
    return ""


def for_issuer(view: StorageView, issuer_id: str) -> Urls:
    """OpenBao's toURLEntries: the configured URLs, templated when enabled."""
    config = read_urls_config(view)
    if not (config["issuing_certificates"] or config["crl_distribution_points"]
            or config["ocsp_servers"]):
        return Urls()
    if not config["enable_templating"]:
        return Urls(tuple(config["issuing_certificates"]),
                    tuple(config["crl_distribution_points"]), tuple(config["ocsp_servers"]))
    out: dict[str, tuple[str, ...]] = {}
    for name in ("issuing_certificates", "crl_distribution_points", "ocsp_servers"):
        templated = []
        for url in config[name]:
            for template, error in _NO_CLUSTER.items():
                if template in url:
                    raise BadRequest(error)
            templated.append(url.replace("{{issuer_id}}", issuer_id))
        if bad := _bad_url(templated):
            raise BadRequest(f"error validating templated {name}; invalid URI: {bad}")
        out[name] = tuple(templated)
    return Urls(**out)


def add_extensions(builder: x509.CertificateBuilder, urls: Urls) -> x509.CertificateBuilder:
    """AIA (OCSP, then CA issuers, as Go writes them) and one distribution point per URL."""
    access = [x509.AccessDescription(AuthorityInformationAccessOID.OCSP,
                                     x509.UniformResourceIdentifier(u)) for u in urls.ocsp_servers]
    access += [x509.AccessDescription(AuthorityInformationAccessOID.CA_ISSUERS,
                                      x509.UniformResourceIdentifier(u))
               for u in urls.issuing_certificates]
    if access:
        builder = builder.add_extension(x509.AuthorityInformationAccess(access), critical=False)
    if urls.crl_distribution_points:
        builder = builder.add_extension(x509.CRLDistributionPoints([
            x509.DistributionPoint([x509.UniformResourceIdentifier(u)], None, None, None)
            for u in urls.crl_distribution_points]), critical=False)
    return builder


def path_urls_read(request: Request, data: FieldData) -> Response:
    return Response(data=read_urls_config(view_of(request)))


def path_urls_write(request: Request, data: FieldData) -> Response:
    """Given fields replace the stored ones (absent ones stay), then OpenBao's checks."""
    view = view_of(request)
    config = read_urls_config(view)
    for name in (*_LISTS, "enable_templating"):
        if data.is_set(name):
            config[name] = data[name]
    warnings = []
    if config["enable_templating"]:
        used = [u for name in _LISTS for u in config[name]]
        missing = next((e for t, e in _NO_CLUSTER.items() if any(t in u for u in used)), "")
        if missing:
            warnings.append(f"issuance may fail: {missing}\n\nConsider setting the "
                            "cluster-local address if it is not already set.")
    else:
        for name in _LISTS:
            if bad := _bad_url(config[name]):
                raise BadRequest("invalid URL found in Authority Information Access (AIA) "
                                 f"parameter {name}: {bad}")
    view.put_json(URLS_CONFIG, config)
    return Response(data=config, warnings=warnings or None)


_FIELDS = {
    **{name: Field(FieldType.COMMA_STRING_LIST, list, f"config/urls' {name}.")
       for name in _LISTS},
    "enable_templating": Field(FieldType.BOOL, False, "Template {{issuer_id}} into URLs."),
}


def paths() -> list[Path]:
    return [Path("config/urls", {Operation.READ: path_urls_read,
                                 Operation.UPDATE: path_urls_write}, fields=_FIELDS,
                 synopsis="URLs written into issued certificates (AIA, CRL points).")]
