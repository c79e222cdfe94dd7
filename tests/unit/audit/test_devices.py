"""Device options as OpenBao parses them, and the file device's writes."""

from __future__ import annotations

import stat
from pathlib import Path

import botocore.exceptions
import pytest

from chalicelib.audit.devices import (
    Context,
    DeviceError,
    UnusableDevice,
    build_device,
    format_config,
    parse_bool,
)
from chalicelib.audit.record import FormatConfig
from chalicelib.audit.table import AuditEntry, normalize_path


def entry(type_name: str, **options: str) -> AuditEntry:
    return AuditEntry.new("dev/", type_name, options=options)


@pytest.mark.parametrize("text", ["1", "t", "T", "TRUE", "true", "True"])
def test_go_true(text: str) -> None:
    assert parse_bool(text) is True


@pytest.mark.parametrize("text", ["yes", "on", "", "tRuE"])
def test_go_refuses_other_booleans(text: str) -> None:
    with pytest.raises(DeviceError, match=f'parsing "{text}": invalid syntax'):
        parse_bool(text)


def test_format_config_defaults_and_options() -> None:
    assert format_config({}) == FormatConfig()
    assert format_config({"log_raw": "1", "hmac_accessor": "false", "prefix": "> ",
                          "elide_list_responses": "t", "format": "json"}) == FormatConfig(
        raw=True, hmac_accessor=False, elide_list_responses=True, prefix="> ")
    with pytest.raises(DeviceError, match='unknown format type "xml"'):
        format_config({"format": "xml"})


def test_entries_get_their_own_salt_and_accessor() -> None:
    a, b = entry("stdout"), entry("stdout")
    assert a.salt != b.salt and a.uuid != b.uuid
    assert a.accessor.startswith("audit_stdout_")
    assert "salt" not in a.to_api()
    assert normalize_path("a/b") == normalize_path("/a/b/") == "a/b/"


def test_unknown_types_are_refused_and_chains_are_per_container() -> None:
    with pytest.raises(DeviceError, match='unknown backend type: "tape"'):
        build_device(entry("tape"), Context())
    same = entry("stdout")
    assert build_device(same, Context()).chain.id != build_device(same, Context()).chain.id


def test_the_file_device_appends_lines_with_mode_0600(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "audit.log"
    device = build_device(entry("file", file_path=str(target), mode="0755"), Context())
    device.check()
    device.log({"type": "request"})
    device.log({"type": "response"})
    assert len(target.read_text().splitlines()) == 2
    assert stat.S_IMODE(target.stat().st_mode) == 0o644  # executable bits dropped


def test_the_file_device_reports_write_failures(tmp_path: Path) -> None:
    device = build_device(entry("file", file_path=str(tmp_path)), Context())
    with pytest.raises(DeviceError, match="write to"):
        device.log({"type": "request"})
    assert device.chain.seq == 0


def test_discard_and_unusable_devices() -> None:
    assert build_device(entry("file", file_path="DISCARD"), Context()).log({}) is None
    broken = UnusableDevice(entry("s3"), Context(), "no such stream")
    with pytest.raises(DeviceError, match="no such stream"):
        broken.log({})


def test_stdout(capfdbinary: pytest.CaptureFixture[bytes]) -> None:
    build_device(entry("stdout", prefix="audit: "), Context()).log({"type": "request"})
    assert capfdbinary.readouterr().out.startswith(b'audit: {"type":"request","chain_id":')


def test_s3_streams_option(monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib.audit.devices.s3 import stream_names
    from chalicelib.settings import settings

    monkeypatch.setenv("LAMBDAVAULT_AUDIT_STREAM", "deployed")
    monkeypatch.setenv("LAMBDAVAULT_AUDIT_STREAMS", "2")
    settings.cache_clear()
    try:
        assert stream_names({}) == ["deployed", "deployed-2"]  # the deployment's streams
        assert stream_names({"stream": "mine", "streams": "3"}) == ["mine", "mine-2", "mine-3"]
        assert stream_names({"streams": " a, b ,a,"}) == ["a", "b"]
        for bad in ("0", "65", "a b", ",", "x/y"):
            with pytest.raises(DeviceError, match='"streams" must'):
                stream_names({"streams": bad})
    finally:
        settings.cache_clear()


def test_a_container_writes_to_one_stream_of_its_device() -> None:
    spread = entry("s3", stream="s", streams="4")
    containers = [Context() for _ in range(40)]
    picked = [build_device(spread, context).stream for context in containers]
    assert set(picked) <= {"s", "s-2", "s-3", "s-4"}
    assert len(set(picked)) > 1  # 40 containers on one stream: 1 chance in 4**39
    # Stable in a container: the device built again (a reloaded table) keeps its stream.
    assert [build_device(spread, context).stream for context in containers] == picked


@pytest.mark.parametrize(("maybe_taken", "uncertain"), [(True, True), (False, False), (None, True)])
def test_s3_device_errors_say_whether_firehose_may_hold_the_records(maybe_taken, uncertain) -> None:
    """What the lean call noted (``maybe_taken``: some attempt's answer was lost, or a 5xx)
    decides; an error that does not say counts as maybe."""
    from chalicelib.audit.devices.s3 import _refusals

    error = botocore.exceptions.ConnectTimeoutError(endpoint_url="u")
    if maybe_taken is not None:
        error.maybe_taken = maybe_taken  # type: ignore[attr-defined]
    with pytest.raises(DeviceError) as caught, _refusals("PutRecordBatch"):
        raise error
    assert caught.value.uncertain is uncertain
