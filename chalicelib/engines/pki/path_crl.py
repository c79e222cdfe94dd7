"""The CRL reads (unauthenticated, as OpenBao's path_fetch.go serves them) and
`config/crl` (path_config_crl.go). A read serves the stored CRL, rebuilt first when the
revocation index moved past it (crl.py explains why that loses no revocation)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.core.errors import BadRequest
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.engines.pki import crl
from chalicelib.engines.pki import storage as st
from chalicelib.engines.pki.crl_config import CRL_CONFIG, CrlConfig, read_crl_config
from chalicelib.engines.pki.fetch import raw_reply
from chalicelib.framework import Field, FieldData, FieldType, Path
from chalicelib.framework.fieldtypes import FieldError, parse_duration
from chalicelib.framework.storage import view_of

if TYPE_CHECKING:
    from chalicelib.storage.view import StorageView

DER_TYPE = "application/pkix-crl"
PEM_TYPE = "application/x-pem-file"


def _default_issuer_id(view: StorageView) -> str | None:
    try:
        return st.resolve_issuer_id(view, st.DEFAULT_REF)
    except st.RefNotFound:
        return None


def _bare(request: Request, *, delta: bool, pem: bool) -> Response:
    """crl, crl/pem, crl/delta, crl/delta/pem: the default issuer's CRL, bare; no
    content (204) on a mount without a default issuer, as OpenBao."""
    view = view_of(request)
    issuer_id = _default_issuer_id(view)
    der = None if issuer_id is None else crl.crl_der(view, issuer_id, delta=delta)
    content_type = PEM_TYPE if pem else DER_TYPE
    if der is None:
        return Response(status=204, headers={"Content-Type": content_type})
    return raw_reply(crl.crl_pem(der) if pem else der, content_type)


def path_crl_der(request: Request, data: FieldData) -> Response:
    return _bare(request, delta=False, pem=False)


def path_crl_pem(request: Request, data: FieldData) -> Response:
    return _bare(request, delta=False, pem=True)


def path_delta_der(request: Request, data: FieldData) -> Response:
    return _bare(request, delta=True, pem=False)


def path_delta_pem(request: Request, data: FieldData) -> Response:
    return _bare(request, delta=True, pem=True)


def _issuer_crl(request: Request, reference: str, delta: bool) -> bytes:
    view = view_of(request)
    issuer = st.fetch_issuer(view, reference)
    der = crl.crl_der(view, issuer.id, delta=delta)
    if der is None:
        raise BadRequest(f"unable to fetch CRL for issuer {issuer.id}: issuer has no key")
    return der


def path_cert_crl(request: Request, data: FieldData) -> Response:
    """cert/crl and cert/delta-crl: the default issuer's CRL as a JSON "certificate"."""
    delta = request.relative_path == "cert/delta-crl"
    pem = crl.crl_pem(_issuer_crl(request, st.DEFAULT_REF, delta)).strip()
    return Response(data={"certificate": pem, "revocation_time": 0,
                          "revocation_time_rfc3339": ""})


def path_issuer_crl(request: Request, data: FieldData) -> Response:
    """issuer/<ref>/crl[/delta][/der|/pem]."""
    tail = request.relative_path.split("/", 2)[2]
    der = _issuer_crl(request, data["issuer_ref"], "delta" in tail)
    if tail.endswith("/der"):
        return raw_reply(der, DER_TYPE)
    if tail.endswith("/pem"):
        return raw_reply(crl.crl_pem(der), PEM_TYPE)
    return Response(data={"crl": crl.crl_pem(der)})


# -- config/crl -------------------------------------------------------------------------


def path_config_crl_read(request: Request, data: FieldData) -> Response:
    return Response(data=read_crl_config(view_of(request)).to_storage())


_DURATIONS = ("expiry", "ocsp_expiry", "auto_rebuild_grace_period", "delta_rebuild_interval")
_FLAGS = ("disable", "ocsp_disable", "auto_rebuild", "enable_delta",
          "allow_expired_cert_revocation")


def _decoded(name: str, value: str) -> int:
    try:
        return parse_duration(value)
    except FieldError as error:
        raise BadRequest(f"given {name} could not be decoded: {error}") from None


def path_config_crl_write(request: Request, data: FieldData) -> Response:
    """OpenBao's pathCRLWrite: given fields replace the stored ones, then the checks."""
    view = view_of(request)
    old = read_crl_config(view)
    config = CrlConfig.from_storage(old.to_storage())
    for name in _DURATIONS:
        if data.is_set(name):
            _decoded(name, data[name])
            setattr(config, name, data[name])
    for name in _FLAGS:
        if data.is_set(name):
            setattr(config, name, data[name])
    if config.seconds("ocsp_expiry") < 0:
        raise BadRequest(f"ocsp_expiry must be greater than or equal to 0 got: "
                         f"{config.ocsp_expiry}")
    expiry = config.seconds("expiry")
    if config.auto_rebuild and config.seconds("auto_rebuild_grace_period") >= expiry:
        raise BadRequest(
            f"CRL auto-rebuilding grace period ({config.auto_rebuild_grace_period}) must be "
            f"strictly shorter than CRL expiry ({config.expiry}) value when auto-rebuilding "
            "of CRLs is enabled")
    if config.enable_delta and config.seconds("delta_rebuild_interval") >= expiry:
        raise BadRequest(
            f"CRL delta rebuild window ({config.delta_rebuild_interval}) must be strictly "
            f"shorter than CRL expiry ({config.expiry}) value when delta CRLs are enabled")
    if config.enable_delta and not config.auto_rebuild:
        raise BadRequest("Delta CRLs cannot be enabled when auto rebuilding is disabled as "
                         "the complete CRL is always regenerated!")
    view.put_json(CRL_CONFIG, config.to_storage())
    if (old.disable != config.disable or old.expiry != config.expiry) and \
            _default_issuer_id(view) is not None:
        crl.force(view, delta=False)  # OpenBao rebuilds when these change
    return Response(data=config.to_storage())


_CRL_FIELDS = {
    **{name: Field(FieldType.STRING, "", f"config/crl's {name} (a duration).")
       for name in _DURATIONS},
    **{name: Field(FieldType.BOOL, False, f"config/crl's {name}.") for name in _FLAGS},
}


def paths() -> list[Path]:
    issuer_crl = {Operation.READ: path_issuer_crl}
    # Every CRL read is side_effects=True: it rebuilds a CRL past its time (crl.crl_der).
    return [
        Path("crl", {Operation.READ: path_crl_der}, synopsis="The default issuer's CRL (DER).",
             side_effects=True),
        Path("crl/pem", {Operation.READ: path_crl_pem}, synopsis="The default CRL (PEM).",
             side_effects=True),
        Path("crl/delta", {Operation.READ: path_delta_der}, synopsis="The delta CRL (DER).",
             side_effects=True),
        Path("crl/delta/pem", {Operation.READ: path_delta_pem},
             synopsis="The delta CRL (PEM).", side_effects=True),
        Path("cert/crl", {Operation.READ: path_cert_crl}, synopsis="The CRL as JSON.",
             side_effects=True),
        Path("cert/delta-crl", {Operation.READ: path_cert_crl},
             synopsis="The delta CRL as JSON.", side_effects=True),
        *(Path("issuer/{issuer_ref}/" + tail, issuer_crl, synopsis="An issuer's CRL.",
               side_effects=True)
          for tail in ("crl", "crl/der", "crl/pem", "crl/delta", "crl/delta/der",
                       "crl/delta/pem")),
        Path("config/crl", {Operation.READ: path_config_crl_read,
                            Operation.UPDATE: path_config_crl_write}, fields=_CRL_FIELDS,
             synopsis="CRL and OCSP settings."),
    ]
