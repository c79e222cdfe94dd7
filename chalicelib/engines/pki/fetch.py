"""The unauthenticated CA and certificate reads: `ca`, `ca/pem`, `ca_chain`, `cert/ca`,
`cert/ca_chain`, `cert/<serial>` (with `/raw` and `/raw/pem`) and `certs` (LIST), as
OpenBao's path_fetch.go. DER and PEM bodies go out bare with Vault's content types."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.engines.pki import certs, revocation
from chalicelib.engines.pki import storage as st
from chalicelib.engines.pki.x509build import load_pem, to_der
from chalicelib.framework import FieldData, Path
from chalicelib.framework.storage import PAGE_FIELDS, page, view_of

if TYPE_CHECKING:
    from chalicelib.storage.view import StorageView

DER_TYPE = "application/pkix-cert"
PEM_TYPE = "application/pem-certificate-chain"
_SERIAL = re.compile(r"[0-9A-Fa-f:-]+\Z")


def raw_reply(body: str | bytes, content_type: str) -> Response:
    return Response(raw=body, headers={"Content-Type": content_type})


def _default_issuer(view: StorageView) -> st.IssuerEntry | None:
    try:
        return st.fetch_issuer(view, st.DEFAULT_REF)
    except st.RefNotFound:
        return None


def _chain_text(issuer: st.IssuerEntry) -> str:
    return "\n".join(pem.strip() for pem in issuer.ca_chain)


def path_ca_der(request: Request, data: FieldData) -> Response | None:
    issuer = _default_issuer(view_of(request))
    return None if issuer is None else raw_reply(to_der(load_pem(issuer.certificate)), DER_TYPE)


def path_ca_pem(request: Request, data: FieldData) -> Response | None:
    issuer = _default_issuer(view_of(request))
    return None if issuer is None else raw_reply(issuer.certificate.strip(), PEM_TYPE)


def path_ca_chain(request: Request, data: FieldData) -> Response | None:
    issuer = _default_issuer(view_of(request))
    # OpenBao labels this PEM chain application/pkix-cert; clients read it that way.
    return None if issuer is None else raw_reply(_chain_text(issuer), DER_TYPE)


def _revocation_fields(certificate: str) -> dict[str, object]:
    return {"certificate": certificate, "revocation_time": 0, "revocation_time_rfc3339": ""}


def path_cert_ca_chain(request: Request, data: FieldData) -> Response | None:
    issuer = _default_issuer(view_of(request))
    if issuer is None:
        return None
    chain = _chain_text(issuer)  # OpenBao answers the chain as the certificate too
    return Response(data={"ca_chain": chain, **_revocation_fields(chain)})


def _stored(request: Request, serial: str) -> str | None:
    if serial == "ca":
        issuer = _default_issuer(view_of(request))
        return None if issuer is None else issuer.certificate.strip()
    if not _SERIAL.match(serial):
        return None
    return certs.read_certificate(view_of(request), serial)


def path_cert_read(request: Request, data: FieldData) -> Response | None:
    found = _stored(request, data["serial"])
    if found is None:
        return None
    shown = _revocation_fields(found)
    shown.update(revocation.shown(view_of(request), data["serial"]))
    return Response(data=shown)


def path_cert_raw(request: Request, data: FieldData) -> Response | None:
    found = _stored(request, data["serial"])
    return None if found is None else raw_reply(to_der(load_pem(found)), DER_TYPE)


def path_cert_raw_pem(request: Request, data: FieldData) -> Response | None:
    found = _stored(request, data["serial"])
    return None if found is None else raw_reply(found, PEM_TYPE)


def path_certs_list(request: Request, data: FieldData) -> Response | None:
    stored = [k for k in view_of(request).list(st.CERTS_PREFIX) if not k.endswith("/")]
    after = st.normalize_serial(data["after"]) if data["after"] else ""
    keys = [st.colon_serial(k) for k in page(stored, after, data["limit"])]
    return Response(data={"keys": keys}) if keys else None


def paths() -> list[Path]:
    return [
        Path("ca", {Operation.READ: path_ca_der}, synopsis="The default issuer (DER)."),
        Path("ca/pem", {Operation.READ: path_ca_pem}, synopsis="The default issuer (PEM)."),
        Path("ca_chain", {Operation.READ: path_ca_chain}, synopsis="The default chain (PEM)."),
        Path("cert/ca_chain", {Operation.READ: path_cert_ca_chain},
             synopsis="The default issuer's chain."),
        Path("cert/{serial}/raw/pem", {Operation.READ: path_cert_raw_pem},
             synopsis="A certificate as bare PEM."),
        Path("cert/{serial}/raw", {Operation.READ: path_cert_raw},
             synopsis="A certificate as bare DER."),
        Path("cert/{serial}", {Operation.READ: path_cert_read},
             synopsis="A certificate by serial number (or ca)."),
        Path("certs/?", {Operation.LIST: path_certs_list}, fields=PAGE_FIELDS,
             synopsis="Serial numbers of the stored certificates."),
    ]
