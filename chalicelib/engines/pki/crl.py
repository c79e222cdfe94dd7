"""CRLs built from the revocation index, stored per issuer, never losing a revocation.

Layout (beside revocation.py's ``revoked/<serial>`` items and ``crl/index`` counter):

    crl/state                     the CRLs in force: the index generation the complete
                                  CRLs were built from, the delta's, the last CRL number,
                                  and per issuer where its complete and delta CRLs live
    crl/der/<issuer>/<build>/<i>  a CRL's DER in chunks of at most 300 KB (10,000 revoked
                                  serials make a CRL larger than one DynamoDB item);
                                  ``<build>`` is the number plus a random suffix, so two
                                  builders racing for one number never write the same keys

Why no revocation is lost, whatever the interleaving of containers:

1. A revocation creates its index item and moves the counter in one transaction, so the
   counter changes after (never before) the item is visible.
2. A build reads ``crl/state`` (at version v) and the counter (value g) first, then lists
   the index with strongly consistent reads: every revocation that moved the counter to
   g or below is in that listing. The new state records g and is written only if
   ``crl/state`` is still at version v; a builder that lost the race starts over.
3. Whoever serves or needs a CRL compares the counter with the state's generation: a
   revocation that landed after the build's counter read left the counter above it, so
   the CRL is stale and is rebuilt (auto_rebuild off: at once, as OpenBao rebuilds on
   revocation; on: at expiry minus the grace period, the delta CRL once
   delta_rebuild_interval has passed since the last delta was built). A revoke answers
   only after a CRL with a generation at least its own is stored (auto_rebuild off), and a
   container that dies in between leaves the counter ahead, so the next reader rebuilds.
   A delta that waits for its interval still knows it is stale: the counter stays ahead
   of ``delta_generation`` until a build catches up.

Delta CRLs are rebuilt at most once per delta_rebuild_interval (``delta_update`` in the
state is when the last one was built), by the scheduled job (``periodic``, OpenBao's
periodicFunc: also the complete CRLs near expiry under auto_rebuild) and by whoever reads
a CRL once that interval has passed; crl/rotate-delta builds one at once, as in OpenBao.

Complete CRLs carry the Freshest CRL extension naming the delta CRL distribution points
(the issuer's own URLs, else config/urls, templated), as OpenBao. While those cannot be
templated no CRL is built: the revocation is stored and the counter stays ahead, so the
first build after the URLs are fixed includes it; readers get the last CRL meanwhile.

Chunks of a state that lost its race, and of CRLs replaced, are deleted best-effort;
tidy (drop_orphans) removes what a dead container left behind.
"""

from __future__ import annotations

import base64
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from chalicelib.core import jsonio
from chalicelib.core.errors import BadRequest, PreconditionFailed, multierror
from chalicelib.engines.pki import storage as st
from chalicelib.engines.pki import urls
from chalicelib.engines.pki.crl_config import CrlConfig, read_crl_config
from chalicelib.engines.pki.issuers import all_issuers
from chalicelib.engines.pki.keytypes import PrivateKey, load_private_key, signer_for
from chalicelib.engines.pki.x509build import load_pem, subject_key_id
from chalicelib.storage.physical import ConditionFailed

if TYPE_CHECKING:
    from chalicelib.storage.view import StorageView

STATE = "crl/state"
INDEX_COUNTER = "crl/index"
DER_PREFIX = "crl/der/"
CHUNK = 300_000
_ATTEMPTS = 10
# Go's names for revocation_signature_algorithm: (hash bits, PSS).
_REVOCATION_SIGNATURES = {
    "SHA256WithRSA": (256, False), "SHA384WithRSA": (384, False),
    "SHA512WithRSA": (512, False), "SHA256WithRSAPSS": (256, True),
    "SHA384WithRSAPSS": (384, True), "SHA512WithRSAPSS": (512, True),
    "ECDSAWithSHA256": (256, False), "ECDSAWithSHA384": (384, False),
    "ECDSAWithSHA512": (512, False),
}


@dataclass(slots=True)
class CrlState:
    generation: int = 0  # the index counter the complete CRLs were built from
    delta_generation: int = 0
    number: int = 0  # the last CRL number given out (complete and delta share it)
    this_update: int = 0
    next_update: int = 0
    delta_update: int = 0  # when the delta CRLs were last built (with or after a complete one)
    # issuer id -> {"full": [number, build key, chunks], "delta": [...]}
    crls: dict[str, dict[str, list[Any]]] = field(default_factory=dict)

    @classmethod
    def from_storage(cls, raw: dict[str, Any]) -> CrlState:
        return cls(**raw)


@dataclass(slots=True)
class Revoked:
    """One index item as a CRL needs it."""

    serial: int
    issuer_id: str
    revoked_at: datetime
    generation: int


def load_index(view: StorageView) -> list[Revoked]:
    """Every revoked serial (one listing of ``revoked/``, then batched reads)."""
    keys = [st.REVOKED_PREFIX + k for k in view.list(st.REVOKED_PREFIX) if not k.endswith("/")]
    found = view.get_many(keys)
    out = []
    for key, entry in found.items():
        raw = jsonio.loads(entry.value)
        out.append(Revoked(int(key[len(st.REVOKED_PREFIX):].replace("-", ""), 16),
                           raw.get("issuer_id", ""),
                           datetime.fromtimestamp(int(raw["revocation_time"]), UTC),
                           int(raw.get("generation", 0))))
    return out


def read_state(view: StorageView) -> tuple[CrlState | None, int, int]:
    """The state, its version (0: none yet) and the index counter, in one round trip."""
    found = view.get_many([STATE, INDEX_COUNTER])
    counter = found.get(INDEX_COUNTER)
    generation = 0 if counter is None else int(jsonio.loads(counter.value)["generation"])
    entry = found.get(STATE)
    if entry is None:
        return None, 0, generation
    return CrlState.from_storage(jsonio.loads(entry.value)), entry.version, generation


def _signer(issuer: st.IssuerEntry, key: PrivateKey) -> tuple[Any, Any]:
    bits, pss = _REVOCATION_SIGNATURES.get(issuer.revocation_signature_algorithm, (0, False))
    signer = signer_for(key, bits, pss)
    return signer.algorithm, signer.rsa_padding


def build_der(issuer: st.IssuerEntry, key: PrivateKey, entries: list[Revoked], number: int,
              now: datetime, next_update: datetime, delta_of: int = 0,
              freshest: tuple[str, ...] = ()) -> bytes:
    """One CRL as OpenBao makes it: the issuer's AKI and the CRL number, then the delta
    indicator naming the complete CRL it extends (a delta CRL) or the Freshest CRL
    extension naming ``freshest``, the delta CRL distribution points (a complete CRL, when
    there are any), and entries without extensions."""
    cert = load_pem(issuer.certificate)
    builder = (x509.CertificateRevocationListBuilder()
               .issuer_name(cert.subject)
               .last_update(now)
               .next_update(next_update))
    skid = subject_key_id(cert)
    if skid:
        builder = builder.add_extension(x509.AuthorityKeyIdentifier(skid, None, None), False)
    builder = builder.add_extension(x509.CRLNumber(number), False)
    if delta_of:
        builder = builder.add_extension(x509.DeltaCRLIndicator(delta_of), True)
    elif freshest:
        builder = builder.add_extension(x509.FreshestCRL([
            x509.DistributionPoint([x509.UniformResourceIdentifier(u)], None, None, None)
            for u in freshest]), False)
    for entry in entries:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(entry.serial)
            .revocation_date(entry.revoked_at).build())
    algorithm, rsa_padding = _signer(issuer, key)
    return builder.sign(key, algorithm, rsa_padding=rsa_padding).public_bytes(
        serialization.Encoding.DER)


def _crl_issuers(view: StorageView) -> list[tuple[st.IssuerEntry, PrivateKey]]:
    """The issuers that sign CRLs: those holding a key."""
    issuers = [i for i in all_issuers(view) if i.key_id]
    keys = view.get_many([st.KEY_PREFIX + i.key_id for i in issuers])
    return [(i, load_private_key(jsonio.loads(keys[st.KEY_PREFIX + i.key_id].value)
                                 ["private_key"]))
            for i in issuers if st.KEY_PREFIX + i.key_id in keys]


def _store_chunks(view: StorageView, issuer_id: str, number: int, der: bytes) -> list[Any]:
    build = f"{number}-{uuid.uuid4().hex[:8]}"
    chunks = [der[i:i + CHUNK] for i in range(0, len(der), CHUNK)] or [b""]
    for index, chunk in enumerate(chunks):
        view.put(f"{DER_PREFIX}{issuer_id}/{build}/{index}", chunk, expected_version=0)
    return [number, build, len(chunks)]


def _chunk_keys(issuer_id: str, where: list[Any]) -> list[str]:
    _, build, count = where
    return [f"{DER_PREFIX}{issuer_id}/{build}/{i}" for i in range(count)]


def _drop(view: StorageView, crls: dict[str, dict[str, list[Any]]],
          keep: dict[str, dict[str, list[Any]]]) -> None:
    kept = {k for issuer_id, kinds in keep.items() for w in kinds.values()
            for k in _chunk_keys(issuer_id, w)}
    for issuer_id, kinds in crls.items():
        for where in kinds.values():
            for key in _chunk_keys(issuer_id, where):
                if key not in kept:
                    view.delete(key)


class CrlBuildRefused(BadRequest):
    """The issuer's URLs cannot be templated: OpenBao builds no CRL (it answers 500)."""


def _freshest(view: StorageView,
              signers: list[tuple[st.IssuerEntry, PrivateKey]]) -> dict[str, tuple[str, ...]]:
    """Each issuer's delta CRL distribution points, for its complete CRL's Freshest CRL
    extension: OpenBao's buildCRL takes them from the issuer's URLs or config/urls,
    templated, whether or not delta CRLs are enabled."""
    found = {}
    for issuer, _ in signers:
        try:
            aia = urls.templated(view, issuer.id, issuer.aia_urls)
        except BadRequest as error:
            raise CrlBuildRefused(multierror(
                "error encountered during CRL building: error building CRLs: error building "
                f"CRLs: unable to build CRL for issuer ({issuer.id}): {urls.ca_refusal(error)}"
            )) from None
        found[issuer.id] = aia.delta_crl_distribution_points
    return found


def rebuild(view: StorageView, config: CrlConfig, *, full: bool,
            now: datetime | None = None) -> bool:
    """One build attempt: the complete CRLs (and empty deltas after them) when ``full``,
    else the delta CRLs over the current complete ones. False: another container stored
    a state meanwhile (nothing of this attempt is kept); the caller decides again."""
    state, version, generation = read_state(view)
    signers = _crl_issuers(view)
    if state is None or any(i.id not in state.crls for i, _ in signers):
        state, full = state or CrlState(), True
    entries = [] if config.disable else load_index(view)
    moment = (now or datetime.now(UTC)).replace(microsecond=0)
    next_update = moment + timedelta(seconds=config.seconds("expiry"))
    number = state.number
    crls: dict[str, dict[str, list[Any]]] = {}
    new = CrlState(state.generation, generation, number, state.this_update, state.next_update,
                   int(moment.timestamp()))
    if full:
        number += 1
        new.generation, new.this_update = generation, int(moment.timestamp())
        new.next_update = int(next_update.timestamp())
    full_number = number
    delta_number = number + 1
    freshest = _freshest(view, signers) if full else {}  # before anything is stored
    for issuer, key in signers:
        mine = [e for e in entries if e.issuer_id == issuer.id]
        if full:
            der = build_der(issuer, key, mine, full_number, moment, next_update,
                            freshest=freshest[issuer.id])
            where_full = _store_chunks(view, issuer.id, full_number, der)
        else:
            where_full = state.crls[issuer.id]["full"]
        fresh = [e for e in mine if e.generation > new.generation]
        delta = build_der(issuer, key, fresh, delta_number, moment,
                          datetime.fromtimestamp(new.next_update, UTC), delta_of=where_full[0])
        crls[issuer.id] = {"full": where_full,
                           "delta": _store_chunks(view, issuer.id, delta_number, delta)}
    new.number, new.crls = delta_number, crls
    try:
        view.put_json(STATE, asdict(new), expected_version=version)
    except ConditionFailed:
        _drop(view, crls, state.crls)
        return False
    _drop(view, state.crls, crls)
    return True


def drop_orphans(view: StorageView) -> int:
    """Delete the chunks of builds no state names (a builder that died, or lost its race
    and died before cleaning up). Only numbers the state has passed: a build in flight
    has a larger number, or will lose its conditional write and clean up itself."""
    state, _, _ = read_state(view)
    if state is None:
        return 0
    kept = {f"{issuer_id}/{where[1]}/" for issuer_id, kinds in state.crls.items()
            for where in kinds.values()}
    dropped = 0
    for issuer in view.list(DER_PREFIX):
        for build in view.list(DER_PREFIX + issuer):
            number = int(build.split("-", 1)[0])
            if issuer + build not in kept and number <= state.number:
                dropped += view.delete_prefix(DER_PREFIX + issuer + build)
    return dropped


def _due(state: CrlState | None, generation: int, config: CrlConfig, issuers: set[str],
         now: datetime) -> tuple[bool, bool]:
    """(complete CRLs due, delta CRLs due) under config/crl's rebuild policy."""
    if state is None or not issuers <= set(state.crls):
        return True, False
    margin = config.seconds("auto_rebuild_grace_period") if config.auto_rebuild else 0
    if now.timestamp() >= state.next_update - margin:
        return True, False
    if not config.auto_rebuild:
        return generation > state.generation, False
    interval = config.seconds("delta_rebuild_interval")
    return False, (config.enable_delta and generation > state.delta_generation
                   and now.timestamp() >= state.delta_update + interval)


def ensure_current(view: StorageView, config: CrlConfig | None = None, *,
                   now: datetime | None = None) -> CrlState:
    """The CRL state, rebuilt first when a revocation (or expiry) made it stale."""
    config = config or read_crl_config(view)
    moment = now or datetime.now(UTC)
    for _ in range(_ATTEMPTS):
        state, _, generation = read_state(view)
        issuers = {i.id for i in all_issuers(view) if i.key_id}
        full, delta = _due(state, generation, config, issuers, moment)
        if state is not None and not full and not delta:
            return state
        rebuild(view, config, full=full, now=now)
    raise PreconditionFailed("too many concurrent CRL rebuilds on this mount; retry")


def periodic(view: StorageView, *, now: datetime | None = None) -> bool:
    """The scheduled job's CRL work on one mount (OpenBao's periodicFunc): under
    auto_rebuild, the complete CRLs near expiry and the delta CRLs once their interval has
    passed, whether or not anyone reads them. True when the mount has auto_rebuild on."""
    config = read_crl_config(view)
    if not config.auto_rebuild or not any(i.key_id for i in all_issuers(view)):
        return False
    ensure_current(view, config, now=now)
    return True


def force(view: StorageView, *, delta: bool) -> None:
    """crl/rotate and crl/rotate-delta: a new build whatever the state says."""
    config = read_crl_config(view)
    for _ in range(_ATTEMPTS):
        if rebuild(view, config, full=not delta):
            return
    raise PreconditionFailed("too many concurrent CRL rebuilds on this mount; retry")


def crl_der(view: StorageView, issuer_id: str, *, delta: bool) -> bytes | None:
    """The current complete or delta CRL of an issuer (None: the issuer signs none); the
    stored one while a rebuild is refused, as OpenBao serves what it last built."""
    try:
        state = ensure_current(view)
    except CrlBuildRefused:
        stored = read_state(view)[0]
        if stored is None:
            raise
        state = stored
    return stored_der(view, state, issuer_id, delta=delta)


def stored_der(view: StorageView, state: CrlState, issuer_id: str, *,
               delta: bool) -> bytes | None:
    """The CRL ``state`` names for an issuer, as stored (no freshness check)."""
    kinds = state.crls.get(issuer_id)
    if kinds is None:
        return None
    keys = _chunk_keys(issuer_id, kinds["delta" if delta else "full"])
    found = view.get_many(keys)
    return b"".join(found[k].value for k in keys)


def crl_pem(der: bytes) -> str:
    body = base64.b64encode(der).decode()
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    return "-----BEGIN X509 CRL-----\n" + "\n".join(lines) + "\n-----END X509 CRL-----\n"
