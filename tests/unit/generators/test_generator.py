"""Vault's string generator: length, charset, rules, no modulo bias, its limits."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from chalicelib.generators import generator as module
from chalicelib.generators.generator import (
    DEFAULT_GENERATOR,
    CharsetRule,
    GeneratorError,
    StringGenerator,
    random_string,
)

ALPHANUMERIC_DASH = "-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def test_default_generator_is_the_database_engines() -> None:
    assert DEFAULT_GENERATOR.charset == ALPHANUMERIC_DASH
    for _ in range(50):
        password = DEFAULT_GENERATOR.generate()
        assert re.fullmatch(r"[a-zA-Z0-9-]{20}", password)
        for kind in (r"[a-z]", r"[A-Z]", r"[0-9]", r"-"):
            assert re.search(kind, password)


def test_every_rule_is_met_and_only_the_rules_characters_are_used() -> None:
    generator = StringGenerator(
        12, (CharsetRule("abc", 5), CharsetRule("XYZ", 3), CharsetRule("!?", 0))
    )
    assert generator.charset == "!?XYZabc"
    for _ in range(50):
        password = generator.generate()
        assert len(password) == 12 and set(password) <= set("abcXYZ!?")
        assert sum(c in "abc" for c in password) >= 5
        assert sum(c in "XYZ" for c in password) >= 3


def test_characters_are_unicode_not_bytes() -> None:
    password = StringGenerator(30, (CharsetRule("é€", 1),)).generate()
    assert len(password) == 30 and set(password) <= {"é", "€"}


def test_bytes_past_the_last_whole_multiple_are_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    # 63 characters: 4 * 63 = 252, so the bytes 252..255 would favour the first four.
    feed = iter([bytes([252, 253, 254, 255, 0, 251, 63]), bytes([126])])
    monkeypatch.setattr(module.secrets, "token_bytes", lambda size: next(feed))
    assert random_string(ALPHANUMERIC_DASH, 4) == "-z--"


def test_characters_are_drawn_uniformly() -> None:
    counts = Counter(random_string(ALPHANUMERIC_DASH, 63_000))
    assert set(counts) == set(ALPHANUMERIC_DASH)
    # 1000 expected per character; a biased first four would sit near 1250.
    assert all(850 < count < 1150 for count in counts.values()), counts.most_common(4)


@pytest.mark.parametrize(
    ("generator", "problems"),
    [
        (StringGenerator(0, (CharsetRule("ab"),)), ["length must be > 0"]),
        (
            StringGenerator(5, (CharsetRule("ab", 4), CharsetRule("cd", 2))),
            ["specified rules require at least 6 characters but 5 is specified"],
        ),
        (StringGenerator(5, ()), ["no charset specified"]),
        (StringGenerator(5, (CharsetRule("a\tb"),)), ["non-printable character in charset"]),
        (StringGenerator(-1, ()), ["length must be > 0", "no charset specified"]),
    ],
)
def test_unusable_generators_say_why(generator: StringGenerator, problems: list[str]) -> None:
    assert generator.problems() == problems
    with pytest.raises(GeneratorError) as raised:
        generator.generate()
    assert all(f"\t* {problem}\n" in str(raised.value) for problem in problems)


def test_a_space_is_printable_and_negative_minimums_count_as_in_openbao() -> None:
    assert StringGenerator(4, (CharsetRule(" a", -3),)).problems() == []


def test_charsets_longer_than_a_byte_can_index_fail_at_generation() -> None:
    huge = StringGenerator(10, (CharsetRule("".join(map(chr, range(0x100, 0x201)))),))
    with pytest.raises(GeneratorError, match="charset is too long: limited to 255 characters"):
        huge.generate()
    assert not huge.can_generate()


def test_rules_no_random_string_meets_time_out() -> None:
    hopeless = StringGenerator(100, (CharsetRule("a", 100), CharsetRule("bcdefghijklmnop")))
    with pytest.raises(GeneratorError, match=r"^timed out generating string$"):
        hopeless.generate(timeout=0.05)
    assert not hopeless.can_generate(timeout=0.05)


def test_can_generate() -> None:
    assert DEFAULT_GENERATOR.can_generate()
    # OpenBao's write check cannot draw from an empty charset (it panics): refused here.
    assert not StringGenerator(8, (CharsetRule("", 1), CharsetRule("ab"))).can_generate()
    assert not StringGenerator(8, (CharsetRule(""), CharsetRule("ab"))).can_generate()
