"""`issuers` (LIST), `issuer/<ref>` (read, update, delete), `issuer/<ref>/json|der|pem`
and `config/issuers`, as OpenBao's path_fetch_issuers.go and path_config_ca.go."""

from __future__ import annotations

from typing import Any

from chalicelib.core.errors import BadRequest, PreconditionFailed, multierror
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.engines.pki import issuers
from chalicelib.engines.pki import storage as st
from chalicelib.engines.pki.fetch import DER_TYPE, PEM_TYPE, raw_reply
from chalicelib.engines.pki.x509build import load_pem, to_der
from chalicelib.framework import Field, FieldData, FieldType, Path
from chalicelib.framework.storage import PAGE_FIELDS, page, view_of
from chalicelib.storage.physical import ConditionFailed

_BEHAVIORS = ("err", "truncate", "permit")
_RENAMED = (
    "Issuer name changed from {old} to {new}; references to the old name may now fail."
)


def _fetch(request: Request, reference: str) -> st.IssuerEntry:
    try:
        return st.fetch_issuer(view_of(request), reference)
    except st.IssuerRefNotFound as error:
        raise st.IssuerRefNotFound(multierror(error.message)) from None


def issuer_view(issuer: st.IssuerEntry) -> dict[str, Any]:
    return {
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
        "issuing_certificates": [],
        "crl_distribution_points": [],
        "delta_crl_distribution_points": [],
        "ocsp_servers": [],
    }


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
    view = view_of(request)
    issuer = _fetch(request, data["issuer_ref"])
    old_name = issuer.name
    warnings: list[str] = []
    if data.is_set("issuer_name"):
        new_name = data["issuer_name"].strip()
        if new_name:
            new_name = st.check_name("issuer", new_name)
            if new_name != old_name and st.name_taken(view, "issuer", new_name):
                raise BadRequest("issuer name already in use")
        issuer.name = new_name
        if old_name and new_name != old_name:
            warnings.append(_RENAMED.format(old=old_name, new=new_name))
    if data.is_set("leaf_not_after_behavior"):
        behavior = data["leaf_not_after_behavior"]
        if behavior not in _BEHAVIORS:
            raise BadRequest(
                "Unknown value for field `leaf_not_after_behavior`. Possible values are "
                "`err`, `truncate`, and `permit`."
            )
        issuer.leaf_not_after_behavior = behavior
    if data.is_set("usage"):
        issuer.usage = _usages(data["usage"])
    if data.is_set("revocation_signature_algorithm"):
        issuer.revocation_signature_algorithm = data["revocation_signature_algorithm"]
    chain_changed = data.is_set("manual_chain")
    if chain_changed:
        issuer.manual_chain = _manual_chain(view, issuer, data["manual_chain"])
    issuers.write_issuer(view, issuer, old_name)
    if chain_changed:
        issuers.rebuild_chains(view)
        issuer = st.read_issuer(view, issuer.id) or issuer
    return Response(data=issuer_view(issuer), warnings=warnings)


def _usages(values: list[str]) -> list[str]:
    chosen = set()
    for index, name in enumerate(values):
        name = name.strip().lower()
        if name not in st.ALL_USAGES:
            raise BadRequest(f"Unable to parse specified usages: unknown name for usage at "
                             f"index {index}: {name}")
        chosen.add(name)
    return [u for u in st.ALL_USAGES if u in chosen]


def _manual_chain(view: Any, issuer: st.IssuerEntry, refs: list[str]) -> list[str]:
    if refs == ["self"] or not refs:
        return []
    chain: list[str] = []
    for index, reference in enumerate(refs):
        if reference == "self":
            reference = issuer.id
        try:
            found = st.resolve_issuer_id(view, reference)
        except st.IssuerRefNotFound:
            raise BadRequest(f"Unable to resolve issuer reference ({reference}) in "
                             f"manual_chain at index {index}") from None
        chain.append(found)
    if chain[0] != issuer.id:
        raise BadRequest("Manually constructed chain must start with issuer itself")
    return chain


def path_issuer_delete(request: Request, data: FieldData) -> Response | None:
    view = view_of(request)
    try:
        issuer = st.fetch_issuer(view, data["issuer_ref"])
    except st.IssuerRefNotFound:
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
    except st.IssuerRefNotFound as error:
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
              Operation.DELETE: path_issuer_delete},
             fields=_ISSUER_FIELDS, synopsis="Read, update or delete an issuer."),
        Path("config/issuers",
             {Operation.READ: path_config_issuers_read,
              Operation.UPDATE: path_config_issuers_write},
             fields=_CONFIG_FIELDS, synopsis="The default issuer."),
        Path("root/replace", {Operation.UPDATE: path_config_issuers_write},
             fields={**_CONFIG_FIELDS, "default": Field(FieldType.STRING, "next", "")},
             synopsis="Make another issuer (by default the one named next) the default."),
    ]
