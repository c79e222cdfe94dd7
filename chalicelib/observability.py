"""Structured logs, metrics and (optional) tracing, created once per container.

Nothing here ever receives a token, a secret or a key: callers pass operation, path,
status and timings only.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from functools import cache
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, TypeVar

from chalicelib.core import jsonio
from chalicelib.settings import settings

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger

F = TypeVar("F", bound=Callable[..., Any])

SERVICE = "lambdavault"
NAMESPACE = "Lambdavault"

# The environment variables through which Powertools' Logger takes its level, and the
# levels that certainly leave DEBUG off (any other value: let Powertools decide).
_LEVEL_VARIABLES = ("AWS_LAMBDA_LOG_LEVEL", "POWERTOOLS_LOG_LEVEL", "LOG_LEVEL")
_ABOVE_DEBUG = frozenset({"", "INFO", "WARN", "WARNING", "ERROR", "CRITICAL", "FATAL"})


class _CurrentStdout:
    """Writes to whatever ``sys.stdout`` is at the time of writing.

    A Logger created with ``sys.stdout`` itself keeps that object: where stdout is swapped
    (test capture, which closes its file afterwards), later lines would go to a closed
    file. In Lambda stdout never changes and this costs one call per line logged.
    """

    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


class _PowertoolsLogger:
    """Powertools' Logger, created by the first line logged (or level set).

    Importing aws_lambda_powertools costs ~15-20 ms of every cold start (its package
    imports Metrics and Tracer too), while a healthy container logs nothing below WARNING
    and most never log at all. Until then the request's correlation id is only kept, and
    the one question asked per request, whether DEBUG is on, is answered from the
    environment Powertools would read (a DEBUG setting creates the Logger at once).
    """

    def __init__(self) -> None:
        self._logger: Logger | None = None
        self._correlation_id: str | None = None
        self._lock = threading.Lock()

    def _real(self) -> Logger:
        with self._lock:
            if self._logger is None:
                from aws_lambda_powertools.logging.logger import Logger

                created = Logger(service=SERVICE, stream=_CurrentStdout())  # type: ignore[arg-type]
                created.set_correlation_id(self._correlation_id)
                self._logger = created
            return self._logger

    def set_correlation_id(self, value: str | None) -> None:
        self._correlation_id = value
        if self._logger is not None:
            self._logger.set_correlation_id(value)

    def isEnabledFor(self, level: int) -> bool:
        if self._logger is None and level < logging.INFO and not _debug_configured():
            return False  # Powertools' default level is INFO
        return self._real().isEnabledFor(level)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real(), name)


@cache  # asked on every request; the Lambda environment does not change
def _debug_configured() -> bool:
    """Whether the environment might set DEBUG (then Powertools is asked)."""
    return any(
        os.environ.get(name, "").strip().upper() not in _ABOVE_DEBUG for name in _LEVEL_VARIABLES
    )


logger: Any = _PowertoolsLogger()  # level: POWERTOOLS_LOG_LEVEL (default INFO)

# One request's metrics in CloudWatch's Embedded Metric Format, dimensions operation and
# service: the line Powertools' Metrics writes for them (same keys in the same order). A
# template, not a record serialised per request: only the time, the operation and the
# latency change, and building and encoding the nested record cost ~10x more.
_EMF_TEMPLATE = (
    '{"_aws":{"Timestamp":%d,"CloudWatchMetrics":[{"Namespace":"' + NAMESPACE + '",'
    '"Dimensions":[["operation","service"]],"Metrics":[{"Name":"Latency","Unit":"Milliseconds"}'
    "%s]}]},"
    '"operation":%s,"service":"' + SERVICE + '","Latency":[%.3f]%s}\n'
)
_SERVER_ERROR_METRIC = ',{"Name":"ServerErrors","Unit":"Count"}'
_SERVER_ERROR_VALUE = ',"ServerErrors":[1.0]'


@cache
def _quoted(operation: str) -> str:
    return jsonio.dumps(operation)


def emf_line(operation: str, milliseconds: float, server_error: bool) -> str:
    """The EMF line (newline included) of one request; the latency to the microsecond."""
    return _EMF_TEMPLATE % (
        time.time_ns() // 1_000_000, _SERVER_ERROR_METRIC if server_error else "",
        _quoted(operation), milliseconds, _SERVER_ERROR_VALUE if server_error else "",
    )


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
    if settings().metrics:
        server_error = status == HTTPStatus.INTERNAL_SERVER_ERROR
        sys.stdout.write(emf_line(operation, seconds * 1000, server_error))


def traced(func: F) -> F:
    """X-Ray tracing of ``func`` when enabled; Tracer() costs ~300 ms of cold start otherwise."""
    if not settings().tracing:
        return func
    from aws_lambda_powertools import Tracer

    return Tracer(service=SERVICE).capture_method(func)
