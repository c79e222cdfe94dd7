"""Logins: DynamoDB calls and request units per login and per warm read of a login token,
CPU per login next to OpenBao.

Processes (127.0.0.1 only, each stopped by its own handle):
  moto server                      its own process, never counted as ours
  bao server -dev                  the CPU reference (in-memory storage), set up with hvac
  python -m bench.logins measure   Lambdavault through ``pipeline.handle`` (bench.worker's
                                   setup and start): every operation counted once, then the
                                   CPU rounds, ours in-process and OpenBao's over HTTP in turn
  python -m bench.logins fresh     a fresh container: the first reads of a login token
Request units are bench.cost's estimate from each DynamoDB request (its ``UnitMeter``).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, NamedTuple

from bench import worker
from bench.common import (
    PYTHON,
    ROOT,
    ROOT_TOKEN,
    BenchError,
    Deadline,
    KeepAliveClient,
    MotoServer,
    aws_environ,
    median,
    noise_note,
    proc_cpu_seconds,
    us,
)
from bench.core import _fmt_calls, _table
from bench.cost import PRICES, UnitMeter, _quiet_stdout, dollars_per_million
from bench.openbao import OpenBaoDev
from bench.results import run_header
from chalicelib.storage.dynamowire import MARKER_SHARDS
from chalicelib.storage.markerheat import HOT_RATE

SECTION = "logins"
TITLE = "Logins: DynamoDB calls, request units and CPU per login"

Body = dict[str, Any]
Counted = dict[str, Any]  # one operation: status, calls, rru, wru, trace


@dataclass(frozen=True)
class Config:
    rounds: int = 7  # each round: every login kind, ours, then bcrypt alone, then OpenBao
    per_round: int = 12  # cost-10 logins per round and server (bcrypt: ~80 ms each here)
    cheap_per_round: int = 40  # our logins without a cost-10 bcrypt, per round
    cheap_openbao: int = 300  # OpenBao's (a few ms each: enough for /proc's 10 ms ticks)
    warmup: int = 3
    budget_seconds: float = 180.0  # the CPU rounds stop early past it
    cheap_cost: int = 5  # bob's bcrypt cost, given as password_hash (the least accepted)


RATE = 10_000  # operations per second, for "what production pays"
PASSWORDS = {"alice": "pw-alice", "bob": "pw-bob", "carol": "pw-carol", "dave": "pw-dave"}
SECRET = "secret/data/team/plan"
POLICIES = {
    "team-read": 'path "secret/data/team/*" { capabilities = ["read"] }',
    "team-list": 'path "secret/metadata/team/*" { capabilities = ["list"] }',
}
GROUPS = {"team": ["team-read"], "readers": ["team-list"]}  # both hold alice's entity
APPROLE_ROLES = {"approle": {}, "approle_limited": {"secret_id_num_uses": 100_000}}
# (key, label) of the call-count table, in its order; rows a run lacks are left out.
ROWS = (
    ("steady", "userpass login, steady state (user and entity exist)"),
    ("first", "userpass first login (creates the entity)"),
    ("fail_new", "userpass wrong password, the alias's first failure (creates its counter)"),
    ("fail_again", "userpass wrong password, a later failure (its counter exists)"),
    ("clears", "userpass login after failures (deletes the counter)"),
    ("locked", "userpass login of a locked-out alias (refused before any password check)"),
    ("approle", "AppRole login, unlimited secret ID"),
    ("approle_limited", "AppRole login, use-limited secret ID (not its last use)"),
    ("read_login", f"warm GET {SECRET}, login token, entity in two groups"),
    ("read_plain", f"warm GET {SECRET}, plain service token (token/create, same policy)"),
    ("first_same", "1st request of a login token, in the container that issued it"),
    ("first_fresh", "1st request of a login token, in a fresh container (after its cold start)"),
    ("second_fresh", "2nd request of that token in that container"),
)
CPU_LABELS = {
    "userpass": "userpass, cost-10 bcrypt hash (Vault's default)",
    "userpass_cheap": "userpass, cost-{cost} hash given as `password_hash`",
    "approle": "AppRole, unlimited secret ID (no bcrypt: HMACs)",
}
WRITES = frozenset({"UpdateItem", "PutItem", "DeleteItem"})


def userpass_users(cheap_hash: str) -> dict[str, Body]:
    """What both servers get: passwords, bob's as a pre-made cheap hash."""
    users: dict[str, Body] = {name: {"password": pw} for name, pw in PASSWORDS.items()}
    users["bob"] = {"password_hash": cheap_hash}
    return users


def approle_logins(owner: Callable[[str, str, Body | None], Any]) -> dict[str, Body]:
    """Mount approle and create APPROLE_ROLES through ``owner(method, path, body)`` (ours or
    OpenBao's, answering JSON); the login body of each role."""
    owner("POST", "sys/auth/approle", {"type": "approle"})
    bodies = {}
    for role, fields in APPROLE_ROLES.items():
        path = f"auth/approle/role/{role}"
        owner("POST", path, {"token_policies": ["default"], **fields})
        role_id = owner("GET", f"{path}/role-id", None)["data"]["role_id"]
        secret_id = owner("POST", f"{path}/secret-id", {})["data"]["secret_id"]
        bodies[role] = {"role_id": role_id, "secret_id": secret_id}
    return bodies


def approle_here() -> bool:
    from chalicelib.engines.registry import AUTH_METHODS

    return "approle" in AUTH_METHODS


# --- the measuring child: counting -------------------------------------------------------


class LoginMeter(UnitMeter):
    """bench.cost's request units, plus each DynamoDB call in order with the items it names."""

    def __init__(self) -> None:
        super().__init__()
        self.trace: list[tuple[str, list[str]]] = []
        self.rows: dict[str, Counted] = {}

    def observe(self, service: str, operation: str, params: dict[str, Any]) -> None:
        super().observe(service, operation, params)
        if service == "dynamodb":
            self.trace.append((operation, _items(params)))

    def count(self, key: str, method: str, path: str, body: Body | None = None,
              token: str = ROOT_TOKEN) -> Any:  # fmt: skip
        """Send one request; keep what it cost as row ``key``."""
        rru, wru, calls, start = self.rru, self.wru, Counter(self.calls), len(self.trace)
        reply = _send(method, path, body, token)
        self.rows[key] = {
            "status": int(reply.status), "calls": dict(self.calls - calls),
            "rru": self.rru - rru, "wru": self.wru - wru, "trace": self.trace[start:],
        }  # fmt: skip
        return reply


_MARKER = re.compile(r"/(?:#\d+)?$")  # a folder marker's name, or one of its shards'
_OPAQUE = re.compile(r"[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}|[0-9a-f]{32,}")


def _item_name(pk: str, sk: str) -> str:
    """A storage key as it reads in the table (ids and hashes elided): an entry by its key,
    an index item as "<key> (index)"; a name ending in "/" (or "/#n", a shard) is a folder
    marker, one item shared by every write that creates a key in the folder."""
    if pk.startswith("#"):
        return "cluster state"
    if sk == "$":  # an entry: its pk is its key
        return _OPAQUE.sub("…", pk[1:])
    return _OPAQUE.sub("…", pk[1:] + sk) + ("" if "/" in sk else " (index)")


def _items(params: dict[str, Any]) -> list[str]:
    keys = [params["Key"]] if "Key" in params else []
    for table in params.get("RequestItems", {}).values():
        keys += table["Keys"] if isinstance(table, dict) else []
    for op in params.get("TransactItems", ()):
        action = next(iter(op.values()))
        keys.append(action.get("Key") or action["Item"])
    names = [_item_name(key["pk"]["S"], key["sk"]["S"]) for key in keys]
    if "KeyConditionExpression" in params:  # a Query: one folder
        values = params["ExpressionAttributeValues"].values()
        names.append(_OPAQUE.sub("…", next(v["S"] for v in values if "S" in v)[1:]) + "*")
    return names


def _send(method: str, path: str, body: Body | None = None, token: str = ROOT_TOKEN) -> Any:
    return worker._reply(method, path, None if body is None else json.dumps(body), token)


def _ok(method: str, path: str, body: Body | None = None, token: str = ROOT_TOKEN) -> Any:
    reply = _send(method, path, body, token)
    if not 200 <= reply.status < 300:
        raise BenchError(f"{method} {path} answered {reply.status}: {reply.body}")
    return reply


def _login(name: str, password: str | None = None) -> Any:
    body = {"password": PASSWORDS[name] if password is None else password}
    return _send("POST", f"auth/userpass/login/{name}", body, "")


def _login_token(name: str) -> tuple[str, str]:
    auth = _login(name).body["auth"]
    return auth["client_token"], auth["entity_id"]


def set_up(users: dict[str, Body]) -> None:
    _ok("POST", "sys/auth/userpass", {"type": "userpass"})
    for name, fields in users.items():
        _ok("POST", f"auth/userpass/users/{name}", fields)
    for name, rules in POLICIES.items():
        _ok("PUT", f"sys/policies/acl/{name}", {"policy": rules})
    _ok("POST", SECRET, {"data": {"owner": "team"}})


def add_groups(entity_id: str) -> None:
    for name, policies in GROUPS.items():
        _ok("POST", "identity/group", {"name": name, "policies": policies,
                                       "member_entity_ids": [entity_id]})  # fmt: skip


def count_reads(meter: LoginMeter) -> str:
    """The read rows (warm, and a login token's first request here); returns an unused login
    token of alice for the fresh container."""
    token, entity_id = _login_token("alice")
    add_groups(entity_id)
    for _ in range(2):  # learn its entity, build the group graph, compile the ACL
        _ok("GET", SECRET, token=token)
    meter.count("read_login", "GET", SECRET, token=token)
    plain = _ok("POST", "auth/token/create", {"policies": ["team-read"]}).body["auth"]
    _ok("GET", SECRET, token=plain["client_token"])
    meter.count("read_plain", "GET", SECRET, token=plain["client_token"])
    meter.count("first_same", "GET", SECRET, token=_login_token("alice")[0])
    return _login_token("alice")[0]


def count_logins(meter: LoginMeter) -> None:
    def login(key: str, name: str, password: str | None = None) -> None:
        body = {"password": PASSWORDS.get(name, "") if password is None else password}
        meter.count(key, "POST", f"auth/userpass/login/{name}", body, "")

    _login("dave")  # so that carol's is not the cluster's first entity: its folders exist
    login("first", "carol")
    login("steady", "alice")
    _login("mallory-0", "wrong")  # alice's is not the mount's first counter either
    login("fail_new", "alice", "wrong")
    login("fail_again", "alice", "wrong")
    login("clears", "alice")
    for _ in range(5):  # the default threshold
        _login("mallory-1", "wrong")
    login("locked", "mallory-1", "wrong")


def count_approle(meter: LoginMeter) -> dict[str, Body]:
    bodies = approle_logins(lambda method, path, body: _ok(method, path, body).body)
    for role, body in bodies.items():  # warm the path, then count one login
        _ok("POST", "auth/approle/login", body, "")
        meter.count(role, "POST", "auth/approle/login", body, "")
    return bodies


# --- the measuring child: CPU ------------------------------------------------------------


class CpuCase(NamedTuple):
    kind: str  # a CPU_LABELS key
    path: str
    ours: Body
    openbao: Body
    bcrypt: tuple[str, str] | None  # (password, a hash of the stored cost) to time alone
    count: int  # logins per round, ours
    openbao_count: int


def _our_logins(case: CpuCase, count: int) -> tuple[float, float, int]:
    """Thread CPU and the part of it inside botocore for ``count`` logins; failures."""
    meter = worker._meter()
    cpu, boto, failures = time.thread_time(), meter.cpu, 0
    for _ in range(count):
        failures += _send("POST", case.path, case.ours, "").status != 200
    return time.thread_time() - cpu, meter.cpu - boto, failures


def _bcrypt_checks(case: CpuCase) -> float:
    import bcrypt

    if case.bcrypt is None:
        return 0.0
    password, hashed = (value.encode() for value in case.bcrypt)
    started = time.thread_time()
    for _ in range(case.count):
        bcrypt.checkpw(password, hashed)
    return (time.thread_time() - started) / case.count


def _openbao_logins(client: KeepAliveClient, pid: int, case: CpuCase, count: int) -> float:
    before, body = proc_cpu_seconds(pid), json.dumps(case.openbao)
    for _ in range(count):
        if client.request("POST", case.path, body) != 200:
            raise BenchError(f"OpenBao refused a login at {case.path}")
    return proc_cpu_seconds(pid) - before


def cpu_rounds(cases: list[CpuCase], bao: Body, config: Config) -> Body:
    """Per kind and round, seconds per login: ours (thread CPU, and less botocore), bcrypt
    alone, OpenBao's server process (/proc)."""
    deadline = Deadline(config.budget_seconds)
    client = KeepAliveClient(bao["url"], token="")
    results: dict[str, dict[str, list[float]]] = {case.kind: defaultdict(list) for case in cases}
    failures, rounds = 0, 0
    try:
        for case in cases:
            _our_logins(case, config.warmup)
            _openbao_logins(client, bao["pid"], case, config.warmup)
        while rounds < config.rounds and not deadline.expired():
            for case in cases:
                got = results[case.kind]
                total, boto, failed = _our_logins(case, case.count)
                failures += failed
                got["total"].append(total / case.count)
                got["ours"].append((total - boto) / case.count)
                got["bcrypt"].append(_bcrypt_checks(case))
                openbao = _openbao_logins(client, bao["pid"], case, case.openbao_count)
                got["openbao"].append(openbao / case.openbao_count)
            rounds += 1
    finally:
        client.close()
    return {"kinds": results, "rounds": rounds, "failures": failures, "early": deadline.hit}


def measure(payload: Body) -> Body:
    import bcrypt

    from chalicelib.auth.userpass.users import BCRYPT_COST

    config, users = Config(**payload["config"]), payload["users"]
    worker.setup()
    meter = LoginMeter()
    meter.install()  # before bench.worker's botocore timer, which then counts it as botocore
    worker.start()
    set_up(users)
    alice, bob = PASSWORDS["alice"], PASSWORDS["bob"]
    stored = bcrypt.hashpw(alice.encode(), bcrypt.gensalt(BCRYPT_COST)).decode()
    few, many = config.cheap_per_round, config.cheap_openbao
    cases = [
        CpuCase("userpass", "auth/userpass/login/alice", {"password": alice},
                {"password": alice}, (alice, stored), config.per_round, config.per_round),
        CpuCase("userpass_cheap", "auth/userpass/login/bob", {"password": bob},
                {"password": bob}, (bob, users["bob"]["password_hash"]), few, many),
    ]  # fmt: skip
    if payload["approle"] and approle_here():
        ours = count_approle(meter)
        cases.append(CpuCase("approle", "auth/approle/login", ours["approle"],
                             payload["approle"]["approle"], None, few, many))  # fmt: skip
    unused = count_reads(meter)
    count_logins(meter)
    cpu = cpu_rounds(cases, payload["openbao"], config)
    return {"rows": meter.rows, "cpu": cpu, "unused_token": unused}


def fresh(payload: Body) -> Body:
    """A new container: its cold start (another token's request), then the login token's
    first and second reads."""
    meter = LoginMeter()
    meter.install()
    cold = worker.start()
    for key in ("first_fresh", "second_fresh"):
        meter.count(key, "GET", SECRET, token=payload["token"])
    return {"cold": cold["calls"], "rows": meter.rows}


def main(argv: list[str]) -> int:
    modes: dict[str, Callable[[Body], Body]] = {"measure": measure, "fresh": fresh}
    if len(argv) != 2 or argv[0] not in modes:
        print("usage: python -m bench.run logins", file=sys.stderr)
        return 2
    with _quiet_stdout():
        result = modes[argv[0]](json.loads(argv[1]))
    print(json.dumps(result))
    return 0


# --- the parent: OpenBao, the children, the section ----------------------------------------


def _in_child(env: dict[str, str], mode: str, payload: Body) -> Body:
    args = [PYTHON, "-m", "bench.logins", mode, json.dumps(payload)]
    done = subprocess.run(args, env=env, cwd=ROOT, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise BenchError(f"logins {mode} failed: {done.stderr[-3000:]}")
    result: Body = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _openbao_owner(bao: OpenBaoDev) -> Callable[[str, str, Body | None], Any]:
    import hvac

    client = hvac.Client(url=bao.url, token=ROOT_TOKEN)

    def owner(method: str, path: str, body: Body | None) -> Any:
        return client.read(path) if method == "GET" else client.write_data(path, data=body)

    return owner


def run(argv: list[str], config: Config = Config()) -> str:
    import bcrypt

    header = run_header(TITLE, argv)
    cheap = bcrypt.hashpw(PASSWORDS["bob"].encode(), bcrypt.gensalt(config.cheap_cost))
    users = userpass_users(cheap.decode())
    with MotoServer() as moto, OpenBaoDev() as bao:
        owner = _openbao_owner(bao)
        owner("POST", "sys/auth/userpass", {"type": "userpass"})
        for name, fields in users.items():
            owner("POST", f"auth/userpass/users/{name}", fields)
        env = aws_environ(moto.url)
        payload = {
            "config": asdict(config), "users": users,
            "openbao": {"url": bao.url, "pid": bao.pid},
            "approle": approle_logins(owner) if approle_here() else None,
        }  # fmt: skip
        measured = _in_child(env, "measure", payload)
        cold = _in_child(env, "fresh", {"token": measured["unused_token"]})
        version = bao.version()
    rows = {**measured["rows"], **cold["rows"]}
    return "\n".join([
        header,
        _render_calls(rows, cold["cold"]),
        _render_cpu(measured["cpu"], config, version),
        _render_reading(rows, measured["cpu"]),
    ])  # fmt: skip


# --- rendering ----------------------------------------------------------------------------


def _markers(row: Counted) -> list[str]:
    """The folder markers a row writes (an ADD or a delete on one shared item each; a
    marker's shards, "…/#3", count as the marker)."""
    written = [item for op, items in row["trace"] if op in WRITES for item in items]
    marked = (_MARKER.sub("/", name) for name in written if _MARKER.search(name))
    return [f"`{name}`" for name in dict.fromkeys(marked)]


def _sequence(row: Counted) -> str:
    return " → ".join(f"{op}({', '.join(items)})" for op, items in row["trace"])


def _trips(row: Counted) -> int:
    return sum(row["calls"].values())


def _render_calls(rows: dict[str, Counted], cold: dict[str, int]) -> str:
    table = []
    for key, label in ROWS:
        if key in rows:
            row = rows[key]
            calls = {name.partition(":")[2]: n for name, n in row["calls"].items()}
            table.append([label, str(row["status"]), str(_trips(row)), _fmt_calls(calls),
                          f"{row['rru']:g}", f"{row['wru']:g}",
                          ", ".join(_markers(row)) or "—"])  # fmt: skip
    header = ["operation", "status", "round trips", "DynamoDB calls", "RRU", "WRU",
              "folder markers it writes (shared items)"]  # fmt: skip
    missing = "" if "approle" in rows else (
        " **AppRole is not among this checkout's auth methods: its rows are missing.**"
    )  # fmt: skip
    return "\n".join([
        "### 1. DynamoDB calls and request units per operation",
        "",
        "Each operation once through `pipeline.handle` in a warm process (moto in its own "
        "process, no audit device), after the same kind of request warmed its path. Request "
        "units are bench/cost.py's estimate from each request (strongly consistent reads: 1 "
        "RRU per item up to 4 KB, missing items included; writes: 1 WRU per started KB of "
        "key and values, doubled inside a transaction). Each call of a request waits for the "
        "one before it: calls = round trips. The fresh container's cold start (root token, "
        f"GET sys/mounts) made {_fmt_calls(cold)} before its rows." + missing,
        "",
        _table(header, table),
        "Calls in order, with the items each names (ids and hashes elided as …; a name "
        "ending in `/` is a folder marker; `*` a Query of that folder):",
        "",
        *(f"- {label}: {_sequence(rows[key])}" for key, label in ROWS if key in rows),
        "",
    ])  # fmt: skip


def _render_cpu(cpu: Body, config: Config, version: str) -> str:
    table, all_ratios = [], []
    for kind, got in cpu["kinds"].items():
        ours, bcrypt = got["ours"], got["bcrypt"]
        ratios = [a / b for a, b in zip(ours, got["openbao"], strict=False) if b > 0]
        share = median([b / a for a, b in zip(ours, bcrypt, strict=False)])
        all_ratios += ratios
        table.append([
            CPU_LABELS[kind].format(cost=config.cheap_cost), us(median(got["total"])),
            f"**{us(median(ours))}**", us(median(bcrypt)) if share else "—",
            us(median([a - b for a, b in zip(ours, bcrypt, strict=False)])),
            f"{share:.0%}" if share else "—", us(median(got["openbao"])),
            f"**{median(ratios):.2f}x**" if ratios else "n/a",
        ])  # fmt: skip
    header = ["login", "thread CPU µs", "our CPU µs (less botocore)", "bcrypt.checkpw alone µs",
              "ours less bcrypt µs", "bcrypt's share of ours", "OpenBao µs",
              "ours / OpenBao"]  # fmt: skip
    early = "; time budget reached: fewer rounds than configured" if cpu["early"] else ""
    return "\n".join([
        f"### 2. CPU per login (medians of {cpu['rounds']} rounds{early})",
        "",
        "Each round, per kind: logins through `pipeline.handle` (thread CPU; ours = total "
        "less the CPU inside botocore, as in the core section), then as many "
        "`bcrypt.checkpw` of a hash of the same cost alone, then logins to OpenBao "
        f"{version} over one keep-alive connection (its server process's utime+stime from "
        f"/proc): {config.per_round} and {config.per_round} with a cost-10 hash, "
        f"{config.cheap_per_round} and {config.cheap_openbao} otherwise. Both servers run "
        "their bcrypt inside the login; ratios are per round, ours / OpenBao, whole logins. "
        f"The cost-{config.cheap_cost} hash (the same `password_hash` given to both servers) "
        "takes most of bcrypt out, so its ratio compares the rest of the login. Thread CPU "
        "includes botocore's side of each call to moto (in Lambda, its side of each call to "
        f"DynamoDB). Non-2xx answers: {cpu['failures']}.",
        "",
        _table(header, table),
        noise_note(all_ratios),
        "",
    ])  # fmt: skip


def _dollars(row: Counted, cpu_s: float | None) -> str:
    """What an operation costs at RATE per second: DynamoDB from its request units, and
    Lambda by bench.cost's model when its CPU was measured."""
    cost = dollars_per_million({"cpu_s": cpu_s or 0.0, "calls": row["calls"], "rru": row["rru"],
                                "wru": row["wru"], "firehose_bytes": 0})  # fmt: skip
    per_hour = RATE * 3600 / 1e6
    text = (f"{row['rru']:g} RRU + {row['wru']:g} WRU = ${cost['dynamodb']:.2f} per million, "
            f"${cost['dynamodb'] * per_hour:,.0f} an hour at {RATE:,}/s")  # fmt: skip
    if cpu_s:
        lambda_ = (cost["dynamodb"] + cost["lambda"]) * per_hour
        text += f"; with Lambda ({cost['billed_ms']:.0f} billed ms) ${lambda_:,.0f} an hour"
    return text


def _render_reading(rows: dict[str, Counted], cpu: Body) -> str:
    kinds, approle = cpu["kinds"], "approle" in rows
    return "\n".join([
        "### 3. Reading the rows",
        "",
        f"*What production pays at {RATE:,} operations/s* (prices of the cost section: "
        f"${PRICES['rru'].dollars} per million RRU, ${PRICES['wru'].dollars} per million "
        "WRU; Lambda at 1,024 MB on the measured thread CPU). A steady userpass login: "
        f"{_dollars(rows['steady'], median(kinds['userpass']['total']))}. "
        + (f"An AppRole login: {_dollars(rows['approle'], median(kinds['approle']['total']))}. "
           if approle else "")
        + f"A warm KV v2 read by a login token: {_dollars(rows['read_login'], None)}. "
        "A login's writes are the token's transaction (its entry, accessor and lease, each "
        "with its folder's index item, all billed double) and one ADD per folder marker; "
        "bcrypt is nearly all of its CPU.",
        "",
        "*Where the round trips go.* A steady userpass login waits on "
        f"{_trips(rows['steady'])} calls in turn: the prefetched read (user, lockout counter, "
        "the identity alias index, the entity this container saw the alias log in as, "
        "cluster state); the token's transaction; then the folder-marker ADDs one after "
        "the other. "
        + (f"An AppRole login waits on {_trips(rows['approle'])}: the first read brings the "
           "mount's HMAC key and what the login framework reads ahead from the body's role "
           "ID (its lockout counter, identity alias index and known entity); the role-ID "
           "index (keyed by an HMAC under that key), the role, then the secret ID (in the "
           "role's folder) follow one after the other. " if approle else "")
        + f"A login token's first request costs {_trips(rows['first_same'])} round trip(s) "
        "in the container that issued it (the login notes the token's entity, which then "
        "rides with the token), and in a fresh container "
        f"{_trips(rows['first_fresh'])}: the entity after the token, "
        "then what the container builds once, the group graph (a Query and a BatchGetItem, "
        "again after each identity generation), the policies (after each policy "
        "generation) and the KV mount's upgrade entry; from the next request on, one.",
        "",
        "*Hot items.* One DynamoDB item lives in one partition: at most 3,000 read units and "
        "1,000 write units per second, whatever the on-demand capacity, and DynamoDB never "
        "splits an item. A steady userpass login ADDs to these folder markers: "
        f"{', '.join(_markers(rows['steady']))}. The storage layer ADDs 1 to a folder's "
        "marker after each transaction that creates a key in it (to stay safe against a "
        "concurrent pruner), so `sys/token/accessor/` takes one write per service token the "
        "cluster creates (the token IDs are unlisted keys: no index item, no marker). Once a "
        "container sees, from a marker's own "
        f"count, more than {HOT_RATE:,.0f} creations/s in its folder cluster-wide, its ADDs "
        f"there go to one of the marker's {MARKER_SHARDS - 1} shards for a minute "
        f"(storage/markerheat): at {RATE:,} logins/s each shard takes about "
        f"{RATE // (MARKER_SHARDS - 1):,} writes/s, under one item's 1,000, and the marker "
        "itself only the containers' measuring ADDs. The folder's index items (one per "
        "token, under the folder's one partition-key value, with random sort keys) take "
        f"{RATE:,} writes/s together: DynamoDB splits such a collection by sort key as it "
        "heats, but gradually, so a cluster reaches that rate by ramping up, not in one "
        "burst. The lease folder's marker is per login path, per user for userpass and per "
        "mount for AppRole (its login path names no role), and spreads the same way. The "
        "cluster-state item is read at most once per container per second (see the scale "
        "section). Batch tokens are written nowhere, so neither token folder limits them.",
        "",
        "*The lockout counter under attack.* A wrong password writes the alias's counter "
        f"({rows['fail_again']['wru']:g} WRU; the alias's first failure also ADDs to "
        f"{', '.join(_markers(rows['fail_new']))}); from the threshold (5) on, the alias is "
        "refused after the request's one BatchGetItem, before bcrypt and with no write, "
        "until the lockout duration has passed. So brute force on one alias writes its "
        "counter at most 5 times per lockout period (15 minutes) however fast it runs, "
        "except for the burst in flight when the lock lands: every attempt already past the "
        "check still writes, retrying a lost conditional write (GetItem, UpdateItem) at most "
        f"5 times; at {RATE:,} attempts/s with ~100 ms of bcrypt each, about a thousand are "
        "in flight, enough to pass the item's 1,000 writes/s for a moment (a throttled write "
        "fails its attempt; the lock holds). What every attempt still costs is the strongly "
        "consistent read of the user and counter items: above ~3,000 attempts/s on one name "
        "DynamoDB throttles them (the alias is locked out anyway). Password spraying (one "
        "password, many names; an unknown name costs the same calls) makes one counter per "
        "name, spread over the table, but each new name ADDs to the mount's `lockout/` "
        "folder marker, which spreads over its shards as the token folders' do. A later "
        "successful login deletes its counter (a transaction with its index item, and a "
        "Query of the folder).",
        "",
    ])  # fmt: skip


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
