"""The JSON helper every request goes through: compact UTF-8 out, stdlib-compatible edges."""

from __future__ import annotations

import json

import pytest

from chalicelib.core import jsonio


def test_output_is_compact_utf8_that_json_reads_back() -> None:
    value = {"a": [1, 2.5, None, True], "é": "ü<>&", "nested": {"x": ""}}
    expected = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
    assert jsonio.dumpb(value) == expected
    assert jsonio.dumps(value) == jsonio.dumpb(value).decode()
    assert jsonio.loads(jsonio.dumpb(value)) == value


def test_what_orjson_refuses_to_write_is_written_as_json_would() -> None:
    value = {1: 2**70, "t": (1, 2)}
    assert jsonio.dumps(value) == '{"1":1180591620717411303424,"t":[1,2]}'
    assert jsonio.dumps({2: "int keys become strings"}) == '{"2":"int keys become strings"}'


def test_unserialisable_values_still_raise_type_error() -> None:
    with pytest.raises(TypeError):
        jsonio.dumps({"s": {1, 2}})


@pytest.mark.parametrize("text", ['"\\ud800"', "[" * 2000, b'"\xff"', "{", "NaN"])
def test_bad_input_raises_the_one_decode_error(text: str | bytes) -> None:
    with pytest.raises(jsonio.DecodeError):
        jsonio.loads(text)
