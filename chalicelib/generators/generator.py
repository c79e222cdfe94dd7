"""Vault's string generator: random strings of a fixed length that meet charset rules.

As OpenBao's ``random.StringGenerator``: every character is drawn uniformly from the union
of the rules' charsets (random bytes, rejecting those past the largest multiple of the
charset's size, so there is no modulo bias), and a candidate that misses a rule is thrown
away whole. Rejecting whole candidates keeps every valid password equally likely, which
placing the required characters first and shuffling would not.
"""

from __future__ import annotations

import secrets
import time
import unicodedata
from dataclasses import dataclass

from chalicelib.core.errors import multierrors

# One random byte picks one character, as in OpenBao (which reports the limit as 255).
MAX_CHARSET_LENGTH = 256
# OpenBao gives up on a policy after a second of candidates that all miss a rule.
GENERATE_TIMEOUT_SECONDS = 1.0


class GeneratorError(ValueError):
    """A generator that cannot produce a string; the message is OpenBao's, client-safe."""


@dataclass(frozen=True, slots=True)
class CharsetRule:
    """``rule "charset"``: at least ``min_chars`` characters from ``charset``."""

    charset: str
    min_chars: int = 0

    def passes(self, candidate: str) -> bool:
        if self.min_chars <= 0:
            return True
        return sum(char in self.charset for char in candidate) >= self.min_chars


@dataclass(frozen=True, slots=True)
class StringGenerator:
    """A password policy: ``length`` characters from the rules' charsets, every rule met."""

    length: int
    rules: tuple[CharsetRule, ...]

    @property
    def charset(self) -> str:
        """The rules' characters, deduplicated and sorted (OpenBao's getChars)."""
        return "".join(sorted({char for rule in self.rules for char in rule.charset}))

    def problems(self) -> list[str]:
        """OpenBao's validateConfig: what makes this generator unusable."""
        found = []
        required = sum(rule.min_chars for rule in self.rules)
        if self.length <= 0:
            found.append("length must be > 0")
        elif self.length < required:
            found.append(
                f"specified rules require at least {required} characters "
                f"but {self.length} is specified"
            )
        charset = self.charset
        if not charset:
            found.append("no charset specified")
        elif not all(_printable(char) for char in charset):
            found.append("non-printable character in charset")
        return found

    def validate(self) -> None:
        if found := self.problems():
            raise GeneratorError(multierrors(found))

    def generate(self, timeout: float = GENERATE_TIMEOUT_SECONDS) -> str:
        """A string meeting every rule; GeneratorError when none turns up in ``timeout``."""
        self.validate()
        charset = self.charset
        if len(charset) > MAX_CHARSET_LENGTH:
            raise GeneratorError(
                "unable to generate random characters: charset is too long: "
                f"limited to {MAX_CHARSET_LENGTH - 1} characters"
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            candidate = random_string(charset, self.length)
            if all(rule.passes(candidate) for rule in self.rules):
                return candidate
        raise GeneratorError("timed out generating string")

    def can_generate(self, timeout: float = GENERATE_TIMEOUT_SECONDS) -> bool:
        """Whether a string meeting the rules turns up within ``timeout``.

        OpenBao's write check builds a test string from each rule's own charset, which only
        an empty charset defeats (OpenBao then panics); a real attempt also refuses a policy
        whose rules no random string meets in time, which OpenBao would store and then
        fail on at every generation.
        """
        if any(not rule.charset for rule in self.rules):
            return False
        try:
            self.generate(timeout)
        except GeneratorError:
            return False
        return True


def random_string(charset: str, length: int) -> str:
    """``length`` characters drawn uniformly from ``charset`` (at most 256 of them)."""
    size = len(charset)
    # Bytes at or above the largest multiple of ``size`` would favour the first characters.
    limit = (MAX_CHARSET_LENGTH // size) * size
    chosen: list[str] = []
    while len(chosen) < length:
        # 1.5x as OpenBao does: enough that one read usually covers the rejected bytes.
        for byte in secrets.token_bytes(length + length // 2):
            if byte < limit:
                chosen.append(charset[byte % size])
                if len(chosen) == length:
                    break
    return "".join(chosen)


def _printable(char: str) -> bool:
    # Go's unicode.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space.
    return char == " " or unicodedata.category(char)[0] in "LMNPS"


LOWERCASE = "abcdefghijklmnopqrstuvwxyz"
UPPERCASE = LOWERCASE.upper()
NUMERIC = "0123456789"

# OpenBao's DefaultStringGenerator: the database engine's passwords when no policy is named.
DEFAULT_GENERATOR = StringGenerator(
    length=20,
    rules=(
        CharsetRule(LOWERCASE, 1),
        CharsetRule(UPPERCASE, 1),
        CharsetRule(NUMERIC, 1),
        CharsetRule("-", 1),
    ),
)
