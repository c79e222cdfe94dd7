"""`tidy`, `tidy-status`, `tidy-cancel` and `config/auto-tidy`, as OpenBao's path_tidy.go
(the work itself: tidy.py), and the scheduled job that is OpenBao's periodicFunc on every
pki mount: CRL upkeep under auto_rebuild (crl.periodic), then auto-tidy."""

from __future__ import annotations

import time
from dataclasses import asdict

from chalicelib.core.errors import BadRequest, PreconditionFailed
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.engines.pki import counts, crl, tidy
from chalicelib.framework import Field, FieldData, FieldType, Path
from chalicelib.framework.fieldtypes import FieldError, go_duration, parse_duration
from chalicelib.framework.storage import view_of

PKI_TYPE = "pki"
# A job run stops starting new pages after this long: under the functions' lambda_timeout
# (28 s, .chalice/config.json); the next run, a minute later, resumes.
JOB_BUDGET = 20.0
_STARTED = ("Tidy operation successfully started. Any information from the operation will "
            "be printed to OpenBao's server logs.")


def _uuid(request: Request) -> str:
    return request.mount.uuid if request.mount is not None else ""


def _pause(value: str, prefix: str) -> str:
    try:
        seconds = parse_duration(value)
    except FieldError as error:
        raise BadRequest(f"{prefix}: {error}") from None
    if seconds < 0:
        raise BadRequest("received invalid, negative pause_duration")
    return go_duration(seconds)


def path_tidy(request: Request, data: FieldData) -> Response:
    """OpenBao's pathTidyWrite: checks, then the tidy starts (202) and runs here for a few
    seconds; what is left is finished by the scheduled job."""
    revoked_buffer = data["revoked_safety_buffer"] if data.is_set("revoked_safety_buffer") \
        else data["safety_buffer"]
    for name, value in (("safety_buffer", data["safety_buffer"]),
                        ("revokedSafetyBuffer", revoked_buffer),
                        ("issuer_safety_buffer", data["issuer_safety_buffer"]),
                        ("acme_account_safety_buffer", data["acme_account_safety_buffer"])):
        if value < 1:
            raise BadRequest(f"{name} must be greater than zero")
    pause = _pause(data["pause_duration"], "Error parsing pause_duration") \
        if data["pause_duration"] else "0s"
    if 0 < data["page_size"] < 5:
        raise BadRequest("page_size must be greater than five")
    config = tidy.TidyConfig(
        enabled=True, interval_duration=0,
        **{name: data[name] for name in tidy.OPERATIONS},
        safety_buffer=data["safety_buffer"], revoked_safety_buffer=revoked_buffer,
        issuer_safety_buffer=data["issuer_safety_buffer"],
        acme_account_safety_buffer=data["acme_account_safety_buffer"],
        pause_duration=pause, page_size=data["page_size"] or 1000,
    )
    config.tidy_revoked_certs = config.tidy_revoked_certs or data["tidy_revocation_list"]
    view = view_of(request)
    now = time.time()
    if not tidy.start(view, config, auto=False, now=now):
        return Response(warnings=["Tidy operation already in progress."])
    tidy.run(view, now + tidy.REQUEST_BUDGET, now=now)
    warning = _STARTED if config.any_enabled() else (
        "Manual tidy requested but no tidy operations were set. Enable at least one tidy "
        f"operation to be run ({tidy.ANY_TIDY}).")
    return Response(warnings=[warning], status=202)


def path_tidy_status(request: Request, data: FieldData) -> Response:
    """OpenBao's pathTidyStatusRead; the stored certificate counts (counts.py) when
    maintain_stored_certificate_counts is on, and what the legacy bundle tidy found."""
    view = view_of(request)
    status, _ = tidy.read_status(view)
    body = tidy.status_data(status, _uuid(request))
    warnings = []
    if tidy.read_auto_tidy(view).maintain_stored_certificate_counts:
        counted = counts.stored_counts(view)
        if counted is None:
            warnings.append(counts.STILL_COUNTING)
        body.update(current_cert_store_count=counted.certs if counted else 0,
                    current_revoked_cert_count=counted.revoked if counted else 0)
    if status is not None and "legacy_ca_bundle" in status.extra:
        warnings.append(status.extra["legacy_ca_bundle"])
    return Response(data=body, warnings=warnings or None)


def path_tidy_cancel(request: Request, data: FieldData) -> Response:
    if not tidy.cancel(view_of(request), time.time()):
        return Response(warnings=["Tidy operation cannot be cancelled as none is currently "
                                  "running."])
    return path_tidy_status(request, data)


def path_auto_tidy_read(request: Request, data: FieldData) -> Response:
    return Response(data=asdict(tidy.read_auto_tidy(view_of(request))))


_AT_LEAST_ONE_SECOND = {
    "safety_buffer": "given safety_buffer must be at least one second; got: {}",
    "revoked_safety_buffer": "revoked_safety_buffer must be at least one second; got: {}",
    "issuer_safety_buffer": "given safety_buffer must be at least one second; got: {}",
    "acme_account_safety_buffer":
        "given acme_account_safety_buffer must be at least one second; got: {}",
}


def path_auto_tidy_write(request: Request, data: FieldData) -> Response:
    """OpenBao's pathConfigAutoTidyWrite: given fields over the stored ones, each checked."""
    view = view_of(request)
    config = tidy.read_auto_tidy(view)
    for name in ("enabled", *tidy.OPERATIONS):
        if data.is_set(name):
            setattr(config, name, data[name])
    if data.is_set("interval_duration"):
        if data["interval_duration"] < 0:
            raise BadRequest("given interval_duration must be greater than or equal to zero "
                             f"seconds; got: {data['interval_duration']}")
        config.interval_duration = data["interval_duration"]
    for name, text in _AT_LEAST_ONE_SECOND.items():
        if data.is_set(name):
            if data[name] < 1:
                raise BadRequest(text.format(data[name]))
            setattr(config, name, data[name])
    if data.is_set("pause_duration"):
        config.pause_duration = _pause(data["pause_duration"],
                                       "unable to parse given pause_duration")
    if data.is_set("page_size"):
        if data["page_size"] < 5:
            raise BadRequest("page_size must be at least 5")
        config.page_size = data["page_size"]
    if config.enabled and not config.any_enabled():
        raise BadRequest("Auto-tidy enabled but no tidy operations were requested. Enable at "
                         f"least one tidy operation to be run ({tidy.ANY_TIDY}).")
    counting = config.maintain_stored_certificate_counts
    for name in ("maintain_stored_certificate_counts", "publish_stored_certificate_count_metrics"):
        if data.is_set(name):
            setattr(config, name, data[name])
    if config.publish_stored_certificate_count_metrics and \
            not config.maintain_stored_certificate_counts:
        raise BadRequest(
            "Can not publish a running storage metrics count to metrics without first "
            "maintaining that count.  Enable `maintain_stored_certificate_counts` to enable "
            "`publish_stored_certificate_count_metrics`.")
    view.put_json(tidy.AUTO_TIDY_CONFIG, asdict(config))
    if config.maintain_stored_certificate_counts != counting:
        view.delete(counts.CERT_COUNTS)  # counted afresh once enabled (OpenBao recounts)
    return Response(data=asdict(config))


def tidy_all_mounts() -> int:
    """The scheduled job: on every pki mount, rebuild the CRLs auto_rebuild says are due
    (complete ones near expiry, delta ones once per delta_rebuild_interval), then resume
    an unfinished tidy or start auto-tidy when due, until JOB_BUDGET is spent (the rest
    waits for the next run); the certificate counts where they are kept (counts.keep).
    Returns how many mounts it tidied."""
    from chalicelib.core.runtime import runtime
    from chalicelib.observability import logger
    from chalicelib.storage.view import StorageView

    rt = runtime()
    rt.begin([])
    if rt.sealed:
        return 0
    deadline = time.time() + JOB_BUDGET
    worked = 0
    for mount in rt.mounts.entries:
        if mount.type != PKI_TYPE or time.time() >= deadline:
            continue
        view = StorageView(rt.barrier, mount.storage_prefix)
        try:
            crl.periodic(view)
        except PreconditionFailed:  # other containers are rebuilding: they will store it
            logger.info("pki CRL rebuild left to others", extra={"mount": mount.path})
        settings = tidy.read_auto_tidy(view)
        counts.keep(view, mount.uuid, maintain=settings.maintain_stored_certificate_counts,
                    publish=settings.publish_stored_certificate_count_metrics)
        now = time.time()
        config = tidy.auto_due(view, now, settings)
        if config is not None:
            tidy.start(view, config, auto=True, now=now)
        if tidy.run(view, deadline):
            worked += 1
            logger.info("pki tidy ran", extra={"mount": mount.path})
    return worked


_SECONDS = FieldType.DURATION
_TIDY_FIELDS: dict[str, Field] = {
    **{name: Field(FieldType.BOOL, False, f"Run {name}.") for name in tidy.OPERATIONS},
    "tidy_revocation_list": Field(FieldType.BOOL, False, "Deprecated tidy_revoked_certs."),
    "safety_buffer": Field(_SECONDS, 72 * 3600, "Keep certificates expired for less."),
    "revoked_safety_buffer": Field(_SECONDS, 72 * 3600, "The same, for revoked ones."),
    "issuer_safety_buffer": Field(_SECONDS, 365 * 24 * 3600, "The same, for issuers."),
    "acme_account_safety_buffer": Field(_SECONDS, 30 * 24 * 3600, "For ACME accounts."),
    "pause_duration": Field(FieldType.STRING, "0s", "Pause between pages."),
    "page_size": Field(FieldType.INT, 1000, "Entries per page."),
}
_AUTO_FIELDS: dict[str, Field] = {
    **_TIDY_FIELDS,
    "enabled": Field(FieldType.BOOL, False, "Run tidy periodically."),
    "interval_duration": Field(_SECONDS, 12 * 3600, "Time between auto-tidy runs."),
    "maintain_stored_certificate_counts": Field(
        FieldType.BOOL, False, "Count stored and revoked certificates (tidy-status)."),
    "publish_stored_certificate_count_metrics": Field(
        FieldType.BOOL, False, "Publish those counts as CloudWatch gauges."),
}


def paths() -> list[Path]:
    return [
        Path("tidy", {Operation.UPDATE: path_tidy}, fields=_TIDY_FIELDS,
             synopsis="Tidy expired certificates and revocations."),
        Path("tidy-status", {Operation.READ: path_tidy_status}, synopsis="The last tidy."),
        Path("tidy-cancel", {Operation.UPDATE: path_tidy_cancel}, synopsis="Cancel a tidy."),
        Path("config/auto-tidy", {Operation.READ: path_auto_tidy_read,
                                  Operation.UPDATE: path_auto_tidy_write},
             fields=_AUTO_FIELDS, synopsis="Periodic tidy settings."),
    ]
