"""What the fuzzer leaves alone, and which server errors it accepts (and why)."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    """Operations matched by HTTP method ("*": any) and a regex over the path template."""

    method: str
    path: str
    why: str

    def matches(self, method: str, template: str) -> bool:
        verb_matches = self.method in ("*", method.upper())
        return verb_matches and re.fullmatch(self.path, template) is not None


# Never generated: these would end the session the checks depend on, reach outside it, or
# run for minutes by design. Everything else under every mount is fair game.
EXCLUDED: tuple[Rule, ...] = (
    Rule("*", r"/sys/seal", "seals the server: every later request would answer 503"),
    Rule("*", r"/sys/step-down", "a dev server has no standby; nothing to learn"),
    Rule("*", r"/sys/(rekey|rekey-recovery-key|generate-root|generate-recovery-token)(/.*)?",
         "key ceremonies replace the keys/root token the session runs on"),
    Rule("*", r"/auth/token/revoke-self", "revokes the root token the fuzzer sends"),
    Rule("POST", r"/sys/audit/.*", "a file audit device writes wherever the body says"),
    Rule("*", r"/sys/(plugins|raw)(/.*)?", "host plugin catalog / raw storage, not API input"),
    Rule("*", r"/sys/(pprof|monitor|in-flight-req)(/.*)?", "profiles and log streams hang on"),
    Rule("*", r"/sys/internal/specs/openapi", "the document the fuzzer reads; slow to build"),
    Rule("POST", r"/sys/loggers(/.*)?", "a log level change would hide tracebacks from the scan"),
    Rule("POST", r"/sys/quotas/.*", "a rate-limit quota turns every later request into 429"),
)


@dataclass(frozen=True)
class Allowed(Rule):
    """A status >= 500 accepted for an operation. ``openbao_too``: accepted only while
    OpenBao answers the same request with a 5xx as well (checked on every occurrence)."""

    status: int = 500
    openbao_too: bool = True

    def accepts(self, method: str, template: str, status: int) -> bool:
        return status == self.status and self.matches(method, template)


# Server errors that are not ours to fix, each with why (README lists them). Empty: every
# 5xx the fuzzer met was a client's error answered 500, fixed to a 400 (project rule: even
# where OpenBao itself answers 500, e.g. sys/capabilities without a token). An entry looks
# like Allowed("POST", r"/database/config/[^/]+", "the database refused the connection",
# status=500): accepted only while OpenBao answers the same request with a 5xx too.
ALLOWED: tuple[Allowed, ...] = ()


def excluded(method: str, template: str) -> bool:
    return any(rule.matches(method, template) for rule in EXCLUDED)


def allowance(method: str, template: str, status: int) -> Allowed | None:
    return next((a for a in ALLOWED if a.accepts(method, template, status)), None)
