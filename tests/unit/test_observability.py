"""The EMF metrics line each request writes: the same record Powertools' Metrics would."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from chalicelib import observability
from chalicelib.settings import settings


@pytest.mark.parametrize("server_error", [False, True])
def test_emf_line_is_what_powertools_metrics_writes(server_error: bool) -> None:
    from aws_lambda_powertools import Metrics
    from aws_lambda_powertools.metrics import MetricUnit

    metrics = Metrics(namespace=observability.NAMESPACE, service=observability.SERVICE)
    try:
        metrics.add_dimension(name="operation", value="read")
        metrics.add_metric(name="Latency", unit=MetricUnit.Milliseconds, value=12.5)
        if server_error:
            metrics.add_metric(name="ServerErrors", unit=MetricUnit.Count, value=1)
        expected = metrics.serialize_metric_set()
    finally:
        metrics.clear_metrics()
    line = observability.emf_line("read", 12.5, server_error)
    assert line.endswith("}\n") and "\n" not in line[:-1]
    ours = json.loads(line)
    assert abs(ours["_aws"]["Timestamp"] - expected["_aws"]["Timestamp"]) < 5_000
    expected["_aws"]["Timestamp"] = ours["_aws"]["Timestamp"]
    assert json.dumps(ours) == json.dumps(expected)  # same keys in the same order


@pytest.fixture
def fresh_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    settings.cache_clear()
    yield monkeypatch
    monkeypatch.undo()
    settings.cache_clear()


def test_each_request_writes_one_emf_line(
    fresh_settings: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fresh_settings.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    observability.record_request("update", "secret/data/x", 500, 0.0125)
    (line,) = capsys.readouterr().out.splitlines()
    record = json.loads(line)
    assert record["operation"] == "update"
    assert record["Latency"] == [12.5]
    assert record["ServerErrors"] == [1.0]
    assert "secret/data/x" not in line  # paths can name secrets: they are not dimensions


def test_metrics_can_be_disabled(
    fresh_settings: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fresh_settings.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    observability.record_request("read", "sys/mounts", 200, 0.001)
    assert capsys.readouterr().out == ""


def _run_fresh(code: str, **env: str) -> list[str]:
    """``code`` in a fresh interpreter (Powertools not yet imported); its stdout lines."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True,
        env={"PATH": "/usr/bin:/bin", "POWERTOOLS_METRICS_DISABLED": "true", **env},
    )
    return done.stdout.strip().splitlines()


_PROBE = """
import logging, sys
from chalicelib.observability import logger
logger.set_correlation_id("req-1")
print(logger.isEnabledFor(logging.DEBUG), "aws_lambda_powertools" in sys.modules)
logger.warning("something odd", extra={"path": "sys/mounts"})
print("aws_lambda_powertools" in sys.modules)
"""


def test_powertools_is_imported_by_the_first_line_logged() -> None:
    debug_on, imported = _run_fresh(_PROBE)[0].split()
    assert (debug_on, imported) == ("False", "False")
    *_, record, imported_after = _run_fresh(_PROBE)
    line = json.loads(record)
    assert line["message"] == "something odd"
    assert line["correlation_id"] == "req-1"  # set before the Logger existed
    assert line["service"] == observability.SERVICE
    assert imported_after == "True"


@pytest.mark.parametrize("variable", ["POWERTOOLS_LOG_LEVEL", "AWS_LAMBDA_LOG_LEVEL", "LOG_LEVEL"])
def test_debug_from_the_environment_is_honoured(variable: str) -> None:
    assert _run_fresh(_PROBE, **{variable: "DEBUG"})[0] == "True True"
    assert _run_fresh(_PROBE, **{variable: "info"})[0] == "False False"


def test_log_lines_go_to_stdout_as_it_is_when_written(capsys: pytest.CaptureFixture[str]) -> None:
    import contextlib
    import io

    earlier = io.StringIO()
    with contextlib.redirect_stdout(earlier):
        observability.logger.warning("while stdout was another file")
    earlier.close()  # as a finished test's capture is closed
    observability.logger.warning("after it was closed")
    captured = capsys.readouterr()
    assert '"message":"after it was closed"' in captured.out
    assert "Logging error" not in captured.err


def test_importing_the_app_leaves_one_structured_line_per_log_call() -> None:
    # Chalice's logger has the app's name, which is Powertools' service logger too.
    code = "import app\n" + _PROBE
    lines = _run_fresh(code, AWS_DEFAULT_REGION="us-east-1")
    logged = [line for line in lines if "something odd" in line]
    assert len(logged) == 1
    assert json.loads(logged[0])["level"] == "WARNING"
