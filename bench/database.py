"""Database credentials on PostgreSQL: what `creds` (a new user) and its revocation cost,
and how fast expired database leases are dropped — ours by the scheduled sweeper, OpenBao's
by its expiration manager — with the machine's PostgreSQL on loopback.

Processes (127.0.0.1 only, each stopped by its own handle):
  PostgreSQL                        the machine's server (trust auth), users made and dropped
  moto server                       our DynamoDB and KMS (its own process, never ours)
  python -m bench.database count    Lambdavault in-process (``pipeline.handle``): each
                                    operation counted once, then the sweeper over SWEPT leases
  bench.worker serve                Lambdavault's dev HTTP adapter, timed beside OpenBao
  bao server -dev                   OpenBao 2.7.2, on the same PostgreSQL
"""

from __future__ import annotations

import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass

from bench.child import Body, Send, child_main, http_sender, run_child
from bench.common import (
    MotoServer,
    aws_environ,
    median,
    noise_note,
    served_vault,
)
from bench.core import _fmt_calls, _table
from bench.openbao import OpenBaoDev
from bench.results import run_header

SECTION = "database"
TITLE = "Database credentials (PostgreSQL): creds, revocation, expired leases dropped"


DSN = "host=127.0.0.1 port=5432 dbname=test user=postgres connect_timeout=5"
CONFIG = {
    "plugin_name": "postgresql-database-plugin",
    "connection_url": "postgresql://{{username}}:{{password}}@127.0.0.1:5432/test?sslmode=disable",
    "username": "postgres",
    "password": "unused-under-trust-auth",
    "allowed_roles": "*",
}
CREATION = (
    "CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';"
)
SWEEP_TTL = 3  # seconds: the swept role's lease TTL


@dataclass(frozen=True)
class Config:
    rounds: int = 5
    per_round: int = 10  # creds and revocations per server and round
    warmup: int = 3
    swept: int = 1000  # expired leases dropped, per server


def configure(send: Send) -> None:
    """Mount database/, one PostgreSQL config, a role for timing and one for sweeping."""
    send("POST", "sys/mounts/database", {"type": "database"})
    send("POST", "database/config/pg", CONFIG)
    for role, ttl in (("bench", "1h"), ("swept", f"{SWEEP_TTL}s")):
        send("POST", f"database/roles/{role}", {
            "db_name": "pg", "creation_statements": CREATION,
            "default_ttl": ttl, "max_ttl": "24h",
        })  # fmt: skip


def remaining(usernames: list[str]) -> int:
    """How many of these users PostgreSQL still has."""
    import psycopg

    with psycopg.connect(DSN) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_roles WHERE rolname = ANY(%s)", (usernames,)
        ).fetchone()
    return int(row[0]) if row else 0


# --- the counting child ---------------------------------------------------------------------


def count(payload: Body) -> Body:
    from bench import worker
    from bench.logins import LoginMeter, _ok
    from chalicelib.leases.sweeper import sweep

    worker.setup()
    meter = LoginMeter()
    meter.install()
    worker.start()
    configure(lambda m, p, b: _ok(m, p, b).body)
    for _ in range(2):  # the config's connection pool, the role's path
        lease = _ok("GET", "database/creds/bench").body["lease_id"]
        _ok("PUT", "sys/leases/revoke", {"lease_id": lease})
    reply = meter.count("creds", "GET", "database/creds/bench")
    meter.count("revoke", "PUT", "sys/leases/revoke", {"lease_id": reply.body["lease_id"]})
    usernames = [
        _ok("GET", "database/creds/swept").body["data"]["username"]
        for _ in range(payload["swept"])
    ]
    time.sleep(SWEEP_TTL + 1)
    calls_before, started, revoked, runs = sum(meter.calls.values()), time.perf_counter(), 0, 0
    while revoked < len(usernames) and runs < 20:
        report = sweep()
        revoked += report.revoked
        runs += 1
    took = time.perf_counter() - started
    calls = sum(meter.calls.values()) - calls_before
    return {
        "rows": {key: meter.rows[key] for key in ("creds", "revoke")},
        "sweep": {"revoked": revoked, "seconds": took, "runs": runs, "calls": calls,
                  "left": remaining(usernames)},
    }  # fmt: skip


# --- the parent: both servers over HTTP ------------------------------------------------------


def _timed(send: Send, count: int) -> tuple[list[float], list[float]]:
    """``count`` creds, then their revocations: each one's wall seconds."""
    created, leases = [], []
    for _ in range(count):
        started = time.perf_counter()
        leases.append(send("GET", "database/creds/bench", None)["lease_id"])
        created.append(time.perf_counter() - started)
    revoked = []
    for lease in leases:
        started = time.perf_counter()
        send("PUT", "sys/leases/revoke", {"lease_id": lease})
        revoked.append(time.perf_counter() - started)
    return created, revoked


def latency(senders: dict[str, Send], config: Config) -> Body:
    results: Body = {side: {"creds": [], "revoke": []} for side in senders}
    for send in senders.values():
        _timed(send, config.warmup)
    for _ in range(config.rounds):
        for side, send in senders.items():
            created, revoked = _timed(send, config.per_round)
            results[side]["creds"].append(median(created))
            results[side]["revoke"].append(median(revoked))
    return results


def openbao_expiry(send: Send, count: int) -> Body:
    """OpenBao's expiration manager: seconds from the leases' expiry until PostgreSQL has
    none of their users left."""
    usernames = [send("GET", "database/creds/swept", None)["data"]["username"]
                 for _ in range(count)]  # fmt: skip
    due = time.perf_counter() + SWEEP_TTL
    time.sleep(SWEEP_TTL)
    deadline = due + 300
    left = remaining(usernames)
    while left and time.perf_counter() < deadline:
        time.sleep(0.25)
        left = remaining(usernames)
    return {"seconds": time.perf_counter() - due, "left": left, "revoked": count - left}


def run(argv: list[str], config: Config = Config()) -> str:
    header = run_header(TITLE, argv)
    with ExitStack() as stack:
        moto = stack.enter_context(MotoServer())
        counted = run_child("bench.database", aws_environ(moto.url), {"swept": config.swept})
        served = stack.enter_context(served_vault())
        bao = stack.enter_context(OpenBaoDev())
        senders: dict[str, Send] = {}
        for side, url in (("ours", served.url), ("openbao", bao.url)):
            send, session = http_sender(url)
            stack.callback(session.close)
            configure(send)
            senders[side] = send
        timed = latency(senders, config)
        expiry = openbao_expiry(senders["openbao"], config.swept)
        version = bao.version().split(",")[0]
    return "\n".join([
        header, _render_counts(counted["rows"]), _render_latency(timed, config, version),
        _render_sweep(counted["sweep"], expiry, config, version),
    ])  # fmt: skip


# --- rendering ------------------------------------------------------------------------------


def _render_counts(rows: Body) -> str:
    table = []
    for key, label in (("creds", "`GET database/creds/bench` (CREATE ROLE)"),
                       ("revoke", "`PUT sys/leases/revoke` of that lease (drops the user)")):
        row = rows[key]
        calls = {n.partition(":")[2]: c for n, c in row["calls"].items()}
        table.append([label, str(row["status"]), str(sum(row["calls"].values())),
                      _fmt_calls(calls), f"{row['rru']:g}", f"{row['wru']:g}"])  # fmt: skip
    return "\n".join([
        "### 1. AWS calls per operation",
        "",
        "Each operation once through `pipeline.handle` in a warm process (moto in its own "
        "process, no audit device), after two of the same kind warmed the config's "
        "connection and the role. Request units as in the logins section.",
        "",
        _table(["operation", "status", "DynamoDB round trips", "DynamoDB calls", "RRU", "WRU"],
               table),
    ])  # fmt: skip


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.1f}"


def _render_latency(timed: Body, config: Config, version: str) -> str:
    table, all_ratios = [], []
    for key, label in (("creds", "creds (create a user)"), ("revoke", "revoke (drop it)")):
        ours, theirs = timed["ours"][key], timed["openbao"][key]
        ratios = [a / b for a, b in zip(ours, theirs, strict=True) if b > 0]
        all_ratios += ratios
        table.append([label, _ms(median(ours)), _ms(median(theirs)),
                      f"**{median(ratios):.1f}x**"])  # fmt: skip
    return "\n".join([
        f"### 2. Wall time over HTTP (medians of {config.rounds} rounds)",
        "",
        f"Each round, per server: {config.per_round} `creds` then their revocations, over one "
        "keep-alive session, to `lambdavault`'s dev HTTP adapter (DynamoDB and KMS: moto over "
        f"loopback) and to OpenBao {version} (in-memory storage), on the same PostgreSQL.",
        "",
        _table(["operation", "ours ms", f"OpenBao {version} ms", "ours / OpenBao"], table),
        noise_note(all_ratios),
        "",
    ])  # fmt: skip


def _render_sweep(ours: Body, theirs: Body, config: Config, version: str) -> str:
    rate = ours["revoked"] / ours["seconds"] if ours["seconds"] else 0.0
    their_rate = theirs["revoked"] / theirs["seconds"] if theirs["seconds"] else 0.0
    per_lease = ours["calls"] / ours["revoked"] if ours["revoked"] else 0.0
    rows = [
        ["ours: sweeper", str(ours["revoked"]), f"{ours['seconds']:.1f}", f"{rate:.0f}",
         f"{per_lease:.1f} ({ours['runs']} sweep runs)", str(ours["left"])],
        [f"OpenBao {version}: expiration manager", str(theirs["revoked"]),
         f"{theirs['seconds']:.1f}", f"{their_rate:.0f}", "—", str(theirs["left"])],
    ]
    header = ["", "leases dropped", "seconds", "leases per second", "AWS calls per lease",
              "users left in PostgreSQL"]
    return "\n".join([
        f"### 3. {config.swept:,} expired database leases dropped",
        "",
        f"{config.swept:,} `creds` of a role with a {SWEEP_TTL} s TTL, then, once all are due: "
        "ours, the scheduled sweeper called in-process until it has revoked them (each run "
        "takes at most 1,000 leases and 20 s); OpenBao, its expiration manager, timed from "
        "the leases' expiry until PostgreSQL has none of the users left (polled every 0.25 s).",
        "",
        _table(header, rows),
        "",
    ])  # fmt: skip

if __name__ == "__main__":
    sys.exit(child_main(sys.argv[1:], SECTION, count))
