"""External logins (aws iam, jwt, ldap): DynamoDB and outbound calls per login, and login
latency next to OpenBao, with every identity provider on loopback.

Processes and threads (127.0.0.1 only, each stopped by its own handle):
  moto server                       our DynamoDB and KMS (its own process, never ours)
  slapd                             Debian's OpenLDAP, seeded as the ldap tests seed it
  IdP, STS                          threads: tests/idp_support's OIDC provider (JWKS) and
                                    tests/aws_auth_support's scripted STS (GetCallerIdentity)
  bao server -dev                   OpenBao 2.7.2 (aws, jwt) and 2.6.2 (ldap: 2.7 dropped it)
  python -m bench.external count    Lambdavault in-process (``pipeline.handle``): each login
                                    counted once, DynamoDB calls and outbound calls
  bench.worker serve                Lambdavault's dev HTTP adapter, timed beside OpenBao
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from bench.child import Body, Send, child_main, http_sender, run_child
from bench.common import (
    BenchError,
    KeepAliveClient,
    MotoServer,
    aws_environ,
    median,
    noise_note,
    served_vault,
)
from bench.core import _fmt_calls, _table
from bench.openbao import OpenBaoDev
from bench.results import run_header

SECTION = "external"
TITLE = "External logins: aws (iam), jwt and ldap — DynamoDB and outbound calls, latency"


ARN = "arn:aws:iam::123456789012:user/bench-app"
USER_ID = "AIDABENCHAPP0000000001"
AUDIENCE = "bench"


@dataclass(frozen=True)
class Config:
    # Kept small: moto copies its whole table for every item of a TransactWriteItems, so
    # each login's transaction slows as logins fill the table; 7 rounds of 20 passed the
    # client's 5 s read timeout, and the retried transaction failed its own condition
    # (moto ignores the ClientRequestToken that makes DynamoDB answer it as the same one).
    rounds: int = 4
    per_round: int = 12  # logins per kind, server and round
    warmup: int = 3


class Kind(NamedTuple):
    key: str
    label: str
    openbao: str  # which OpenBao: "2.7", "2.6", or "" (none has it built in)
    outbound: str  # what the outbound count is


KINDS = (
    Kind("aws", "aws iam (signed GetCallerIdentity to a loopback STS)", "", "STS requests"),
    Kind("jwt_pubkeys", "jwt, key in `jwt_validation_pubkeys`", "2.7", "IdP requests"),
    Kind("jwt_jwks", "jwt, key from `jwks_url` (cached)", "2.7", "IdP requests"),
    Kind("ldap", "ldap, search-then-bind as the admin, groups searched", "2.6",
         "LDAP operations"),
)  # fmt: skip


# --- what both servers get ------------------------------------------------------------------


class Upstreams(NamedTuple):
    idp: Any  # tests.idp_support.IdP
    sts: Any  # tests.aws_auth_support.FakeSTS
    ldap: Body  # the auth/ldap/config that fits the seeded slapd

    def outbound(self) -> Counter[str]:
        return Counter(idp=sum(self.idp.hits.values()), sts=len(self.sts.received))


def configure(send: Send, up: Upstreams, kinds: tuple[str, ...]) -> None:
    """Mount and configure ``kinds`` identically on a server (ours or OpenBao's)."""
    from tests.idp_support import public_pem

    role = {"role_type": "jwt", "user_claim": "sub", "bound_audiences": [AUDIENCE],
            "token_policies": ["default"]}  # fmt: skip
    if "aws" in kinds:
        send("POST", "sys/auth/aws", {"type": "aws"})
        send("POST", "auth/aws/config/client", {"sts_endpoint": up.sts.url})
        send("POST", "auth/aws/role/app", {
            "auth_type": "iam", "bound_iam_principal_arn": [ARN],
            "resolve_aws_unique_ids": False, "token_policies": ["default"],
        })  # fmt: skip
    if "jwt_pubkeys" in kinds:
        send("POST", "sys/auth/jwt", {"type": "jwt"})
        pem = public_pem(up.idp.keys["rsa-1"][0])
        send("POST", "auth/jwt/config",
             {"jwt_validation_pubkeys": [pem], "bound_issuer": up.idp.url})  # fmt: skip
        send("POST", "auth/jwt/role/app", role)
    if "jwt_jwks" in kinds:
        send("POST", "sys/auth/jwks", {"type": "jwt"})
        send("POST", "auth/jwks/config", {"jwks_url": f"{up.idp.url}/jwks"})
        send("POST", "auth/jwks/role/app", role)
    if "ldap" in kinds:
        send("POST", "sys/auth/ldap", {"type": "ldap"})
        send("POST", "auth/ldap/config", up.ldap)
        send("POST", "auth/ldap/groups/engineers", {"policies": ["default"]})


def login(kind: str, up: Upstreams) -> tuple[str, Body]:
    """A fresh login request of ``kind`` (path, body): a new signature, a new JWT."""
    from tests.aws_auth_support import Keys, login_body
    from tests.ldap_support import USERS

    if kind == "aws":
        return "auth/aws/login", login_body(Keys("AKIABENCH", "bench-secret"), role="app")
    if kind.startswith("jwt"):
        mount = "jwt" if kind == "jwt_pubkeys" else "jwks"
        token = up.idp.token({"sub": "alice", "aud": AUDIENCE})
        return f"auth/{mount}/login", {"role": "app", "jwt": token}
    return "auth/ldap/login/alice", {"password": USERS["alice"]}


@contextmanager
def upstreams(ldap: Body) -> Iterator[Upstreams]:
    from tests.aws_auth_support import FakeSTS
    from tests.idp_support import IdP

    with ExitStack() as stack:
        idp = stack.enter_context(IdP())
        sts = FakeSTS()
        stack.callback(sts.close)
        sts.identity(ARN, USER_ID)
        yield Upstreams(idp, sts, ldap)


@contextmanager
def directory() -> Iterator[Body]:
    """A seeded slapd (as the ldap tests run it); its auth/ldap/config."""
    from tests.ldap_support import seed, start_slapd

    with tempfile.TemporaryDirectory() as home:
        started = start_slapd(Path(home))
        try:
            seed(started)
            yield started.config()
        finally:
            started.process.terminate()
            started.process.wait(10)


# --- the counting child ---------------------------------------------------------------------


class LdapMeter:
    """ldap3 operations this process sends (binds, searches, StartTLS, ...)."""

    OPERATIONS = ("bind", "search", "start_tls", "compare", "extended")

    def __init__(self) -> None:
        from ldap3 import Connection

        self.count = 0
        for name in self.OPERATIONS:
            original = getattr(Connection, name)
            setattr(Connection, name, self._counted(original))

    def _counted(self, original: Callable[..., Any]) -> Callable[..., Any]:
        def counted(*args: Any, **kwargs: Any) -> Any:
            self.count += 1
            return original(*args, **kwargs)

        return counted


def count(payload: Body) -> Body:
    from bench import worker
    from bench.logins import LoginMeter, _ok

    worker.setup()
    meter = LoginMeter()
    meter.install()
    worker.start()
    ldap_ops = LdapMeter()
    rows: Body = {}
    with upstreams(payload["ldap"]) as up:
        configure(lambda m, p, b: _ok(m, p, b).body, up, tuple(k.key for k in KINDS))
        for kind in KINDS:
            for key in ("first", "steady"):
                outbound, ops = up.outbound(), ldap_ops.count
                path, body = login(kind.key, up)
                reply = meter.count(f"{kind.key}:{key}", "POST", path, body, "")
                if reply.status != 200:
                    raise BenchError(f"{kind.key} login answered {reply.status}: {reply.body}")
                sent = up.outbound() - outbound
                row = meter.rows[f"{kind.key}:{key}"]
                row["outbound"] = sent["idp"] + sent["sts"] + ldap_ops.count - ops
                rows[f"{kind.key}:{key}"] = row
    return {"rows": rows}


# --- the parent: latency next to OpenBao -----------------------------------------------------


class Target(NamedTuple):
    url: str
    # Seconds this server has waited on AWS calls so far (ours: moto's share), if known.
    aws_wait: Callable[[], float] | None = None


def _timed_logins(target: Target, kind: str, up: Upstreams, count: int) -> Body:
    """``count`` logins over one keep-alive connection: the median login and the median
    login less its AWS wait (wall seconds), and the outbound calls per login (IdP and STS;
    LDAP's are not seen from here)."""
    requests_ = [login(kind, up) for _ in range(count)]  # signed and minted before timing
    client = KeepAliveClient(target.url, token="")
    before, times, own = up.outbound(), [], []
    try:
        for path, body in requests_:
            encoded = json.dumps(body)
            waited = target.aws_wait() if target.aws_wait else 0.0
            started = time.perf_counter()
            status = client.request("POST", path, encoded)
            took = time.perf_counter() - started
            if target.aws_wait:
                waited = target.aws_wait() - waited
            times.append(took)
            own.append(took - waited)
            if status != 200:
                raise BenchError(f"{kind} login at {target.url} answered {status}")
    finally:
        client.close()
    sent = up.outbound() - before
    return {"median": median(times), "own": median(own),
            "outbound": (sent["idp"] + sent["sts"]) / count}  # fmt: skip


def latency(targets: dict[str, Target], up: Upstreams, config: Config) -> Body:
    """Per kind and round: the median login of ours and of OpenBao, in turn."""
    sides = {k.key: [("ours", "ours")] + ([("openbao", k.openbao)] if k.openbao else [])
             for k in KINDS}  # fmt: skip
    results: Body = {k.key: {side: [] for side, _ in sides[k.key]} for k in KINDS}
    for kind in KINDS:
        for _, name in sides[kind.key]:
            _timed_logins(targets[name], kind.key, up, config.warmup)
    for _ in range(config.rounds):
        for kind in KINDS:
            for side, name in sides[kind.key]:
                timed = _timed_logins(targets[name], kind.key, up, config.per_round)
                results[kind.key][side].append(timed)
    return results


def run(argv: list[str], config: Config = Config()) -> str:
    from tests.ldap_support import OPENBAO_262

    header = run_header(TITLE, argv)
    with ExitStack() as stack:
        ldap = stack.enter_context(directory())
        moto = stack.enter_context(MotoServer())
        counted = run_child("bench.external", aws_environ(moto.url), {"ldap": ldap})
        up = stack.enter_context(upstreams(ldap))
        served = stack.enter_context(served_vault())
        bao27 = stack.enter_context(OpenBaoDev())
        bao26 = stack.enter_context(OpenBaoDev(binary=OPENBAO_262))
        targets = {
            "ours": Target(served.url, lambda: served.worker.call("stats")["aws_wall"]),
            "2.7": Target(bao27.url), "2.6": Target(bao26.url),
        }  # fmt: skip
        for release, url in (("ours", served.url), ("2.7", bao27.url), ("2.6", bao26.url)):
            send, session = http_sender(url)
            stack.callback(session.close)
            kinds = tuple(k.key for k in KINDS if release in ("ours", k.openbao))
            configure(send, up, kinds)
        timed = latency(targets, up, config)
        versions = {"2.7": bao27.version(), "2.6": bao26.version()}
    return "\n".join([
        header, _render_counts(counted["rows"]), _render_latency(timed, config, versions),
    ])  # fmt: skip


# --- rendering ------------------------------------------------------------------------------


def _render_counts(rows: Body) -> str:
    table = []
    for kind in KINDS:
        for key, when in (("first", "first login (creates the entity)"), ("steady", "steady")):
            row = rows[f"{kind.key}:{key}"]
            calls = {n.partition(":")[2]: c for n, c in row["calls"].items()}
            table.append([
                kind.label, when, str(sum(row["calls"].values())), _fmt_calls(calls),
                f"{row['rru']:g}", f"{row['wru']:g}", f"{row['outbound']} {kind.outbound}",
            ])  # fmt: skip
    header = ["method", "login", "DynamoDB round trips", "DynamoDB calls", "RRU", "WRU",
              "outbound calls"]  # fmt: skip
    return "\n".join([
        "### 1. DynamoDB and outbound calls per login",
        "",
        "Each login once through `pipeline.handle` in a warm process (moto in its own "
        "process, no audit device), the first of an alias (which creates its entity) and "
        "then a steady one. Outbound calls are counted where they leave: requests the "
        "loopback STS and IdP received, and ldap3 operations sent to slapd. Request units "
        "as in the logins section (bench/cost.py's estimate).",
        "",
        _table(header, table),
    ])  # fmt: skip


def _render_latency(timed: Body, config: Config, versions: dict[str, str]) -> str:
    table, all_ratios = [], []
    for kind in KINDS:
        got = timed[kind.key]
        ours = [_ms(median([r["median"] for r in got["ours"]])),
                _ms(median([r["own"] for r in got["ours"]])),
                f"{got['ours'][-1]['outbound']:g}"]  # fmt: skip
        if not kind.openbao:  # OpenBao ships no aws auth method (an external plugin)
            table.append([kind.label, *ours, "none built into OpenBao", "—", "—", "—", "—"])
            continue
        pairs = list(zip(got["ours"], got["openbao"], strict=True))
        ratios = [a["median"] / b["median"] for a, b in pairs]
        own_ratios = [a["own"] / b["median"] for a, b in pairs]
        all_ratios += own_ratios
        version = versions[kind.openbao].split(",")[0]
        table.append([
            kind.label, *ours, f"OpenBao {version}",
            _ms(median([r["median"] for r in got["openbao"]])),
            f"{got['openbao'][-1]['outbound']:g}" if kind.key != "ldap" else "not seen",
            f"{median(ratios):.1f}x", f"**{median(own_ratios):.1f}x**",
        ])  # fmt: skip
    header = ["method", "ours: login ms", "ours less its DynamoDB/KMS wait, ms",
              "IdP/STS calls per login", "reference", "reference: login ms",
              "its IdP/STS calls per login", "ours / reference",
              "ours less the wait / reference"]  # fmt: skip
    return "\n".join([
        f"### 2. Login latency over HTTP (medians of {config.rounds} rounds)",
        "",
        f"Each round, per method: {config.per_round} logins to `lambdavault`'s dev HTTP "
        "adapter (its DynamoDB and KMS are moto, one process away over loopback), then as "
        "many to the real OpenBao dev server (in-memory storage), each over one keep-alive "
        "connection, with the IdP, STS and slapd on loopback. Each request is signed or "
        "minted before the clock starts. \"Less its DynamoDB/KMS wait\" takes out the wall "
        "time our process spent inside botocore calls to moto (a DynamoDB round trip in "
        "Lambda is a few milliseconds; moto's are slower): what our code, the IdP and the "
        "HTTP exchange cost. Ratios are per round; the noise line's spread is of the last.",
        "",
        _table(header, table),
        noise_note(all_ratios),
        "",
    ])  # fmt: skip


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.1f}"


if __name__ == "__main__":
    sys.exit(child_main(sys.argv[1:], SECTION, count))
