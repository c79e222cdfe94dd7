"""`lambdavault audit query`: an identity's requests, and the KV secrets it left unrolled.

Records are written by the project's own audit code (record.py's entries, chained as a
device chains them) so the query reads exactly what the devices write; one test runs real
requests through the API with a file device enabled, another reads the records from S3.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from chalicelib.audit.chain import Chain
from chalicelib.audit.hashing import hmac_value
from chalicelib.audit.record import (
    Caller,
    FormatConfig,
    Mount,
    Outcome,
    Subject,
    request_entry,
    response_entry,
)
from chalicelib.cli.main import main
from chalicelib.tokens.clock import NANOS, now_ns, rfc3339
from tests.api.audit_support import audit_hash, enable
from tests.api.tokens_support import create
from tests.support import REGION, VaultHTTP

SALT = "salt-of-the-file-device"
MINUTE = 60 * NANOS
START = 1_767_225_600 * NANOS  # 2026-01-01T00:00:00Z
ANSWERED = 1000  # nanoseconds from a request record to its response record
REQUEST_IDS = (f"req-{n}" for n in itertools.count(1))

ALICE = Caller(client_token="hvs.alice", accessor="acc-alice", display_name="userpass-alice",
               policies=("dev",), metadata={"username": "alice"}, entity_id="ent-alice",
               token_type="service")
BOB = Caller(client_token="hvs.bob", accessor="acc-bob", display_name="userpass-bob",
             policies=("ops",), metadata={"username": "bob"}, entity_id="ent-bob",
             token_type="service")
# A different person whose user name merely ends like alice's.
XALICE = Caller(client_token="hvs.x", accessor="acc-x", display_name="userpass-x-alice",
                metadata={"username": "x-alice"}, entity_id="ent-x", token_type="service")
CI = Caller(client_token="hvs.ci", accessor="acc-ci", display_name="approle",
            metadata={"role_name": "ci"}, entity_id="ent-ci", token_type="service")

SECRET = Mount("secret/", "kv", "kv_v2", "secret")  # KV version 2
LEGACY = Mount("legacy/", "kv", "kv_v1", "secret")  # KV version 1
USERPASS = Mount("auth/userpass/", "userpass", "auth_userpass", "auth")


def v2_read(version: int = 1) -> Outcome:
    return Outcome(data={"data": {"password": "s3cr3t"},
                         "metadata": {"version": version, "created_time": rfc3339(START)}})


def v2_write(version: int) -> Outcome:
    return Outcome(data={"version": version, "created_time": rfc3339(START)})


V1_READ = Outcome(data={"password": "s3cr3t"})
NOTHING = Outcome()  # a 204 write, or the 404 of a read that found nothing
DENIED = Outcome(data={"error": "permission denied"},
                 error="1 error occurred:\n\t* permission denied\n\n")


class AuditLog:
    """What one device writes: a request record, then (unless lost) the response record,
    chained, one minute apart per request unless a time is given."""

    def __init__(self, config: FormatConfig | None = None, salt: str = SALT) -> None:
        self.config, self.salt = config or FormatConfig(), salt
        self.lines: list[bytes] = []
        self._chain = Chain("container/device")
        self._clock = START

    def add(self, caller: Caller, operation: str, path: str, mount: Mount | None = None,
            outcome: Outcome = NOTHING, *, at: int | None = None, responded: bool = True,
            request_id: str = "") -> str:
        """Log one request; returns the time the query reports for it (its last record's)."""
        self._clock = at if at is not None else self._clock + MINUTE
        subject = Subject(id=request_id or next(REQUEST_IDS), operation=operation, path=path,
                          mount=mount, client_token=caller.client_token,
                          client_token_accessor=caller.accessor, caller=caller,
                          remote_address="10.0.0.7")
        self._append(request_entry(subject, self.config, self.salt), self._clock)
        if not responded:
            return rfc3339(self._clock)
        entry = response_entry(subject, outcome, self.config, self.salt)
        self._append(entry, self._clock + ANSWERED)
        return rfc3339(self._clock + ANSWERED)

    def _append(self, entry: dict[str, Any], at: int) -> None:
        self._chain.append([{**entry, "time": rfc3339(at)}], self.config.prefix, self.lines.append)

    @property
    def content(self) -> bytes:
        return b"".join(self.lines)

    def save(self, path: Path) -> Path:
        path.write_bytes(self.content)
        return path


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str, str]]:
    def run(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()  # what came before (the API's logs) is not the query's output
        status = main(["audit", "query", *argv])
        out, err = capsys.readouterr()
        return status, out, err

    return run


def table(out: str) -> list[list[str]]:
    """A table's lines as cells (columns are two or more spaces apart)."""
    return [re.split(r"\s{2,}", line) for line in out.splitlines()]


def paths(out: str) -> list[str]:
    """The PATH column of a table (its third)."""
    return [cells[2] for cells in table(out)[1:]]


def rows(out: str) -> list[dict[str, Any]]:
    return json.loads(out)


@pytest.fixture
def office(tmp_path: Path) -> Path:
    """A day at the office: alice and bob read and write, x-alice and ci do their own work."""
    log = AuditLog()
    log.add(ALICE, "read", "secret/data/app/db", SECRET, v2_read())
    log.add(BOB, "update", "secret/data/app/db", SECRET, v2_write(2))
    log.add(XALICE, "read", "secret/data/x/notes", SECRET, v2_read())
    log.add(CI, "read", "secret/data/ci/deploy", SECRET, v2_read())
    log.add(ALICE, "read", "legacy/payments", LEGACY, V1_READ)
    log.add(ALICE, "read", "secret/data/ops/root", SECRET, DENIED)
    return log.save(tmp_path / "audit.log")


# --- filters ----------------------------------------------------------------------------


def test_entity_lists_each_request_once_with_its_outcome(run, office: Path) -> None:
    status, out, err = run("-file", str(office), "-entity", "ent-alice")
    assert status == 0
    header, first, *_, last = table(out)
    assert header == ["TIME", "OPERATION", "PATH", "ENTITY", "DISPLAY NAME", "ACCESSOR", "STATUS"]
    assert paths(out) == ["secret/data/app/db", "legacy/payments", "secret/data/ops/root"]
    assert first == [rfc3339(START + MINUTE + ANSWERED), "read", "secret/data/app/db",  # response
                     "ent-alice", "userpass-alice", hmac_value(SALT, "acc-alice"), "ok"]
    assert last[-1] == "error: permission denied"
    assert "12 audit records read from 2026-01-01T00:01:00Z" in err


def test_one_request_in_two_devices_logs_is_one_line(run, tmp_path: Path) -> None:
    first, second = AuditLog(), AuditLog(salt="another-device")
    for log in (first, second):
        log.add(ALICE, "read", "secret/data/app/db", SECRET, v2_read(), request_id="req-both")
    mixed = tmp_path / "both.log"
    mixed.write_bytes(first.content + second.content + first.lines[1])  # and a redelivery
    status, out, _ = run("--file", str(mixed), "--entity", "ent-alice", "--format", "json")
    assert status == 0
    [only] = rows(out)
    assert only["request_id"] == "req-both" and only["status"] == "ok"


@pytest.mark.parametrize(("alias", "expected"), [
    ("alice", ["secret/data/app/db", "legacy/payments", "secret/data/ops/root"]),
    ("userpass-alice", ["secret/data/app/db", "legacy/payments", "secret/data/ops/root"]),
    ("Alice", ["secret/data/app/db", "legacy/payments", "secret/data/ops/root"]),
    ("x-alice", ["secret/data/x/notes"]),  # user name metadata and display name agree
    ("ci", ["secret/data/ci/deploy"]),  # approle: the role_name metadata
    ("lice", []),  # never a substring
])
def test_alias(run, office: Path, alias: str, expected: list[str]) -> None:
    status, out, _ = run("-file", str(office), "-alias", alias, "-format", "json")
    assert status == 0
    assert [row["path"] for row in rows(out)] == expected


def test_a_login_counts_for_the_identity_it_logged_in(run, tmp_path: Path) -> None:
    log = AuditLog()
    issued = {"accessor": "acc-alice", "display_name": "userpass-alice", "entity_id": "ent-alice",
              "metadata": {"username": "alice"}, "client_token": "hvs.alice"}
    log.add(Caller(), "update", "auth/userpass/login/alice", USERPASS, Outcome(auth=issued))
    status, out, _ = run("-file", str(log.save(tmp_path / "a.log")), "-entity", "ent-alice")
    assert status == 0
    assert paths(out) == ["auth/userpass/login/alice"]


def test_accessor_takes_the_audit_hash_or_a_plain_value(run, office: Path, tmp_path: Path) -> None:
    hashed = hmac_value(SALT, "acc-bob")
    status, out, _ = run("-file", str(office), "-accessor", hashed, "-format", "json")
    assert status == 0
    assert [(row["path"], row["accessor"]) for row in rows(out)] == [
        ("secret/data/app/db", hashed)
    ]
    # The plain accessor is not in a log that HMACs accessors: say why nothing matched.
    status, out, err = run("-file", str(office), "-accessor", "acc-bob")
    assert (status, out.strip()) == (0, "no request matches")
    assert "sys/audit-hash" in err
    clear = AuditLog(FormatConfig(hmac_accessor=False))
    clear.add(BOB, "read", "secret/data/app/db", SECRET, v2_read())
    status, out, _ = run("-file", str(clear.save(tmp_path / "clear.log")), "-accessor", "acc-bob")
    assert paths(out) == ["secret/data/app/db"]
    # One hash per device: any of them selects the request.
    status, out, _ = run("-file", str(office), "-accessor", "hmac-sha256:other",
                         "-accessor", hashed, "-format", "json")
    assert len(rows(out)) == 1


def test_path_prefix(run, office: Path) -> None:
    status, out, _ = run("-file", str(office), "-path-prefix", "secret/data/app/",
                         "-format", "json")
    assert status == 0
    assert [(row["operation"], row["display_name"]) for row in rows(out)] == [
        ("read", "userpass-alice"), ("update", "userpass-bob")
    ]


def test_since_and_until_take_times_dates_and_durations(run, tmp_path: Path) -> None:
    now = now_ns()
    log = AuditLog()
    log.add(ALICE, "read", "secret/data/old", SECRET, v2_read(), at=now - 30 * 60 * MINUTE)
    log.add(ALICE, "read", "secret/data/recent", SECRET, v2_read(), at=now - 30 * MINUTE)
    source = str(log.save(tmp_path / "a.log"))

    def selected(*flags: str) -> list[str]:
        status, out, _ = run("-file", source, *flags, "-format", "json")
        assert status == 0
        return [row["path"] for row in rows(out)]

    assert selected("-since", "1h") == ["secret/data/recent"]
    assert selected("-until", "1h") == ["secret/data/old"]
    assert selected("-since", "2d", "-until", "20m") == ["secret/data/old", "secret/data/recent"]
    assert selected("-since", rfc3339(now - 31 * MINUTE)) == ["secret/data/recent"]
    assert selected("-until", "2000-01-01") == []
    with_offset = "2000-01-01T02:00:00.5+02:00"  # RFC 3339 with an offset and a fraction
    assert selected("-since", with_offset) == ["secret/data/old", "secret/data/recent"]


def test_outcomes(run, tmp_path: Path) -> None:
    log = AuditLog()
    log.add(ALICE, "read", "secret/data/gone", SECRET, NOTHING)
    log.add(ALICE, "update", "secret/data/lost", SECRET, responded=False)
    log.add(ALICE, "list", "secret/metadata/", SECRET, Outcome(data={"keys": ["a"]}))
    status, out, _ = run("-file", str(log.save(tmp_path / "a.log")), "-format", "json")
    assert status == 0
    assert [(row["path"], row["status"]) for row in rows(out)] == [
        ("secret/data/gone", "not found"),
        ("secret/data/lost", "no response recorded"),
        ("secret/metadata/", "ok"),
    ]


def test_lines_that_are_not_records_are_skipped_and_named(run, tmp_path: Path) -> None:
    log = AuditLog(FormatConfig(prefix="AUDIT: "))  # a device's prefix is read past
    log.add(ALICE, "read", "secret/data/app/db", SECRET, v2_read())
    source = tmp_path / "a.log"
    source.write_bytes(log.content + b"garbage\n")
    _, out, err = run("-file", str(source), "-entity", "ent-alice")
    assert paths(out) == ["secret/data/app/db"]
    assert f"1 lines skipped, not audit records (first at {source}:3)" in err


# --- stale secrets ----------------------------------------------------------------------


def test_stale_lists_what_alice_read_and_nobody_rolled_since(run, tmp_path: Path) -> None:
    log = AuditLog()
    kept_written = log.add(BOB, "create", "secret/data/kept", SECRET, v2_write(1))
    kept_read = log.add(ALICE, "read", "secret/data/kept", SECRET, v2_read())  # never rolled
    log.add(ALICE, "read", "secret/data/rolled", SECRET, v2_read())
    log.add(ALICE, "read", "secret/data/patched", SECRET, v2_read())
    payments_read = log.add(ALICE, "read", "legacy/payments", LEGACY, V1_READ)  # KV v1
    log.add(ALICE, "read", "legacy/rotated", LEGACY, V1_READ)
    log.add(ALICE, "read", "secret/metadata/kept", SECRET, Outcome(data={"versions": {}}))
    log.add(ALICE, "read", "secret/data/missing", SECRET, NOTHING)  # read nothing
    log.add(BOB, "read", "secret/data/bobs", SECRET, v2_read())  # not alice's
    log.add(BOB, "update", "secret/data/rolled", SECRET, v2_write(2))
    log.add(ALICE, "patch", "secret/data/patched", SECRET, v2_write(2))  # anyone's write counts
    log.add(BOB, "update", "legacy/rotated", LEGACY, NOTHING)
    log.add(BOB, "update", "secret/data/kept", SECRET, DENIED)  # a failed write rolls nothing
    log.add(BOB, "update", "legacy/payments", LEGACY, responded=False)  # outcome unknown
    source = str(log.save(tmp_path / "a.log"))

    status, out, _ = run("-file", source, "-stale", "-entity", "ent-alice")
    assert status == 0
    assert table(out) == [
        ["MOUNT", "PATH", "LAST READ BY ent-alice", "LAST WRITE"],
        ["legacy/", "payments", payments_read, "never seen written"],
        ["secret/", "kept", kept_read, kept_written],
    ]
    status, out, _ = run("-file", source, "-stale", "-entity", "ent-alice", "-format", "json")
    assert rows(out)[0] == {"mount": "legacy/", "path": "payments",
                            "last_read": payments_read, "last_write": None}
    # The other filters narrow the reads considered.
    status, out, _ = run("-file", source, "-stale", "-entity", "ent-alice",
                         "-path-prefix", "secret/", "-format", "json")
    assert [row["path"] for row in rows(out)] == ["kept"]


def test_a_read_after_the_roll_is_stale_again(run, tmp_path: Path) -> None:
    log = AuditLog()
    log.add(ALICE, "read", "secret/data/db", SECRET, v2_read(1))
    log.add(BOB, "update", "secret/data/db", SECRET, v2_write(2))
    log.add(ALICE, "read", "secret/data/db", SECRET, v2_read(2))
    _, out, _ = run("-file", str(log.save(tmp_path / "a.log")), "-stale",
                    "-entity", "ent-alice", "-format", "json")
    [row] = rows(out)
    assert row["last_read"] > row["last_write"]


def test_nothing_to_roll(run, tmp_path: Path) -> None:
    log = AuditLog()
    log.add(ALICE, "read", "secret/data/db", SECRET, v2_read(1))
    log.add(BOB, "update", "secret/data/db", SECRET, v2_write(2))
    source = str(log.save(tmp_path / "a.log"))
    status, out, _ = run("-file", source, "-stale", "-entity", "ent-alice")
    assert (status, out.strip()) == (0, "no secret read by ent-alice is waiting to be rolled")
    status, out, _ = run("-file", source, "-stale", "-entity", "ent-alice", "-format", "json")
    assert out.strip() == "[]"


# --- bad input and empty answers --------------------------------------------------------


def test_stale_needs_an_entity(run, office: Path) -> None:
    status, _, err = run("-file", str(office), "-stale", "-alias", "alice")
    assert status == 1
    assert err.strip() == "Error: -stale needs -entity: whose reads to check"


@pytest.mark.parametrize("flag", ["-since", "-until"])
@pytest.mark.parametrize("value", ["yesterday", "2024-13-01", "24", "-1h", "2024-05-01T10:00"])
def test_a_bad_time_is_a_usage_error(
    office: Path, capsys: pytest.CaptureFixture[str], flag: str, value: str
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["audit", "query", "-file", str(office), f"{flag}={value}"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {flag}/-{flag}: invalid time {json.dumps(value)}: want RFC 3339" in err


def test_no_match_is_an_empty_answer_not_a_failure(run, office: Path) -> None:
    status, out, _ = run("-file", str(office), "-entity", "ent-nobody")
    assert (status, out.strip()) == (0, "no request matches")
    status, out, _ = run("-file", str(office), "-entity", "ent-nobody", "-format", "json")
    assert (status, out.strip()) == (0, "[]")


def test_a_missing_file_is_a_cli_error(run, tmp_path: Path) -> None:
    status, _, err = run("-file", str(tmp_path / "nope.log"))
    assert status == 1
    assert err.startswith("Error: ") and "No such file or directory" in err


# --- sources: S3, and records the API wrote ---------------------------------------------


def test_reads_the_audit_bucket(run, aws: None) -> None:
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="audit-bucket")
    for day, (caller, path) in enumerate([(ALICE, "secret/data/a"), (BOB, "secret/data/b"),
                                          (ALICE, "secret/data/c")], start=1):
        log = AuditLog()
        log.add(caller, "read", path, SECRET, v2_read())
        key = f"audit/year=2026/month=01/day={day:02d}/lambdavault-audit-{day}"
        s3.put_object(Bucket="audit-bucket", Key=key, Body=log.content)
    status, out, _ = run("-bucket", "audit-bucket", "-entity", "ent-alice")
    assert (status, paths(out)) == (0, ["secret/data/a", "secret/data/c"])
    status, out, _ = run("-bucket", "audit-bucket", "-prefix", "audit/year=2026/month=01/day=03/",
                         "-stale", "-entity", "ent-alice", "-format", "json")
    assert [row["path"] for row in rows(out)] == ["c"]
    status, _, err = run("-bucket", "no-such-bucket")
    assert status == 1 and "NoSuchBucket" in err


@pytest.fixture
def api_log(vault: VaultHTTP, tmp_path: Path) -> Iterator[Path]:
    target = tmp_path / "audit.log"
    enable(vault, "file", "file", file_path=str(target))
    yield target


def test_records_the_api_wrote(run, vault: VaultHTTP, api_log: Path) -> None:
    ci = create(vault, {"policies": ["default"], "display_name": "ci"})
    assert vault.post("secret/data/app", {"data": {"k": "v"}}).status_code == 200
    assert vault.get("secret/data/app", token=ci["client_token"]).status_code == 403
    hashed = audit_hash(vault, "file", ci["accessor"])
    source = str(api_log)

    status, out, _ = run("-file", source, "-alias", "ci", "-format", "json")
    assert status == 0
    assert [(row["path"], row["display_name"], row["status"]) for row in rows(out)] == [
        ("secret/data/app", "token-ci", "error: permission denied")
    ]
    status, out, _ = run("-file", source, "-accessor", hashed, "-format", "json")
    assert [row["path"] for row in rows(out)] == ["secret/data/app"]
    status, out, _ = run("-file", source, "-alias", "root", "-path-prefix", "secret/")
    assert paths(out) == ["secret/data/app"]  # the write, once: its request and response


def test_verify_reads_the_same_sources(office: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """audit verify shares the source flags and reading with query: the logs above are
    well-formed chains, and a missing file is the same one-line error."""
    assert main(["audit", "verify", "-file", str(office)]) == 0
    assert capsys.readouterr().out.strip().endswith("OK: 12 records in 1 chains verified")
    assert main(["audit", "verify", "-file", str(office.with_name("missing.log"))]) == 1
    assert "No such file or directory" in capsys.readouterr().err
