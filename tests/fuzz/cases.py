"""Requests generated from an OpenAPI document: schemathesis strategies drawn with a fixed
Hypothesis seed, plus two kinds of hand-made bad input every API must survive: a verb the
path does not serve, and a body that is not the JSON object the path expects."""

from __future__ import annotations

import hashlib
import json
import random
import shlex
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import requests
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis.errors import HypothesisException

from tests.fuzz import rules

VERBS = ("GET", "POST", "PUT", "DELETE", "PATCH", "LIST")
BAD_BODIES: tuple[tuple[bytes, str], ...] = (
    (b"not json", "application/json"),
    (b"[1, 2]", "application/json"),
    (b'"text"', "application/json"),
    (b"null", "application/json"),
    (b'{"a":', "application/json"),
    (b'{"a": 1}', "text/plain"),
    (b'{"a": 1}', "application/merge-patch+json"),
    (b"\xff\xfe", "application/octet-stream"),
    (b'{"data": ' + b'{"k": ' * 990 + b"1" + b"}" * 991, "application/json"),
)
# Values a field's conversion must refuse or survive: out of every integer width, not
# JSON-representable in Go, durations that overflow, odd strings, deep and empty shapes.
MEAN_VALUES: tuple[Any, ...] = (
    10**30, -(10**30), 2**63, -(2**63) - 1, -1, 0, 1e308, -1e308, 0.5,
    "", " ", " 1", "1_0", "0x10", "-1s", "9999999999999999999h", "1e400", "\u0000",
    "\ud800", "x" * 70_000, "a,,b", "=", [], [None], {}, {"": ""}, None, True,
)
# Only the headers a request means are kept (requests adds its own defaults when sending).
_DROPPED_HEADERS = frozenset({"x-schemathesis-testcaseid", "user-agent", "accept-encoding",
                              "accept", "connection", "content-length"})


@dataclass(frozen=True)
class Probe:
    """One request, replayable on any server: method, path under /v1/, and what it sends."""

    source: str
    template: str
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None

    def send(self, session: requests.Session, address: str, token: str,
             timeout: float) -> requests.Response:
        return session.request(
            self.method, f"{address}/v1/{self.path}", data=self.body,
            headers={**self.headers, "X-Vault-Token": token}, timeout=timeout,
        )

    def curl(self) -> str:
        """A reproducer against $VAULT_ADDR with $VAULT_TOKEN."""
        url = f"$VAULT_ADDR/v1/{self.path}"
        parts = ["curl", "-sS", "-X", self.method, "-H", '"X-Vault-Token: $VAULT_TOKEN"']
        for name, value in self.headers.items():
            parts += ["-H", shlex.quote(f"{name}: {value}")]
        if self.body is not None:
            text = self.body.decode("utf-8", "backslashreplace")
            parts += ["--data-binary", shlex.quote(text)]
        return " ".join([*parts, f'"{url}"'])


@dataclass(frozen=True)
class Operation:
    source: str
    method: str
    template: str
    strategy_of: Any  # schemathesis' APIOperation
    # A body or query to break: a path parameter alone (any string) leaves nothing to
    # violate, and Hypothesis takes seconds to give up on it.
    negatable: bool


def operations(source: str, document: dict[str, Any]) -> list[Operation]:
    """Every operation of ``document`` the fuzzer may send (rules.EXCLUDED left out)."""
    from schemathesis.openapi import from_dict

    found = []
    for result in from_dict(document).get_all_operations():
        operation = result.ok()
        method = operation.method.upper()
        if not rules.excluded(method, operation.path):
            negatable = len(operation.body) > 0 or any(
                parameter.location.value != "path" for parameter in operation.iter_parameters())
            found.append(Operation(source, method, operation.path, operation, negatable))
    return found


def stable_seed(*parts: object) -> int:
    digest = hashlib.sha256(":".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big")


def drawn(operation: Operation, negative: bool, count: int, seed: int) -> list[Probe]:
    """Up to ``count`` schema-driven probes (negative: values the schema forbids); none
    when the schema leaves nothing to violate or cannot be generated from."""
    from schemathesis import GenerationMode

    mode = GenerationMode.NEGATIVE if negative else GenerationMode.POSITIVE
    cases: list[Any] = []

    @given(operation.strategy_of.as_strategy(generation_mode=mode))
    @settings(max_examples=count, phases=[Phase.generate], database=None, deadline=None,
              suppress_health_check=list(HealthCheck), derandomize=False)
    @hypothesis_seed(seed)
    def collect(case: Any) -> None:
        cases.append(case)

    try:
        collect()
    except (HypothesisException, ValueError, TypeError, KeyError):
        return []
    return [_probe(operation, case) for case in cases]


def _probe(operation: Operation, case: Any) -> Probe:
    sent = case.as_transport_kwargs(base_url="http://vault/v1")
    prepared = requests.Request(
        sent["method"], sent["url"], headers=sent.get("headers"), json=sent.get("json"),
        data=sent.get("data"),
    ).prepare()
    path = str(prepared.path_url).removeprefix("/v1/")
    headers = {k: v for k, v in prepared.headers.items()
               if k.lower() not in _DROPPED_HEADERS}
    if sent["method"] == "PATCH" and headers.get("Content-Type") == "application/json":
        # The documents say JSON; every client sends (and both servers require) a merge
        # patch. bad_body still sends the plain JSON type.
        headers["Content-Type"] = "application/merge-patch+json"
    body = prepared.body.encode() if isinstance(prepared.body, str) else prepared.body
    return Probe(operation.source, operation.template, operation.method, path,
                 headers=headers, body=body)


def wrong_verb(base: Probe, served: set[str], rng: random.Random) -> Probe | None:
    """``base``'s path with a verb the document does not list for it."""
    others = [verb for verb in VERBS if verb not in served]
    if not others:
        return None
    verb = rng.choice(others)
    body = json.dumps({"a": 1}).encode() if verb in ("POST", "PUT", "PATCH") else None
    headers = {"Content-Type": "application/json"} if body else {}
    return Probe(base.source, base.template, verb, base.path.split("?")[0],
                 headers=headers, body=body)


def bad_body(base: Probe, rng: random.Random) -> Probe | None:
    """``base`` (a write) with a body that is not a JSON object, or a misleading type."""
    if base.method not in ("POST", "PUT", "PATCH"):
        return None
    body, content_type = rng.choice(BAD_BODIES)
    return Probe(base.source, base.template, base.method, base.path,
                 headers={"Content-Type": content_type}, body=body)


def mangled(base: Probe, rng: random.Random) -> Probe | None:
    """``base`` (a JSON write) with one field set to a value conversion must not choke on."""
    if base.body is None or base.method not in ("POST", "PUT", "PATCH"):
        return None
    try:
        document = json.loads(base.body)
    except ValueError:
        return None
    if not isinstance(document, dict) or not document:
        return None
    document[rng.choice(sorted(document))] = rng.choice(MEAN_VALUES)
    return Probe(base.source, base.template, base.method, base.path, headers=base.headers,
                 body=json.dumps(document).encode())


def round_probes(ops: list[Operation], served: dict[tuple[str, str], set[str]], seed: int,
                 number: int) -> Iterator[Probe]:
    """Round ``number``: every operation once in a seeded order, positive then negative
    rounds alternating, each round drawing twice the cases of the one before (capped)."""
    rng = random.Random(stable_seed(seed, "order", number))
    order = list(ops)
    rng.shuffle(order)
    negative = number % 2 == 1
    count = min(2 ** (number // 2), 16)
    for operation in order:
        if negative and not operation.negatable:
            continue
        probes = drawn(operation, negative, count,
                       stable_seed(seed, operation.source, operation.method,
                                   operation.template, number))
        for probe in probes:
            yield probe
            extra = mangled(probe, rng)
            if extra is not None:
                yield extra
        if probes and not negative:
            first = probes[0]
            for extra in (wrong_verb(first, served[(first.source, first.template)], rng),
                          bad_body(first, rng)):
                if extra is not None:
                    yield extra
