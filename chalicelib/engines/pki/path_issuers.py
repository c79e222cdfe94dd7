"""`issuers` (LIST), `issuer/<ref>` (read, update, patch, delete; its own AIA URLs among
its settings), `issuer/<ref>/json|der|pem` and `config/issuers`, as OpenBao's
path_fetch_issuers.go and path_config_ca.go."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cryptography import x509

from chalicelib.core import jsonio
from chalicelib.core.errors import BadRequest, PreconditionFailed, multierror
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.engines.pki import issuers, urls
from chalicelib.engines.pki import storage as st
from chalicelib.engines.pki.fetch import DER_TYPE, PEM_TYPE, raw_reply
from chalicelib.engines.pki.keytypes import key_type_of
from chalicelib.engines.pki.x509build import load_pem, to_der
from chalicelib.framework import Field, FieldData, FieldType, Path
from chalicelib.framework.storage import PAGE_FIELDS, page, view_of
from chalicelib.storage.physical import ConditionFailed

if TYPE_CHECKING:
    from chalicelib.storage.view import StorageView

_BEHAVIORS = ("err", "truncate", "permit")


def _fetch(request: Request, reference: str) -> st.IssuerEntry:
    try:
        return st.fetch_issuer(view_of(request), reference)
    except st.RefNotFound as error:
        raise st.RefNotFound(multierror(error.message)) from None


# What makes an issuer's URLs worth keeping (OpenBao ignores the delta CRL points there).
_AIA_IN_CERTIFICATES = ("issuing_certificates", "crl_distribution_points", "ocsp_servers")


def issuer_view(issuer: st.IssuerEntry) -> dict[str, Any]:
    """OpenBao's respondReadIssuer: the URLs as stored (a list never set is null), and
    enable_aia_url_templating only when the issuer has URLs of its own."""
    view = {
        "issuer_id": issuer.id,
        "issuer_name": issuer.name,
        "key_id": issuer.key_id,
        "certificate": issuer.certificate,
        "manual_chain": issuer.manual_chain or None,
        "ca_chain": issuer.ca_chain,
        "leaf_not_after_behavior": issuer.leaf_not_after_behavior,
        "usage": ",".join(issuer.usage),
        "revocation_signature_algorithm": issuer.revocation_signature_algorithm,
        "revoked": False,
        **{name: [] for name in urls.URL_LISTS},
    }
    if issuer.aia_urls is not None:
        view.update({name: issuer.aia_urls.get(name) for name in urls.URL_LISTS},
                    enable_aia_url_templating=issuer.aia_urls["enable_templating"])
    return view


def path_issuers_list(request: Request, data: FieldData) -> Response | None:
    view = view_of(request)
    default = st.issuers_config(view)["default"]
    found = {i.id: i for i in issuers.all_issuers(view)}
    keys = page(sorted(found), data["after"], data["limit"])
    if not keys:
        return None
    info = {
        i: {"issuer_name": found[i].name, "is_default": i == default,
            "serial_number": found[i].serial_number, "key_id": found[i].key_id}
        for i in keys
    }
    return Response(data={"keys": keys, "key_info": info})


def path_issuer_read(request: Request, data: FieldData) -> Response:
    return Response(data=issuer_view(_fetch(request, data["issuer_ref"])))


def path_issuer_write(request: Request, data: FieldData) -> Response:
    """POST replaces every setting (absent ones take their defaults), as OpenBao's
    pathUpdateIssuer; PATCH changes only what it names."""
    view = view_of(request)
    issuer = _fetch(request, data["issuer_ref"])
    partial = request.operation is Operation.PATCH
    given = (lambda name: data.is_set(name)) if partial else (lambda name: True)
    old_name = issuer.name
    if given("issuer_name"):
        issuer.name = _new_name(view, data, issuer)
    if given("leaf_not_after_behavior"):
        if data["leaf_not_after_behavior"] not in _BEHAVIORS:
            raise BadRequest("Unknown value for field `leaf_not_after_behavior`. Possible values "
                             "are `err`, `truncate`, and `permit`.")
        issuer.leaf_not_after_behavior = data["leaf_not_after_behavior"]
    if given("usage"):
        issuer.usage = _usages(data["usage"], issuer)
    if given("revocation_signature_algorithm"):
        issuer.revocation_signature_algorithm = _revocation_algorithm(
            data["revocation_signature_algorithm"], issuer)
    issuer.aia_urls = (_patched_urls if partial else _posted_urls)(data, issuer.aia_urls)
    chain_changed = False
    if given("manual_chain"):
        chain = _manual_chain(view, issuer, data["manual_chain"])
        chain_changed, issuer.manual_chain = chain != issuer.manual_chain, chain
    issuers.write_issuer(view, issuer, old_name)
    if chain_changed:
        issuers.rebuild_chains(view)
        issuer = st.read_issuer(view, issuer.id) or issuer
    warnings = []
    if old_name and issuer.name != old_name:
        referencing = _roles_referencing(view, old_name)
        if referencing:
            warnings.append(f"{referencing} roles reference {old_name}")
    if issuer.aia_urls is not None and issuer.aia_urls["enable_templating"]:
        warnings += urls.templating_warnings(urls.issuer_urls_config(issuer.aia_urls), view,
                                             issuer.id)
    return Response(data=issuer_view(issuer), warnings=warnings)


def _posted_urls(data: FieldData, stored: dict[str, Any] | None) -> dict[str, Any] | None:
    """OpenBao's pathUpdateIssuer: every list is checked (unless templating), the three a
    certificate carries and the templating flag replace the stored ones, but the delta CRL
    points are never stored by a POST; no URLs left means no entry."""
    templating = data["enable_aia_url_templating"]
    for name in urls.URL_LISTS:
        urls.check_urls(name, _given(data, name), templating)
    if stored is None and not any(_given(data, n) for n in _AIA_IN_CERTIFICATES):
        return None
    updated = {**dict.fromkeys(urls.URL_LISTS), **(stored or {}), "enable_templating": templating}
    for name in _AIA_IN_CERTIFICATES:
        updated[name] = _changed(updated[name], _given(data, name))
    return updated if urls.names_any(updated) else None


def _patched_urls(data: FieldData, stored: dict[str, Any] | None) -> dict[str, Any] | None:
    """OpenBao's pathPatchIssuer: the lists named replace the stored ones (the delta CRL
    points too), checked unless templating is on once the flag is applied; the flag can
    be turned on but, as in OpenBao, not off; no URLs left means no entry."""
    updated = {**dict.fromkeys(urls.URL_LISTS), "enable_templating": False, **(stored or {})}
    if data.is_set("enable_aia_url_templating") and data["enable_aia_url_templating"]:
        updated["enable_templating"] = True
    for name in urls.URL_LISTS:
        if data.is_set(name):
            urls.check_urls(name, data[name], updated["enable_templating"])
            updated[name] = _changed(updated[name], data[name])
    return updated if urls.names_any(updated) else None


def _changed(stored: list[str] | None, new: list[str]) -> list[str] | None:
    """OpenBao replaces a list only when it differs: a list never set (null) stays null
    when an empty one is given."""
    return stored if (stored or []) == new else new


def _given(data: FieldData, name: str) -> list[str]:
    return data[name] if data.is_set(name) else []


def _new_name(view: StorageView, data: FieldData, issuer: st.IssuerEntry) -> str:
    if not data.is_set("issuer_name"):
        return ""  # a POST without a name clears it, as in OpenBao
    name = st.check_name("issuer", data["issuer_name"])
    if name != issuer.name and st.name_taken(view, "issuer", name):
        raise BadRequest("issuer name already in use")
    return name


def _roles_referencing(view: StorageView, name: str) -> int:
    """How many roles name the issuer ``name`` (OpenBao warns after a rename)."""
    names = [k for k in view.list(st.ROLE_PREFIX) if not k.endswith("/")]
    count = 0
    for start in range(0, len(names), 100):
        found = view.get_many([st.ROLE_PREFIX + n for n in names[start:start + 100]])
        count += sum(1 for e in found.values() if jsonio.loads(e.value).get("issuer_ref") == name)
    return count


def _usages(values: list[str], issuer: st.IssuerEntry) -> list[str]:
    chosen: set[str] = set()
    for name in values:
        if name not in st.ALL_USAGES:
            raise BadRequest(f"Unable to parse specified usages: [{' '.join(values)}] - valid "
                             f"values are {','.join(st.ALL_USAGES)}")
        chosen ^= {name}  # OpenBao toggles: a usage named twice is off again
    if "crl-signing" in chosen and not _has_crl_sign(issuer):
        raise BadRequest("This issuer's underlying certificate lacks the CRLSign KeyUsage value; "
                         "unable to set CRLSigningUsage on this issuer as a result.")
    return [u for u in st.ALL_USAGES if u in chosen]


def _has_crl_sign(issuer: st.IssuerEntry) -> bool:
    try:
        usage = load_pem(issuer.certificate).extensions.get_extension_for_class(x509.KeyUsage)
    except x509.ExtensionNotFound:
        return False
    return usage.value.crl_sign


# OpenBao's accepted names (lowercase): key type, how OpenBao shows it, Go's own name.
_SIGNATURE_ALGORITHMS = {
    "sha256withrsa": ("rsa", "SHA256WithRSA", "SHA256-RSA"),
    "sha384withrsa": ("rsa", "SHA384WithRSA", "SHA384-RSA"),
    "sha512withrsa": ("rsa", "SHA512WithRSA", "SHA512-RSA"),
    "sha256withrsapss": ("rsa", "SHA256WithRSAPSS", "SHA256-RSAPSS"),
    "sha384withrsapss": ("rsa", "SHA384WithRSAPSS", "SHA384-RSAPSS"),
    "sha512withrsapss": ("rsa", "SHA512WithRSAPSS", "SHA512-RSAPSS"),
    "ecdsawithsha256": ("ec", "ECDSAWithSHA256", "ECDSA-SHA256"),
    "ecdsawithsha384": ("ec", "ECDSAWithSHA384", "ECDSA-SHA384"),
    "ecdsawithsha512": ("ec", "ECDSAWithSHA512", "ECDSA-SHA512"),
    "pureed25519": ("ed25519", "Ed25519", "Ed25519"),
    "ed25519": ("ed25519", "Ed25519", "Ed25519"),
}
_GO_KEY_TYPES = {"rsa": "RSA", "ec": "ECDSA", "ed25519": "Ed25519"}


def _revocation_algorithm(value: str, issuer: st.IssuerEntry) -> str:
    if not value:
        return ""
    found = _SIGNATURE_ALGORITHMS.get(value.lower())
    if found is None:
        raise BadRequest(f"Unknown signature algorithm value: 0 - valid values are "
                         f"{', '.join(_SIGNATURE_ALGORITHMS)}")
    key_type, shown, go_name = found
    actual = key_type_of(load_pem(issuer.certificate).public_key())  # type: ignore[arg-type]
    if actual != key_type:
        # OpenBao: a 500, though the request asked for it.
        raise BadRequest(multierror(
            f"unable to use issuer of type {_GO_KEY_TYPES[actual]} to sign with {go_name} key "
            "type"))
    return shown


def _manual_chain(view: StorageView, issuer: st.IssuerEntry, refs: list[str]) -> list[str]:
    chain: list[str] = []
    for index, reference in enumerate(refs):
        if index == 0 and reference == "self":
            reference = issuer.id
        try:
            found = st.resolve_issuer_id(view, reference)
        except st.RefNotFound as error:
            raise st.RefNotFound(multierror(error.message)) from None
        if index == 0 and found != issuer.id:
            raise BadRequest(f"expected first cert in chain to be a self-reference, but was: "
                             f"{reference}/{found}")
        chain.append(found)
    return chain


def path_issuer_delete(request: Request, data: FieldData) -> Response | None:
    view = view_of(request)
    try:
        issuer = st.fetch_issuer(view, data["issuer_ref"])
    except st.RefNotFound:
        return None  # OpenBao: deleting an absent issuer succeeds
    if issuers.delete_issuer(view, issuer):
        return Response(warnings=[
            "Deleted issuer was the default; please update the default issuer through "
            "/config/issuers."
        ])
    return None


def path_issuer_json(request: Request, data: FieldData) -> Response:
    issuer = st.fetch_issuer(view_of(request), data["issuer_ref"])
    return Response(data={"issuer_id": issuer.id, "issuer_name": issuer.name,
                          "certificate": issuer.certificate, "ca_chain": issuer.ca_chain})


def path_issuer_der(request: Request, data: FieldData) -> Response:
    issuer = st.fetch_issuer(view_of(request), data["issuer_ref"])
    return raw_reply(to_der(load_pem(issuer.certificate)), DER_TYPE)


def path_issuer_pem(request: Request, data: FieldData) -> Response:
    issuer = st.fetch_issuer(view_of(request), data["issuer_ref"])
    return raw_reply(issuer.certificate, PEM_TYPE)


def path_config_issuers_read(request: Request, data: FieldData) -> Response:
    return Response(data=st.issuers_config(view_of(request)))


def path_config_issuers_write(request: Request, data: FieldData) -> Response:
    """config/issuers (and root/replace, whose default is the issuer named "next"): the
    default is required on every write, as OpenBao's pathCAIssuersWrite."""
    view = view_of(request)
    reference = data["default"]
    if not reference or reference == st.DEFAULT_REF:
        raise BadRequest("Invalid issuer specification; must be non-empty and can't be "
                         "'default'.")
    try:
        issuer = st.fetch_issuer(view, reference)
    except st.RefNotFound as error:
        raise BadRequest(f"Error resolving issuer reference: {error.message}") from None
    config, version = st.read_config(view, st.ISSUERS_CONFIG)
    updated = {**st.issuers_config(view), **config, "default": issuer.id}
    if data.is_set("default_follows_latest_issuer"):
        updated["default_follows_latest_issuer"] = data["default_follows_latest_issuer"]
    warnings = [] if issuer.key_id else [_DEFAULT_WITHOUT_KEY]
    try:
        view.put_json(st.ISSUERS_CONFIG, updated, expected_version=version)
    except ConditionFailed:
        raise PreconditionFailed("the default issuer changed concurrently; retry") from None
    return Response(data={"default": issuer.id, "default_follows_latest_issuer":
                          updated["default_follows_latest_issuer"]}, warnings=warnings)


_DEFAULT_WITHOUT_KEY = (
    "This selected default issuer has no key associated with it. Some operations like "
    "issuing certificates and signing CRLs will be unavailable with the requested default "
    "issuer until a key is imported or the default issuer is changed."
)
_CONFIG_FIELDS = {
    "default": Field(FieldType.STRING, "", "The default issuer (id or name)."),
    "default_follows_latest_issuer": Field(FieldType.BOOL, False, "Follow new issuers."),
}


_ISSUER_FIELDS = {
    "issuer_ref": Field(FieldType.STRING, st.DEFAULT_REF, "An issuer id, name or default."),
    "issuer_name": Field(FieldType.STRING, "", "The issuer's name."),
    "leaf_not_after_behavior": Field(FieldType.STRING, "err", "err, truncate or permit."),
    "usage": Field(FieldType.COMMA_STRING_LIST, lambda: list(st.ALL_USAGES), "Allowed usages."),
    "manual_chain": Field(FieldType.COMMA_STRING_LIST, list, "An explicit chain of issuers."),
    "revocation_signature_algorithm": Field(FieldType.STRING, "", "CRL/OCSP signature."),
    **{name: Field(FieldType.COMMA_STRING_LIST, list, f"The issuer's own {name}, used "
                   "instead of config/urls' when it names an AIA or CRL URL.")
       for name in urls.URL_LISTS},
    "enable_aia_url_templating": Field(FieldType.BOOL, False, "Fill {{issuer_id}}, "
                                       "{{cluster_path}} and {{cluster_aia_path}} into the "
                                       "issuer's URLs."),
}


def paths() -> list[Path]:
    return [
        Path("issuers/?", {Operation.LIST: path_issuers_list}, fields=PAGE_FIELDS,
             synopsis="List the mount's issuers."),
        *(
            Path(f"issuer/{{issuer_ref}}/{kind}", {Operation.READ: handler},
                 synopsis="An issuer's certificate (unauthenticated).")
            for kind, handler in (("json", path_issuer_json), ("der", path_issuer_der),
                                  ("pem", path_issuer_pem))
        ),
        Path("issuer/{issuer_ref}",
             {Operation.READ: path_issuer_read, Operation.UPDATE: path_issuer_write,
              Operation.PATCH: path_issuer_write, Operation.DELETE: path_issuer_delete},
             fields=_ISSUER_FIELDS, synopsis="Read, update or delete an issuer."),
        Path("config/issuers",
             {Operation.READ: path_config_issuers_read,
              Operation.UPDATE: path_config_issuers_write},
             fields=_CONFIG_FIELDS, synopsis="The default issuer."),
        Path("root/replace", {Operation.UPDATE: path_config_issuers_write},
             fields={**_CONFIG_FIELDS, "default": Field(FieldType.STRING, "next", "")},
             synopsis="Make another issuer (by default the one named next) the default."),
    ]
