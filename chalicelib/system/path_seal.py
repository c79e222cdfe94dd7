"""sys/init, seal-status, health, leader, seal and unseal."""

from __future__ import annotations

import base64
import time
from http import HTTPStatus
from typing import Any

from chalicelib.core.errors import BadRequest
from chalicelib.core.operation import Operation
from chalicelib.core.render import JSON_HEADERS
from chalicelib.core.request import HttpReply, Request, Response
from chalicelib.core.runtime import Runtime, runtime
from chalicelib.framework import Field, FieldData, FieldType, Path
from chalicelib.system.defaults import default_tables
from chalicelib.version import reported_version

# chalicelib.seal.lifecycle (init, unseal keys, Shamir) is imported by the handlers that
# need it: an unsealed container's requests never do.
SEAL_TYPE = "awskms"
STORAGE_TYPE = "dynamodb"


def seal_status(rt: Runtime) -> dict[str, Any]:
    config = rt.seal_config
    progress = None
    if rt.initialized and rt.sealed:
        from chalicelib.seal import lifecycle

        progress = lifecycle.unseal_progress(rt)
    status: dict[str, Any] = {
        "type": SEAL_TYPE,
        "initialized": rt.initialized,
        "sealed": rt.sealed,
        "t": config.recovery_threshold if config else 0,
        "n": config.recovery_shares if config else 0,
        "progress": len(progress.shares) if progress else 0,
        "nonce": progress.nonce if progress and progress.shares else "",
        "recovery_seal": True,
        "recovery_seal_type": "shamir",
        "version": reported_version(),
        "commit_date": "",
        "migration": False,
    }
    if config and not rt.sealed:
        status["cluster_name"] = config.cluster_name
        status["cluster_id"] = config.cluster_id
    status["storage_type"] = STORAGE_TYPE
    return status


def _seal_status_read(request: Request, data: FieldData) -> Response:
    return Response(raw=seal_status(runtime()))


def _init_read(request: Request, data: FieldData) -> Response:
    return Response(raw={"initialized": runtime().initialized})


def _first_set(data: FieldData, preferred: str, fallback: str) -> int:
    """The CLI sends recovery_shares=0 when the flag is unset: zero means "not given"."""
    return data[preferred] or data[fallback]


def _init_write(request: Request, data: FieldData) -> Response:
    # The CLI sends both pairs; an auto-unsealed cluster splits only its recovery key.
    shares = _first_set(data, "recovery_shares", "secret_shares")
    threshold = _first_set(data, "recovery_threshold", "secret_threshold")
    if data["pgp_keys"] or data["recovery_pgp_keys"] or data["root_token_pgp_key"]:
        raise BadRequest("PGP-encrypted keys are not supported by this seal")
    from chalicelib.seal import lifecycle

    result = lifecycle.initialize(runtime(), shares, threshold, default_tables())
    return Response(
        raw={
            "keys": [],
            "keys_base64": [],
            "recovery_keys": [key.hex() for key in result.recovery_keys],
            "recovery_keys_base64": [base64.b64encode(k).decode() for k in result.recovery_keys],
            "root_token": result.root_token,
        }
    )


def _health_read(request: Request, data: FieldData) -> Response:
    rt = runtime()
    config = rt.seal_config
    if not rt.initialized:
        status = data["uninitcode"]
    elif rt.sealed:
        status = data["sealedcode"]
    else:
        status = data["activecode"]
    active = rt.initialized and not rt.sealed
    replication = "disabled" if active else "unknown"
    body: dict[str, Any] = {
        "initialized": rt.initialized,
        "sealed": rt.sealed,
        "standby": not active,
        "performance_standby": False,
        "replication_performance_mode": replication,
        "replication_dr_mode": replication,
        "server_time_utc": int(time.time()),
        "version": reported_version(),
    }
    if config and active:
        body["cluster_name"] = config.cluster_name
        body["cluster_id"] = config.cluster_id
    return Response(raw=body, status=status)


def _leader_read(request: Request, data: FieldData) -> Response:
    # Every Lambda container serves as an equal: there is no leader, as in a non-HA Vault.
    return Response(raw={"ha_enabled": False})


def _seal_write(request: Request, data: FieldData) -> None:
    runtime().mark_sealed(True)


def http_layer_reply(request: Request) -> HttpReply:
    """sys/seal as OpenBao's HTTP handler answers it: any verb but a write is a 405 with
    no error text; sealing a sealed vault succeeds with nothing to do (no token checked)."""
    if request.operation in (Operation.CREATE, Operation.UPDATE):
        return HttpReply(HTTPStatus.NO_CONTENT, None, {"Cache-Control": "no-store"})
    return HttpReply(HTTPStatus.METHOD_NOT_ALLOWED, {"errors": []}, dict(JSON_HEADERS))


def _unseal_write(request: Request, data: FieldData) -> Response:
    rt = runtime()
    if not rt.initialized:
        raise BadRequest("Vault is not initialized")
    if not rt.sealed:
        if data["reset"]:
            raise BadRequest("vault is unsealed")
        return Response(raw=seal_status(rt))
    from chalicelib.seal import lifecycle

    lifecycle.submit_unseal_key(rt, data["key"], data["reset"])
    return Response(raw=seal_status(rt))


_HEALTH_FIELDS = {
    "standbyok": Field(FieldType.BOOL, False),
    "perfstandbyok": Field(FieldType.BOOL, False),
    "activecode": Field(FieldType.INT, HTTPStatus.OK),
    "standbycode": Field(FieldType.INT, HTTPStatus.TOO_MANY_REQUESTS),
    "drsecondarycode": Field(FieldType.INT, 472),
    "performancestandbycode": Field(FieldType.INT, 473),
    "sealedcode": Field(FieldType.INT, HTTPStatus.SERVICE_UNAVAILABLE),
    "uninitcode": Field(FieldType.INT, HTTPStatus.NOT_IMPLEMENTED),
}

_INIT_FIELDS = {
    "secret_shares": Field(FieldType.INT, 0),
    "secret_threshold": Field(FieldType.INT, 0),
    "recovery_shares": Field(FieldType.INT, 0),
    "recovery_threshold": Field(FieldType.INT, 0),
    "pgp_keys": Field(FieldType.COMMA_STRING_LIST),
    "recovery_pgp_keys": Field(FieldType.COMMA_STRING_LIST),
    "root_token_pgp_key": Field(FieldType.STRING, ""),
    "stored_shares": Field(FieldType.INT, 0),
}


def paths() -> list[Path]:
    return [
        Path(
            "init",
            {Operation.READ: _init_read, Operation.UPDATE: _init_write},
            _INIT_FIELDS,
            synopsis="Read whether the server is initialised, or initialise it.",
        ),
        Path("seal-status", {Operation.READ: _seal_status_read}, synopsis="Read the seal status."),
        Path(
            "health",
            {Operation.READ: _health_read},
            _HEALTH_FIELDS,
            synopsis="Read the server's health; the status code tells it too.",
        ),
        Path(
            "leader",
            {Operation.READ: _leader_read},
            synopsis="Read the HA leader status.",
        ),
        Path("seal", {Operation.UPDATE: _seal_write}, synopsis="Seal the server."),
        Path(
            "unseal",
            {Operation.UPDATE: _unseal_write},
            {"key": Field(FieldType.STRING, ""), "reset": Field(FieldType.BOOL, False)},
            synopsis="Give a recovery key share to unseal, or reset the progress.",
        ),
    ]


UNAUTHENTICATED = ("init", "seal-status", "health", "leader", "unseal")
