"""One fuzzing session: generate, send to our dev server, check every answer, summarise.

A finding is a status >= 500 that rules.ALLOWED does not accept, a Python traceback in the
server's log, a dropped connection, a request that never answers, or a session the fuzzer
broke (root token or mounts gone)."""

from __future__ import annotations

import itertools
import time
from collections import Counter
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from tests.compat.conftest import ROOT_TOKEN, Server
from tests.fuzz import rules
from tests.fuzz.cases import Operation, Probe, operations, round_probes
from tests.fuzz.servers import OpenBao, lambdavault, openapi

TRACEBACK = "Traceback (most recent call last)"
TIMEOUT = 60.0
HEALTH_EVERY = 500
SOURCES = ("ours", "openbao")


@dataclass
class Finding:
    kind: str
    probe: Probe
    answer: str
    openbao: str = ""
    count: int = 1

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.kind, self.probe.method, self.probe.template, self.answer[:3])

    def describe(self) -> str:
        lines = [f"[{self.kind}] {self.probe.method} {self.probe.template} "
                 f"({self.probe.source} document, seen {self.count}x)",
                 f"  ours:    {self.answer[:400]}"]
        if self.openbao:
            lines.append(f"  openbao: {self.openbao[:400]}")
        lines.append(f"  repro:   {self.probe.curl()}")
        return "\n".join(lines)


@dataclass
class Summary:
    seed: int
    seconds: float
    documents: dict[str, int] = field(default_factory=dict)
    requests: int = 0
    rounds: int = 0
    by_class: Counter[str] = field(default_factory=Counter)
    allowed: Counter[str] = field(default_factory=Counter)
    findings: dict[tuple[str, str, str, str], Finding] = field(default_factory=dict)

    def add(self, finding: Finding) -> None:
        known = self.findings.get(finding.key)
        if known is None:
            self.findings[finding.key] = finding
        else:
            known.count += 1

    def text(self) -> str:
        classes = ", ".join(f"{name}: {n}" for name, n in sorted(self.by_class.items()))
        lines = [
            f"seed {self.seed}; budget {self.seconds:.0f} s; {self.rounds} round(s)",
            "operations: " + ", ".join(f"{k} document {v}" for k, v in self.documents.items()),
            f"requests sent: {self.requests} ({classes})",
        ]
        lines += [f"allowed >=500: {n}x {why}" for why, n in self.allowed.items()]
        lines.append(f"findings: {len(self.findings)}")
        lines += [finding.describe() for finding in self.findings.values()]
        return "\n".join(lines)

    def as_json(self) -> dict[str, Any]:
        return {
            "seed": self.seed, "seconds": self.seconds, "rounds": self.rounds,
            "documents": self.documents, "requests": self.requests,
            "by_class": dict(self.by_class), "allowed": dict(self.allowed),
            "findings": [{"kind": f.kind, "method": f.probe.method,
                          "template": f.probe.template, "source": f.probe.source,
                          "count": f.count, "ours": f.answer, "openbao": f.openbao,
                          "repro": f.probe.curl()} for f in self.findings.values()],
        }


class LogScanner:
    """Reads what the server logged since the last look."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = path.stat().st_size

    def new_tracebacks(self) -> list[str]:
        with self.path.open("rb") as log:
            log.seek(self.offset)
            fresh = log.read()
        self.offset += len(fresh)
        text = fresh.decode("utf-8", "replace")
        return [line for line in text.splitlines() if TRACEBACK in line]


class Session:
    def __init__(self, ours: Server, openbao: OpenBao, summary: Summary) -> None:
        self.ours = ours
        self.openbao = openbao
        self.summary = summary
        self.http = requests.Session()
        self.log = LogScanner(ours.log)

    def check(self, probe: Probe) -> bool:
        """Send ``probe`` and record what is wrong with the answer; False: stop the run."""
        self.summary.requests += 1
        try:
            reply = probe.send(self.http, self.ours.address, ROOT_TOKEN, TIMEOUT)
        except requests.Timeout:
            self.summary.by_class["timeout"] += 1
            self.summary.add(Finding("no answer", probe, f"none in {TIMEOUT:.0f} s"))
            return True
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as error:
            self.summary.by_class["dropped"] += 1
            self.summary.add(Finding("dropped connection", probe, repr(error)))
            self.http = requests.Session()
            return self.ours.process.poll() is None
        self.summary.by_class[f"{reply.status_code // 100}xx"] += 1
        if reply.status_code >= 500:
            self._server_error(probe, reply)
        for line in self.log.new_tracebacks():
            self.summary.add(Finding("traceback", probe, line))
        return self.summary.requests % HEALTH_EVERY != 0 or self.healthy(probe)

    def _server_error(self, probe: Probe, reply: requests.Response) -> None:
        answer = f"{reply.status_code} {reply.text.strip()}"
        reference = self.reference(probe)
        allowed = rules.allowance(probe.method, probe.template, reply.status_code)
        if allowed and (not allowed.openbao_too or reference.startswith("5")):
            self.summary.allowed[allowed.why] += 1
        else:
            self.summary.add(Finding(f"status {reply.status_code}", probe, answer, reference))

    def reference(self, probe: Probe) -> str:
        """OpenBao's answer to the same request, to tell its own 5xx from ours."""
        try:
            reply = probe.send(requests.Session(), self.openbao.server.address, ROOT_TOKEN,
                               TIMEOUT)
        except requests.RequestException as error:
            return f"no answer: {error!r}"
        return f"{reply.status_code} {reply.text.strip()}"

    def healthy(self, last: Probe) -> bool:
        reply = self.http.get(f"{self.ours.address}/v1/sys/mounts",
                              headers={"X-Vault-Token": ROOT_TOKEN}, timeout=TIMEOUT)
        if reply.status_code == 200 and "kv/" in reply.json().get("data", {}):
            return True
        self.summary.add(Finding("session broken", last, f"{reply.status_code} {reply.text}"))
        return False


def served_verbs(source: str, document: dict[str, Any]) -> dict[tuple[str, str], set[str]]:
    """Per path template, the verbs the document lists (GET with a `list` parameter: LIST)."""
    verbs: dict[tuple[str, str], set[str]] = {}
    for template, item in document.get("paths", {}).items():
        methods = {m.upper() for m in item if m in ("get", "post", "put", "delete", "patch")}
        listing = [p for p in [*item.get("parameters", []), *item.get("get", {}).get(
            "parameters", [])] if isinstance(p, dict) and p.get("name") == "list"]
        verbs[(source, template)] = methods | ({"LIST"} if listing else set())
    return verbs


def fuzz(seed: int, seconds: float, sources: tuple[str, ...], workdir: Path,
         say: Callable[[str], None] = print) -> Summary:
    """Fuzz for ``seconds`` with ``seed`` over the documents of ``sources``."""
    summary = Summary(seed, seconds)
    workdir.mkdir(parents=True, exist_ok=True)
    with lambdavault(workdir) as ours, closing(OpenBao(workdir)) as openbao:
        fetch = {"ours": lambda: openapi(ours), "openbao": lambda: openapi(openbao.server)}
        ops: list[Operation] = []
        served: dict[tuple[str, str], set[str]] = {}
        for source in sources:
            document = fetch[source]()
            if not document:
                say(f"the {source} server serves no OpenAPI document yet: skipped")
                continue
            found = operations(source, document)
            summary.documents[source] = len(found)
            ops += found
            served |= served_verbs(source, document)
        if not ops:
            raise RuntimeError("no OpenAPI document to fuzz from")
        say(f"fuzzing {len(ops)} operations for {seconds:.0f} s, seed {seed}")
        _loop(Session(ours, openbao, summary), ops, served, time.monotonic() + seconds, say)
    return summary


def _loop(session: Session, ops: list[Operation], served: dict[tuple[str, str], set[str]],
          deadline: float, say: Callable[[str], None]) -> None:
    summary = session.summary
    last_note = time.monotonic()
    for number in itertools.count():
        summary.rounds = number + 1
        for probe in round_probes(ops, served, summary.seed, number):
            if time.monotonic() >= deadline or not session.check(probe):
                return
            if time.monotonic() - last_note >= 30:
                last_note = time.monotonic()
                say(f"  round {number + 1}: {summary.requests} requests, "
                    f"{len(summary.findings)} finding(s)")
