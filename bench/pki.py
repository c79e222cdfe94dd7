"""pki: what one `issue` costs (CPU and DynamoDB calls, rsa-2048 and ec-p256), and how long
a CRL rebuild takes with 10,000 revoked certificates.

Processes (127.0.0.1 only, each stopped by its own handle):
  moto server                   our DynamoDB and KMS (its own process, never ours)
  python -m bench.pki count     Lambdavault in-process (``pipeline.handle``): issues counted
                                and timed, then the revocation index seeded and CRLs rebuilt

The 10,000 revoked entries are written straight through the mount's storage view (one
``revoked/<serial>`` item each, as a revocation writes it, one PutItem each), not
issued and revoked over HTTP: what is measured is the rebuild, not the seeding.
"""

from __future__ import annotations

import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass

from bench.child import Body, child_main, run_child
from bench.common import MotoServer, aws_environ, median
from bench.core import _fmt_calls, _table
from bench.results import run_header

SECTION = "pki"
TITLE = "PKI: issue per key type, CRL rebuild with 10,000 revoked certificates"
KEY_TYPES = {"ec-p256": {"key_type": "ec", "key_bits": 256},
             "rsa-2048": {"key_type": "rsa", "key_bits": 2048}}


@dataclass(frozen=True)
class Config:
    issues: int = 20  # timed issues per key type
    revoked: int = 10_000
    rebuilds: int = 3


# --- the counting child ---------------------------------------------------------------------


def _mount(ok: object, name: str, key: Body) -> None:
    ok("POST", f"sys/mounts/{name}", {"type": "pki"})  # type: ignore[operator]
    ok("POST", f"{name}/root/generate/internal",  # type: ignore[operator]
       {"common_name": f"{name} root", "key_type": "ec", "ttl": "8760h"})
    ok("POST", f"{name}/roles/web", {"allow_any_name": True, "ttl": "1h", **key})  # type: ignore[operator]


def _issue_costs(meter: object, ok: object, config: Config) -> Body:
    rows: Body = {}
    for label, key in KEY_TYPES.items():
        mount = f"pki-{label}"
        _mount(ok, mount, key)
        for _ in range(2):  # the role's and issuer's paths, the key type's first use
            ok("POST", f"{mount}/issue/web", {"common_name": "warm.example.com"})  # type: ignore[operator]
        meter.count(label, "POST", f"{mount}/issue/web",  # type: ignore[attr-defined]
                    {"common_name": "a.example.com"})
        cpu = []
        for n in range(config.issues):
            started = time.process_time()
            ok("POST", f"{mount}/issue/web", {"common_name": f"n{n}.example.com"})  # type: ignore[operator]
            cpu.append(time.process_time() - started)
        rows[label] = {**meter.rows[label], "cpu": cpu}  # type: ignore[attr-defined]
    return rows


def _seed(view: object, issuer_id: str, count: int) -> None:
    from cryptography import x509

    from chalicelib.core import jsonio
    from chalicelib.engines.pki import crl

    now = int(time.time())
    for n in range(count):  # one PutItem each: moto copies its tables on every transaction
        serial = x509.random_serial_number()
        octets = serial.to_bytes((serial.bit_length() + 7) // 8, "big")
        key = "revoked/" + "-".join(f"{b:02x}" for b in octets)
        view.put(key, jsonio.dumpb({  # type: ignore[attr-defined]
            "certificate": "", "issuer_id": issuer_id, "revocation_time": now,
            "revocation_time_utc": "", "expiration": now + 3600, "generation": n + 1}))
    view.put(crl.INDEX_COUNTER, jsonio.dumpb({"generation": count}))  # type: ignore[attr-defined]


def _rebuilds(meter: object, ok: object, config: Config) -> Body:
    from chalicelib.core.runtime import runtime
    from chalicelib.engines.pki import crl
    from chalicelib.engines.pki.crl_config import CrlConfig
    from chalicelib.storage.view import StorageView

    _mount(ok, "pki-crl", KEY_TYPES["ec-p256"])
    rt = runtime()
    entry = next(m for m in rt.mounts.entries if m.path == "pki-crl/")
    view = StorageView(rt.barrier, entry.storage_prefix)
    issuer_id = ok("LIST", "pki-crl/issuers").body["data"]["keys"][0]  # type: ignore[operator]
    _seed(view, issuer_id, config.revoked)
    seconds, cpu, calls = [], [], []
    for _ in range(config.rebuilds):
        before = sum(meter.calls.values())  # type: ignore[attr-defined]
        wall, started = time.perf_counter(), time.process_time()
        assert crl.rebuild(view, CrlConfig(), full=True)
        seconds.append(time.perf_counter() - wall)
        cpu.append(time.process_time() - started)
        calls.append(sum(meter.calls.values()) - before)  # type: ignore[attr-defined]
    served = time.perf_counter()
    der = ok("GET", "pki-crl/crl").body  # type: ignore[operator]
    return {"seconds": seconds, "cpu": cpu, "calls": calls, "size": len(der),
            "serve": time.perf_counter() - served}


def count(payload: Body) -> Body:
    from bench import worker
    from bench.logins import LoginMeter, _ok

    config = Config(**payload)
    worker.setup()
    meter = LoginMeter()
    meter.install()
    worker.start()
    return {"issue": _issue_costs(meter, _ok, config),
            "crl": _rebuilds(meter, _ok, config)}


# --- the parent -----------------------------------------------------------------------------


def run(argv: list[str], config: Config = Config()) -> str:
    header = run_header(TITLE, argv)
    with ExitStack() as stack:
        moto = stack.enter_context(MotoServer())
        counted = run_child("bench.pki", aws_environ(moto.url), {
            "issues": config.issues, "revoked": config.revoked, "rebuilds": config.rebuilds})
    return "\n".join([header, _render_issue(counted["issue"], config),
                      _render_crl(counted["crl"], config)])


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.1f}"


def _render_issue(rows: Body, config: Config) -> str:
    table = []
    for label, row in rows.items():
        calls = {n.partition(":")[2]: c for n, c in row["calls"].items()}
        table.append([f"`issue/web` ({label} leaf, EC root)", str(row["status"]),
                      _ms(median(row["cpu"])), str(sum(row["calls"].values())),
                      _fmt_calls(calls), f"{row['rru']:g}", f"{row['wru']:g}"])
    return "\n".join([
        "### 1. One `issue`, by key type",
        "",
        "Through `pipeline.handle` in a warm process (moto in its own process, no audit "
        f"device). CPU: this process's time per issue (key generation, signing, our code, "
        f"botocore; not moto's), median of {config.issues}. Calls and request units: one "
        "issue, after two warmed the role and issuer.",
        "",
        _table(["operation", "status", "CPU ms (median)", "DynamoDB round trips",
                "DynamoDB calls", "RRU", "WRU"], table),
    ])


def _render_crl(result: Body, config: Config) -> str:
    rows = [[f"{config.revoked:,}", _ms(median(result["seconds"])), _ms(median(result["cpu"])),
             str(int(median(result["calls"]))), f"{result['size']:,}",
             _ms(result["serve"])]]
    return "\n".join([
        f"### 2. CRL rebuild with {config.revoked:,} revoked certificates",
        "",
        f"{config.revoked:,} `revoked/<serial>` items seeded through the storage layer (not "
        "issued over HTTP), one EC P-256 issuer; then `crl.rebuild` (list the index, read "
        "every item, sign the complete and the delta CRL, store both in chunks, write the "
        f"state) {config.rebuilds} times, medians. Serve: one `GET crl` after it (fresh, so "
        "no rebuild: the state, the counter and the chunks).",
        "",
        _table(["revoked", "rebuild wall ms", "rebuild CPU ms", "DynamoDB calls per rebuild",
                "CRL bytes", "GET crl ms"], rows),
    ])


if __name__ == "__main__":
    sys.exit(child_main(sys.argv[1:], SECTION, count))
