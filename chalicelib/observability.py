"""Structured logs, metrics and (optional) tracing, created once per container.

Nothing here ever receives a token, a secret or a key: callers pass operation, path,
status and timings only.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from http import HTTPStatus
from typing import Any, TypeVar

from aws_lambda_powertools import Logger

from chalicelib.core import jsonio
from chalicelib.settings import settings

F = TypeVar("F", bound=Callable[..., Any])

SERVICE = "lambdavault"
NAMESPACE = "Lambdavault"

logger = Logger(service=SERVICE)  # level: POWERTOOLS_LOG_LEVEL (default INFO)

_LATENCY = {"Name": "Latency", "Unit": "Milliseconds"}
_SERVER_ERRORS = {"Name": "ServerErrors", "Unit": "Count"}


def emf_record(operation: str, milliseconds: float, server_error: bool) -> dict[str, Any]:
    """One request's metrics in CloudWatch's Embedded Metric Format: the record Powertools'
    ``Metrics`` writes for them (same keys and order), dimensions operation and service."""
    definitions = [_LATENCY, _SERVER_ERRORS] if server_error else [_LATENCY]
    record: dict[str, Any] = {
        "_aws": {
            "Timestamp": int(time.time() * 1000),
            "CloudWatchMetrics": [
                {
                    "Namespace": NAMESPACE,
                    "Dimensions": [["operation", "service"]],
                    "Metrics": definitions,
                }
            ],
        },
        "operation": operation,
        "service": SERVICE,
        "Latency": [milliseconds],
    }
    if server_error:
        record["ServerErrors"] = [1.0]
    return record


def record_request(operation: str, path: str, status: int, seconds: float) -> None:
    """The access log line (DEBUG) and one latency sample per request (EMF on stdout).

    The log line is DEBUG because it costs ~50 µs per request and Lambda's own REPORT line
    already records every invocation; errors are logged where they happen. Request counts
    come from the latency metric's SampleCount, so one metric serves both. The EMF line is
    written directly: Powertools' Metrics spent ~80 µs per request validating and
    serialising this one fixed shape.
    """
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug(
            "request",
            extra={"operation": operation, "path": path, "status": status,
                   "duration_ms": round(seconds * 1000, 3)},
        )
    if not settings().metrics:
        return
    record = emf_record(operation, seconds * 1000, status == HTTPStatus.INTERNAL_SERVER_ERROR)
    sys.stdout.write(jsonio.dumps(record) + "\n")


def traced(func: F) -> F:
    """X-Ray tracing of ``func`` when enabled; Tracer() costs ~300 ms of cold start otherwise."""
    if not settings().tracing:
        return func
    from aws_lambda_powertools import Tracer

    return Tracer(service=SERVICE).capture_method(func)
