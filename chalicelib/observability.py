"""Structured logs, metrics and (optional) tracing, created once per container.

Nothing here ever receives a token, a secret or a key: callers pass operation, path,
status and timings only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import cache
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, TypeVar

from aws_lambda_powertools import Logger

from chalicelib.settings import settings

if TYPE_CHECKING:
    from aws_lambda_powertools import Metrics

F = TypeVar("F", bound=Callable[..., Any])

logger = Logger(service="lambdavault")  # level: POWERTOOLS_LOG_LEVEL (default INFO)


@cache
def metrics() -> Metrics:
    from aws_lambda_powertools import Metrics

    return Metrics(namespace="Lambdavault", service="lambdavault")


def record_request(operation: str, path: str, status: int, seconds: float) -> None:
    """The access log line (DEBUG) and one latency sample per request (EMF).

    The log line is DEBUG because it costs ~50 µs per request and Lambda's own REPORT line
    already records every invocation; errors are logged where they happen. Request counts
    come from the latency metric's SampleCount, so one metric serves both.
    """
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug(
            "request",
            extra={"operation": operation, "path": path, "status": status,
                   "duration_ms": round(seconds * 1000, 3)},
        )
    if not settings().metrics:
        return
    from aws_lambda_powertools.metrics import MetricUnit

    sink = metrics()
    sink.add_dimension(name="operation", value=operation)
    sink.add_metric(name="Latency", unit=MetricUnit.Milliseconds, value=seconds * 1000)
    if status == HTTPStatus.INTERNAL_SERVER_ERROR:
        sink.add_metric(name="ServerErrors", unit=MetricUnit.Count, value=1)
    sink.flush_metrics()


def traced(func: F) -> F:
    """X-Ray tracing of ``func`` when enabled; Tracer() costs ~300 ms of cold start otherwise."""
    if not settings().tracing:
        return func
    from aws_lambda_powertools import Tracer

    return Tracer(service="lambdavault").capture_method(func)
