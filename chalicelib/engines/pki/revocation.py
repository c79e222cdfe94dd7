"""Revoking a certificate as OpenBao's revokeCert (crl_util.go): the revocation index.

One item per revoked serial, ``revoked/<serial>``: the certificate, the issuer it belongs
to, the revocation time and the index generation the revocation got. It is created with
the mount's index counter ``crl/index`` in one transaction (the item only if absent, the
counter at the version just read), so:

- two containers revoking one serial at once revoke it once (the loser answers as for
  an already revoked certificate);
- every change to the index moves the counter, and a CRL records the counter value it
  was built from: anything revoked after that has a larger generation, so whoever serves
  the CRL can tell it is stale without listing the index (see crl.py).

The counter is the one item every revocation writes; revocations are rare next to
issuance, far below DynamoDB's 1,000 writes per second per item.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature

from chalicelib.core import jsonio
from chalicelib.core.errors import BadRequest, PreconditionFailed
from chalicelib.engines.pki import storage as st
from chalicelib.engines.pki.crl import INDEX_COUNTER, ensure_current
from chalicelib.engines.pki.crl_config import read_crl_config
from chalicelib.engines.pki.issuers import all_issuers
from chalicelib.engines.pki.validity import rfc3339
from chalicelib.engines.pki.x509build import load_pem, serial_text, to_pem
from chalicelib.storage.physical import ConditionFailed, Put

if TYPE_CHECKING:
    from chalicelib.storage.view import StorageView

_ATTEMPTS = 20
# OpenBao's wiggle room: leases are stored with a second's granularity.
_EXPIRY_SLACK = 2


@dataclass(slots=True)
class RevocationRecord:
    """What a revocation answers: revocation_time (Unix seconds) and its RFC 3339 form,
    state "revoked"; an expired certificate is not revoked (``revoked`` False, a warning)."""

    serial_number: str  # colon form, as OpenBao prints serials
    issuer_id: str
    revocation_time: int
    revocation_time_rfc3339: str
    revoked: bool = True
    generation: int = 0
    warnings: list[str] = field(default_factory=list)

    def response_data(self) -> dict[str, Any] | None:
        if not self.revoked:
            return None
        data: dict[str, Any] = {"revocation_time": self.revocation_time, "state": "revoked"}
        if self.revocation_time_rfc3339:
            data["revocation_time_rfc3339"] = self.revocation_time_rfc3339
        return data


def read_revocation(view: StorageView, serial: str) -> dict[str, Any] | None:
    """The index item of ``serial`` (any serial form), or None when not revoked."""
    return view.get_json(st.REVOKED_PREFIX + st.normalize_serial(serial))


def index_generation(view: StorageView) -> tuple[int, int]:
    """The index counter's value and its item version (0, 0: nothing revoked yet)."""
    entry = view.get(INDEX_COUNTER)
    if entry is None:
        return 0, 0
    return int(jsonio.loads(entry.value)["generation"]), entry.version


def shown(view: StorageView, serial: str) -> dict[str, Any]:
    """What cert/<serial> adds for a revoked certificate (nothing otherwise)."""
    raw = None if serial == "ca" else read_revocation(view, serial)
    if raw is None:
        return {}
    return {"revocation_time": int(raw["revocation_time"]),
            "revocation_time_rfc3339": raw.get("revocation_time_utc", ""),
            "issuer_id": raw.get("issuer_id", "")}


def _record(serial: str, raw: dict[str, Any]) -> RevocationRecord:
    return RevocationRecord(
        serial_number=st.colon_serial(st.normalize_serial(serial)),
        issuer_id=raw.get("issuer_id", ""),
        revocation_time=int(raw["revocation_time"]),
        revocation_time_rfc3339=raw.get("revocation_time_utc", ""),
        generation=int(raw.get("generation", 0)),
    )


def issuer_of(issuers: list[st.IssuerEntry], cert: x509.Certificate, stored_id: str) -> str:
    """The issuer a revoked certificate belongs to: the one recorded at issuance if still
    present, else the first whose key verifies it (OpenBao's associate step)."""
    if any(i.id == stored_id for i in issuers):
        return stored_id
    return next((i.id for i in issuers if issued_by(cert, load_pem(i.certificate))), "")


def issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _refuse_issuer(issuers: list[st.IssuerEntry], colon_serial: str) -> None:
    """OpenBao revokes issuers through their own path, never by serial."""
    for issuer in issuers:
        if issuer.serial_number == colon_serial:
            raise BadRequest(f"adding issuer (id: {issuer.id}) to its own CRL is not allowed")


def revoke_serial(view: StorageView, serial: str, *,
                  now: datetime | None = None) -> RevocationRecord:
    """Revoke the stored certificate ``serial`` (any of OpenBao's serial forms)."""
    stored = view.get_json(st.CERTS_PREFIX + st.normalize_serial(serial))
    if stored is None:
        _refuse_issuer(all_issuers(view), st.colon_serial(st.normalize_serial(serial)))
        raise BadRequest(f"certificate with serial {serial} not found.")
    return revoke_certificate(view, load_pem(stored["certificate"]),
                              issuer_id=stored.get("issuer_id", ""), now=now)


def revoke_certificate(view: StorageView, cert: x509.Certificate, *, issuer_id: str = "",
                       now: datetime | None = None) -> RevocationRecord:
    """OpenBao's revokeCert for a certificate known to this mount: issuers refused, an
    existing revocation answered as is, expired certificates only warned about."""
    colon = serial_text(cert)
    issuers = all_issuers(view)
    _refuse_issuer(issuers, colon)
    key = st.REVOKED_PREFIX + st.normalize_serial(colon)
    moment = now or datetime.now(UTC)
    config = read_crl_config(view)
    for _ in range(_ATTEMPTS):
        existing = view.get_json(key)
        if existing is not None:
            return _record(colon, existing)
        expires = cert.not_valid_after_utc.timestamp()
        if expires < moment.timestamp() + _EXPIRY_SLACK and \
                not config.allow_expired_cert_revocation:
            return RevocationRecord(colon, "", 0, "", revoked=False, warnings=[
                f"certificate with serial {colon} already expired; refusing to add to CRL. "
                "Enable 'AllowExpiredCertRevocation' to allow revoking expired certificates."])
        raw = {
            "certificate": to_pem(cert),
            "issuer_id": issuer_of(issuers, cert, issuer_id),
            "revocation_time": int(moment.timestamp()),
            "revocation_time_utc": rfc3339(moment),
            "expiration": int(expires),
        }
        generation, version = index_generation(view)
        raw["generation"] = generation + 1
        try:
            view.transact([
                Put(key, jsonio.dumpb(raw), 0),
                Put(INDEX_COUNTER, jsonio.dumpb({"generation": generation + 1}), version),
            ])
        except ConditionFailed:
            continue  # another revocation moved the counter, or revoked this serial
        if not config.auto_rebuild:  # OpenBao rebuilds the CRL before answering
            ensure_current(view, config)
        return _record(colon, raw)
    raise PreconditionFailed("too many concurrent revocations on this mount; retry")
