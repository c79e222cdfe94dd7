"""Tidy of the certificate store and the revocation index, as OpenBao's path_tidy.go, run
in bounded slices so that no Lambda outlives its 15 minutes.

A tidy is one item, ``tidy/status``: its settings, counters, the phase it is in and the
last serial it finished (a cursor), and ``claimed_until``, the time until which one
runner owns it. A runner claims the item with a conditional write before touching
anything and saves its progress page by page under the version it holds, so two runs
(a request and the scheduled job, or two overlapping jobs) never tidy a mount at once,
and a runner that stops (deadline reached, container gone) leaves a resumable status
behind for the next scheduled run. ``tidy-cancel`` flips the state to Cancelling; the
runner sees it at its next page. Auto-tidy settings live in ``config/auto-tidy``.

Differences from OpenBao: ``pause_duration`` sleeps between pages (not between
certificates); a manual tidy runs for up to REQUEST_BUDGET seconds inside its request
and the scheduled job finishes what is left; tidy_acme pages ACME accounts by at most
_ACME_PAGE (each is several reads), also drops stale nonces (acme/tidy.py), and counts
total_acme_account_count (always 0 in OpenBao 2.7.2). tidy_move_legacy_ca_bundle: this
server never had OpenBao's legacy CA bundle, so there is never one to move; the tidy says
so (LEGACY_BUNDLE, as OpenBao logs for a mount without one) in its log and as a warning
of tidy-status. The stored certificate counts are taken at the end of a tidy (counts.py).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from chalicelib.core import jsonio
from chalicelib.core.errors import PreconditionFailed
from chalicelib.engines.pki import counts, crl, issuers, revocation
from chalicelib.engines.pki import storage as st
from chalicelib.engines.pki.acme import state as acme_state
from chalicelib.engines.pki.acme import tidy as acme_tidy
from chalicelib.engines.pki.validity import rfc3339
from chalicelib.engines.pki.x509build import load_pem
from chalicelib.framework.fieldtypes import go_duration, parse_duration, parse_fine_duration
from chalicelib.observability import logger
from chalicelib.storage.physical import ConditionFailed, Delete, Put, WriteOp

if TYPE_CHECKING:
    from chalicelib.storage.view import StorageView

STATUS = "tidy/status"
AUTO_TIDY_CONFIG = "config/auto-tidy"
REQUEST_BUDGET = 5.0  # seconds a tidy request spends before leaving the rest to the job
_CLAIM_MARGIN = 60.0  # a claim outlives its runner's deadline by this much
OPERATIONS = ("tidy_cert_store", "tidy_revoked_certs", "tidy_invalid_certs",
              "tidy_revoked_cert_issuer_associations", "tidy_expired_issuers",
              "tidy_move_legacy_ca_bundle", "tidy_acme")
ANY_TIDY = " / ".join(OPERATIONS)
# OpenBao's order
_PHASES = ("certs", "revoked", "crl", "issuers", "legacy", "acme", "eab", "done")
LEGACY_BUNDLE = "No legacy CA bundle available; nothing to do."
_ACME_PAGE = 100  # accounts per page whatever page_size: each costs a listing and reads


@dataclass(slots=True)
class TidyConfig:
    """OpenBao's tidyConfig (durations in seconds, pause_duration as a Go duration)."""

    enabled: bool = False
    interval_duration: int = 12 * 3600
    tidy_cert_store: bool = False
    tidy_revoked_certs: bool = False
    tidy_invalid_certs: bool = False
    tidy_revoked_cert_issuer_associations: bool = False
    tidy_expired_issuers: bool = False
    tidy_move_legacy_ca_bundle: bool = False
    tidy_acme: bool = False
    safety_buffer: int = 72 * 3600
    revoked_safety_buffer: int = 72 * 3600
    issuer_safety_buffer: int = 365 * 24 * 3600
    acme_account_safety_buffer: int = 30 * 24 * 3600
    pause_duration: str = "0s"
    page_size: int = 1000
    publish_stored_certificate_count_metrics: bool = False
    maintain_stored_certificate_counts: bool = False

    @classmethod
    def from_storage(cls, raw: dict[str, Any]) -> TidyConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in raw.items() if k in known})

    def any_enabled(self) -> bool:
        return any(getattr(self, name) for name in OPERATIONS)


def read_auto_tidy(view: StorageView) -> TidyConfig:
    raw = view.get_json(AUTO_TIDY_CONFIG)
    return TidyConfig() if raw is None else TidyConfig.from_storage(raw)


@dataclass(slots=True)
class TidyStatus:
    config: dict[str, Any]
    state: str = "Running"
    time_started: str = ""
    time_finished: str | None = None
    message: str | None = None
    error: str | None = None
    cert_store_deleted_count: int = 0
    revoked_cert_deleted_count: int = 0
    missing_issuer_cert_count: int = 0
    total_acme_account_count: int = 0
    acme_account_deleted_count: int = 0
    acme_account_revoked_count: int = 0
    acme_orders_deleted_count: int = 0
    phase: str = "certs"
    cursor: str = ""
    claimed_until: float = 0.0
    last_tidy: str | None = None  # when the last tidy started or finished (OpenBao's lastTidy)
    last_tidy_unix: float = 0.0
    rebuild_crl: bool = False
    auto: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def active(self) -> bool:
        return self.state in ("Running", "Cancelling")


def read_status(view: StorageView) -> tuple[TidyStatus | None, int]:
    entry = view.get(STATUS)
    if entry is None:
        return None, 0
    return TidyStatus(**jsonio.loads(entry.value)), entry.version


def _save(view: StorageView, status: TidyStatus, version: int) -> int:
    return view.put_json(STATUS, asdict(status), expected_version=version)


def start(view: StorageView, config: TidyConfig, *, auto: bool, now: float) -> bool:
    """Record a new tidy (False: one is still in progress, as OpenBao's CAS guard)."""
    current, version = read_status(view)
    if current is not None and current.active:
        return False
    moment = rfc3339(datetime.fromtimestamp(now, UTC))
    status = TidyStatus(config=asdict(config), time_started=moment, last_tidy=moment,
                        last_tidy_unix=now, auto=auto)
    try:
        _save(view, status, version)
    except ConditionFailed:
        return False
    return True


def cancel(view: StorageView, now: float) -> bool:
    """tidy-cancel: False when nothing is running. An unclaimed tidy is cancelled at once;
    a running one at its runner's next page."""
    for _ in range(5):
        status, version = read_status(view)
        if status is None or not status.active:
            return False
        if status.claimed_until > now:
            status.state = "Cancelling"
        else:
            _finish(status, "Cancelled", now)
        try:
            _save(view, status, version)
        except ConditionFailed:
            continue
        return True
    # The runner kept moving the status under us: say so rather than claim a cancel.
    raise PreconditionFailed("the tidy status kept changing; retry tidy-cancel")


def _finish(status: TidyStatus, state: str, now: float, error: str | None = None) -> None:
    status.state, status.error, status.claimed_until = state, error, 0.0
    status.time_finished = rfc3339(datetime.fromtimestamp(now, UTC))
    if state == "Finished":
        status.message = None
        status.last_tidy, status.last_tidy_unix = status.time_finished, now


def run(view: StorageView, deadline: float, *, now: float | None = None) -> bool:
    """Claim the mount's tidy and work on it until done or ``deadline`` (time.time());
    False when there is nothing to run or another runner holds it."""
    started = time.time() if now is None else now
    status, version = read_status(view)
    if status is None or not status.active or status.claimed_until > started:
        return False
    status.claimed_until = deadline + _CLAIM_MARGIN
    try:
        version = _save(view, status, version)
    except ConditionFailed:
        return False
    config = TidyConfig.from_storage(status.config)
    pause = parse_fine_duration(config.pause_duration)  # "300ms" pauses 0.3 s
    while status.phase != "done":
        fresh, fresh_version = read_status(view)
        if fresh is None or fresh_version != version:  # a cancel landed meanwhile
            if fresh is not None and fresh.state == "Cancelling":
                _finish(fresh, "Cancelled", time.time())
                _save(view, fresh, fresh_version)
            return True
        if time.time() >= deadline:
            status.claimed_until = 0.0  # resumable by the next run
            _save(view, status, version)
            return True
        _step(view, status, config, now)
        version = _save(view, status, version)
        if pause and status.phase != "done":
            left = deadline - time.time()
            time.sleep(max(0.0, min(pause, left)))
            if pause >= left:  # the pause took the rest of the run: stop, resumable
                deadline = 0.0  # (a sleep to the deadline may wake a hair before it)
    if read_auto_tidy(view).maintain_stored_certificate_counts:
        counts.recount(view)
    _finish(status, "Finished", time.time())
    _save(view, status, version)
    return True


def _step(view: StorageView, status: TidyStatus, config: TidyConfig, now: float | None) -> None:
    """One page of the current phase; moves the cursor or the phase."""
    moment = time.time() if now is None else now
    if status.phase == "certs":
        if config.tidy_cert_store or config.tidy_invalid_certs:
            done = _page(view, st.CERTS_PREFIX, status, config,
                         lambda keys: _tidy_certs(view, keys, status, config, moment))
        else:
            done = True
        status.message = (f"Tidying certificate store: total certs checked: "
                          f"{status.extra.get('certs_checked', 0)}")
        _advance(status, done)
    elif status.phase == "revoked":
        if config.tidy_revoked_certs or config.tidy_revoked_cert_issuer_associations or \
                config.tidy_invalid_certs:
            done = _page(view, st.REVOKED_PREFIX, status, config,
                         lambda keys: _tidy_revoked(view, keys, status, config, moment))
        else:
            done = True
        _advance(status, done)
    elif status.phase == "crl":
        if status.rebuild_crl:
            crl.force(view, delta=False)
        crl.drop_orphans(view)
        _advance(status, True)
    elif status.phase == "issuers":
        if config.tidy_expired_issuers:
            _tidy_expired_issuers(view, config, moment)
        _advance(status, True)
    elif status.phase == "legacy":
        if config.tidy_move_legacy_ca_bundle:
            logger.info(LEGACY_BUNDLE, extra={"prefix": view.prefix})
            status.extra["legacy_ca_bundle"] = LEGACY_BUNDLE
        _advance(status, True)
    elif status.phase == "acme":
        done = not config.tidy_acme or _page(
            view, acme_state.THUMBPRINT_PREFIX, status, config,
            lambda keys: _tidy_acme(view, keys, status, config, int(moment)), _ACME_PAGE)
        _advance(status, done)
    elif status.phase == "eab":
        done = not config.tidy_acme or _page(
            view, acme_state.EAB_PREFIX, status, config,
            lambda keys: acme_tidy.tidy_eab(view, keys, config.acme_account_safety_buffer,
                                            int(moment)))
        if config.tidy_acme and done:
            acme_state.drop_expired_nonces(view)
        _advance(status, done)


def _advance(status: TidyStatus, done: bool) -> None:
    if done:
        status.phase = _PHASES[_PHASES.index(status.phase) + 1]
        status.cursor = ""


def _page(view: StorageView, prefix: str, status: TidyStatus, config: TidyConfig,
          handle: Any, most: int | None = None) -> bool:
    keys = sorted(k for k in view.list(prefix) if not k.endswith("/") and k > status.cursor)
    limit = max(config.page_size, 5)
    batch = keys[:min(limit, most) if most else limit]
    if batch:
        handle(batch)
        status.cursor = batch[-1]
    return len(keys) <= len(batch)


def _tidy_certs(view: StorageView, serials: list[str], status: TidyStatus,
                config: TidyConfig, now: float) -> None:
    stored = view.get_many([st.CERTS_PREFIX + s for s in serials])
    revoked = view.get_many([st.REVOKED_PREFIX + s for s in serials])
    ops: list[WriteOp] = []
    for serial in serials:
        entry = stored.get(st.CERTS_PREFIX + serial)
        if entry is None:
            continue
        raw = _parsed(entry.value, "stored", status, config)
        if raw is None:
            if config.tidy_invalid_certs:
                ops.append(Delete(st.CERTS_PREFIX + serial))
                status.cert_store_deleted_count += 1
            continue
        expired_for = now - int(raw["expiration"])
        is_revoked = st.REVOKED_PREFIX + serial in revoked
        if not config.tidy_cert_store:
            continue
        if not is_revoked and expired_for > config.safety_buffer:
            ops.append(Delete(st.CERTS_PREFIX + serial))
            status.cert_store_deleted_count += 1
        elif is_revoked and expired_for > config.revoked_safety_buffer:
            ops.append(Delete(st.CERTS_PREFIX + serial))
            status.cert_store_deleted_count += 1
            if config.tidy_revoked_certs:
                ops.append(Delete(st.REVOKED_PREFIX + serial))
                status.revoked_cert_deleted_count += 1
                status.rebuild_crl = True
    status.extra["certs_checked"] = status.extra.get("certs_checked", 0) + len(serials)
    _apply(view, ops)


def _tidy_acme(view: StorageView, thumbprints: list[str], status: TidyStatus,
               config: TidyConfig, now: int) -> None:
    buffers = acme_tidy.Buffers(cert=config.safety_buffer,
                                account=config.acme_account_safety_buffer)
    counts = acme_tidy.tidy_accounts(view, thumbprints, buffers, now)
    status.total_acme_account_count += counts.accounts
    status.acme_account_deleted_count += counts.accounts_deleted
    status.acme_account_revoked_count += counts.accounts_revoked
    status.acme_orders_deleted_count += counts.orders_deleted
    status.message = f"Tidying Acme: total thumbprints checked: {status.total_acme_account_count}"


def _tidy_revoked(view: StorageView, serials: list[str], status: TidyStatus,
                  config: TidyConfig, now: float) -> None:
    found = view.get_many([st.REVOKED_PREFIX + s for s in serials])
    mount_issuers = issuers.all_issuers(view) \
        if config.tidy_revoked_cert_issuer_associations else []
    known = {i.id for i in mount_issuers}
    ops: list[WriteOp] = []
    for key, entry in found.items():
        raw = _parsed(entry.value, "revoked", status, config)
        if raw is None:
            if config.tidy_invalid_certs:  # its certs/ entry went in the certs phase
                ops.append(Delete(key))
                status.revoked_cert_deleted_count += 1
                status.rebuild_crl = True
            continue
        if config.tidy_revoked_certs and \
                now - int(raw.get("expiration", 0)) > config.revoked_safety_buffer:
            ops += [Delete(key), Delete(st.CERTS_PREFIX + key[len(st.REVOKED_PREFIX):])]
            status.revoked_cert_deleted_count += 1
            status.rebuild_crl = True
        elif config.tidy_revoked_cert_issuer_associations and raw.get("issuer_id") not in known:
            status.missing_issuer_cert_count += 1
            raw["issuer_id"] = revocation.issuer_of(mount_issuers, load_pem(raw["certificate"]),
                                                    "")
            ops.append(Put(key, jsonio.dumpb(raw), entry.version))
            status.rebuild_crl = status.rebuild_crl or bool(raw["issuer_id"])
    _apply(view, ops)


def _parsed(value: bytes, kind: str, status: TidyStatus,
            config: TidyConfig) -> dict[str, Any] | None:
    """A certs/ or revoked/ entry with a certificate that parses (None: an invalid one, as
    OpenBao's tidy finds when x509.ParseCertificate fails; logged once per phase with its
    words)."""
    try:
        raw = jsonio.loads(value)
        load_pem(raw["certificate"])
        int(raw["expiration"])
    except (ValueError, TypeError, KeyError):
        if status.extra.get("warned_invalid") != kind:
            status.extra["warned_invalid"] = kind
            action = "tidying up since it is not usable." if config.tidy_invalid_certs else \
                "tidy by enabling tidy_invalid_certs=true."
            logger.warning(f"Unable to parse {kind} certificate. Other invalid certificates "
                           f"may exist; {action}", extra={"cursor": status.cursor})
        return None
    return dict(raw)


def _tidy_expired_issuers(view: StorageView, config: TidyConfig, now: float) -> None:
    """OpenBao's doTidyExpiredIssuers: issuers expired for longer than issuer_safety_buffer
    are removed (their keys stay), except the default issuer; then chains and CRLs are
    rebuilt."""
    default = st.issuers_config(view)["default"]
    removed = False
    for issuer in issuers.all_issuers(view):
        expired = load_pem(issuer.certificate).not_valid_after_utc
        if now - expired.timestamp() <= config.issuer_safety_buffer:
            continue
        named = f"[id:{issuer.id}/name:{issuer.name}]"
        if issuer.id == default:
            logger.warning(f"Issuer {named} has expired and would be removed via tidy, but "
                           "won't be, as it is currently the default issuer.")
            continue
        logger.info(f"Issuer {named} has expired by {config.issuer_safety_buffer}s and is "
                    "being removed.", extra={"serial_number": issuer.serial_number,
                                             "key_id": issuer.key_id,
                                             "certificate": issuer.certificate})
        issuers.delete_issuer(view, issuer)
        removed = True
    if removed:
        crl.force(view, delta=False)


def _apply(view: StorageView, ops: list[WriteOp]) -> None:
    for start_at in range(0, len(ops), 25):  # DynamoDB's items per transaction
        try:
            view.transact(ops[start_at:start_at + 25])
        except ConditionFailed:
            continue  # an entry changed meanwhile: the next tidy looks at it again


def auto_due(view: StorageView, now: float, config: TidyConfig) -> TidyConfig | None:
    """The auto-tidy settings ``config`` when a run is due on this mount (None: not due)."""
    if not config.enabled or not config.any_enabled():
        return None
    status, _ = read_status(view)
    if status is not None and (status.active or
                               now < status.last_tidy_unix + config.interval_duration):
        return None
    return config


def status_data(status: TidyStatus | None, backend_uuid: str) -> dict[str, Any]:
    """tidy-status as OpenBao shows it (null fields before any tidy)."""
    data: dict[str, Any] = dict.fromkeys((
        "safety_buffer", "revoked_safety_buffer", "issuer_safety_buffer", *OPERATIONS,
        "pause_duration", "page_size", "error", "time_started", "time_finished", "message",
        "cert_store_deleted_count", "revoked_cert_deleted_count", "missing_issuer_cert_count",
        "current_cert_store_count", "current_revoked_cert_count", "total_acme_account_count",
        "acme_account_deleted_count", "acme_account_revoked_count", "acme_orders_deleted_count",
        "acme_account_safety_buffer"))
    data.update(state="Inactive", internal_backend_uuid=backend_uuid)
    if status is None:
        return data
    config = status.config
    data.update({name: config[name] for name in (
        "safety_buffer", "revoked_safety_buffer", "issuer_safety_buffer", *OPERATIONS,
        "page_size", "acme_account_safety_buffer")})
    data.update(
        pause_duration=go_duration(parse_duration(config["pause_duration"])),
        time_started=status.time_started, message=status.message,
        cert_store_deleted_count=status.cert_store_deleted_count,
        revoked_cert_deleted_count=status.revoked_cert_deleted_count,
        missing_issuer_cert_count=status.missing_issuer_cert_count,
        last_auto_tidy_finished=status.last_tidy,
        total_acme_account_count=status.total_acme_account_count,
        acme_account_deleted_count=status.acme_account_deleted_count,
        acme_account_revoked_count=status.acme_account_revoked_count,
        acme_orders_deleted_count=status.acme_orders_deleted_count, state=status.state,
    )
    if status.state in ("Finished", "Error", "Cancelled"):
        data["time_finished"] = status.time_finished
    if status.state == "Finished":
        data["message"] = None
    if status.state == "Error":
        data["error"] = status.error
    return data
