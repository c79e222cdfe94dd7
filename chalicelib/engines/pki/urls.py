"""`config/urls` (OpenBao's path_config_urls.go) and the AIA / CRL distribution point
extensions it puts into issued certificates (an issuer's own URLs, IssuerEntry.aia_urls,
take its place when they name any). Stored as one item, ``config/urls``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import urlparse

from cryptography import x509
from cryptography.x509.oid import AuthorityInformationAccessOID

from chalicelib.core.errors import BadRequest, multierror
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.engines.pki.cluster import read_cluster_config
from chalicelib.engines.pki.storage import ISSUER_PREFIX
from chalicelib.framework import Field, FieldData, FieldType, Path
from chalicelib.framework.storage import view_of

if TYPE_CHECKING:
    from chalicelib.storage.view import StorageView

URLS_CONFIG = "config/urls"
# config/urls' lists, the shape an issuer's own URLs (IssuerEntry.aia_urls) share.
URL_LISTS = ("issuing_certificates", "crl_distribution_points",
             "delta_crl_distribution_points", "ocsp_servers")
# Each template and what its error says is lacking, in the order OpenBao checks them.
_NEEDS = (("{{cluster_path}}", "local cluster address information (path)"),
          ("{{cluster_aia_path}}", "local cluster address information (aia_path)"),
          ("{{issuer_id}}", "an issuer_id for this operation"))
_TEMPLATES = tuple(template for template, _ in _NEEDS)


class Urls(NamedTuple):
    """The URLs an issued certificate carries."""

    issuing_certificates: tuple[str, ...] = ()
    crl_distribution_points: tuple[str, ...] = ()
    ocsp_servers: tuple[str, ...] = ()
    delta_crl_distribution_points: tuple[str, ...] = ()  # for complete CRLs, not certificates

    def any_in_certificate(self) -> bool:
        """Whether a certificate built with these carries AIA or CRL distribution points
        (OpenBao warns on a new CA certificate without any)."""
        return bool(self.issuing_certificates or self.crl_distribution_points
                    or self.ocsp_servers)


def read_urls_config(view: StorageView) -> dict[str, Any]:
    stored = view.get_json(URLS_CONFIG) or {}
    return {**{name: [] for name in URL_LISTS}, "enable_templating": False, **stored}


ROOT_ISSUER_ID_IGNORED = (
    "When generating root CA, found global AIA configuration with issuer_id template "
    "unsuitable for root generation. This AIA configuration has been ignored. To include AIA "
    "on this root CA, set the global AIA configuration to not include issuer_id and instead "
    "to refer to a static issuer name."
)


def configured(view: StorageView) -> bool:
    """Whether config/urls names any AIA or CRL URL: intermediate/generate and the imports
    warn when it does not, as OpenBao (they look at the configuration, not a certificate)."""
    return names_any(read_urls_config(view))


def names_any(config: dict[str, Any]) -> bool:
    """Whether URLs in config/urls' shape name any URL a certificate carries."""
    return bool(config["issuing_certificates"] or config["crl_distribution_points"]
                or config["ocsp_servers"])


def bad_url(urls: list[str]) -> str:
    """The first URL OpenBao's validateURLs refuses (templates included), or ""."""
    for url in urls:
        parsed = urlparse(url)
        if not parsed.scheme or not parsed.netloc or any(t in url for t in _TEMPLATES):
            return url
    return ""


def check_urls(name: str, values: list[str], templating: bool) -> None:
    """OpenBao's refusal of an AIA list naming something other than a URL (config/urls,
    issuer/<ref>); templates are checked once rendered instead."""
    if not templating and (bad := bad_url(values)):
        raise BadRequest("invalid URL found in Authority Information Access (AIA) parameter "
                         f"{name}: {bad}")


def for_issuer(view: StorageView, issuer_id: str, own: dict[str, Any] | None) -> Urls:
    """The URLs of a certificate ``issuer_id`` signs, or of its complete CRLs (OpenBao's
    fetchCAInfo): a templating failure refuses the request with OpenBao's words (it
    answers 500)."""
    try:
        return templated(view, issuer_id, own)
    except BadRequest as error:
        raise BadRequest(multierror(ca_refusal(error))) from None


def ca_refusal(error: BadRequest) -> str:
    """OpenBao's words when fetching a CA (fetchCAInfo) meets a templating failure."""
    return f"error fetching CA certificate: unable to fetch AIA URL information: {error.message}"


def for_root(view: StorageView) -> tuple[Urls, list[str]]:
    """The URLs of a new self-signed root and a warning (OpenBao's generateCert): no issuer
    id exists yet, so templates naming ``{{issuer_id}}`` make the whole configuration
    ignored, with a warning; any other templating failure refuses the request with
    OpenBao's words (it answers 500)."""
    config = read_urls_config(view)
    try:
        return _render(config, view, ""), []
    except BadRequest as error:
        try:
            _render(config, view, "empty-issuer-id")
        except BadRequest:
            raise BadRequest(multierror(
                f"unable to parse AIA URL information: {error.message}\nUsing templated AIA "
                "URL's {{issuer_id}} field when generating root certificates is not "
                "supported.")) from None
        return Urls(), [ROOT_ISSUER_ID_IGNORED]


def templated(view: StorageView, issuer_id: str, own: dict[str, Any] | None) -> Urls:
    """OpenBao's GetAIAURLs and toURLEntries: the issuer's own URLs (``own``, set through
    issuer/<ref>) when they name an AIA or CRL URL, else config/urls, with
    ``{{cluster_path}}``, ``{{cluster_aia_path}}`` (config/cluster) and ``{{issuer_id}}``
    filled in when templating is enabled; BadRequest naming what is lacking or the invalid
    result."""
    if own is not None:
        config = issuer_urls_config(own)
        if names_any(config):
            return _render(config, view, issuer_id)
    return _render(read_urls_config(view), view, issuer_id)


def issuer_urls_config(own: dict[str, Any]) -> dict[str, Any]:
    """An issuer's stored URLs in config/urls' shape (lists it never set are null there)."""
    return {**{name: own.get(name) or [] for name in URL_LISTS},
            "enable_templating": own.get("enable_templating", False)}


def _render(config: dict[str, Any], view: StorageView, issuer_id: str) -> Urls:
    if not names_any(config):
        return Urls()
    if not config["enable_templating"]:
        return Urls(**{name: tuple(config[name]) for name in Urls._fields})
    cluster = read_cluster_config(view)
    values = dict(zip(_TEMPLATES, (cluster.path, cluster.aia_path, issuer_id), strict=True))
    out: dict[str, tuple[str, ...]] = {}
    for name in Urls._fields:
        urls = []
        for url in config[name]:
            for template, lacking in _NEEDS:
                if template in url and not values[template]:
                    raise BadRequest(f"unable to template AIA URLs as we lack {lacking}")
            for template, value in values.items():
                url = url.replace(template, value)
            urls.append(url)
        if bad := bad_url(urls):
            raise BadRequest(f"error validating templated {name}; invalid URI: {bad}")
        out[name] = tuple(urls)
    return Urls(**out)


def templating_warnings(config: dict[str, Any], view: StorageView, issuer_id: str) -> list[str]:
    """OpenBao's warning when templated URLs cannot be rendered for ``issuer_id`` yet."""
    try:
        _render(config, view, issuer_id)
    except BadRequest as error:
        return [f"issuance may fail: {error.message}\n\nConsider setting the cluster-local "
                "address if it is not already set."]
    return []


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
    for name in (*URL_LISTS, "enable_templating"):
        if data.is_set(name):
            config[name] = data[name]
    warnings: list[str] = []
    if config["enable_templating"]:
        # OpenBao tries the templates on the first issuer (in id order), when there is one.
        first = min((k for k in view.list(ISSUER_PREFIX) if not k.endswith("/")), default="")
        if first:
            warnings += templating_warnings(config, view, first)
    for name in URL_LISTS:
        check_urls(name, config[name], config["enable_templating"])
    view.put_json(URLS_CONFIG, config)
    return Response(data=config, warnings=warnings or None)


_FIELDS = {
    **{name: Field(FieldType.COMMA_STRING_LIST, list, f"config/urls' {name}.")
       for name in URL_LISTS},
    "enable_templating": Field(FieldType.BOOL, False, "Fill {{issuer_id}}, {{cluster_path}} "
                               "and {{cluster_aia_path}} (config/cluster) into the URLs."),
}


def paths() -> list[Path]:
    return [Path("config/urls", {Operation.READ: path_urls_read,
                                 Operation.UPDATE: path_urls_write}, fields=_FIELDS,
                 synopsis="URLs written into issued certificates (AIA, CRL points).")]
