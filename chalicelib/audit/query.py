"""Offboarding questions over audit records: what an identity touched, which secrets to roll.

The records are the JSON lines our devices write (OpenBao's format plus the chain fields of
:mod:`chalicelib.audit.chain`); this module only filters what it is handed, and
``lambdavault audit query`` reads them with :mod:`chalicelib.audit.verify`'s readers.

Vault writes a ``request`` record before the operation and a ``response`` record after it,
both with the same ``request.id``: a request is reported once, from its response record
(which carries the outcome), or from its request record when no response was recorded. The
same id in several devices' logs, or delivered twice by Firehose, is still one request.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from chalicelib.audit.hashing import HMAC_TYPE
from chalicelib.audit.verify import Line, _parse
from chalicelib.core import jsonio
from chalicelib.framework.fieldtypes import parse_duration
from chalicelib.tokens.clock import NANOS

__all__ = [
    "Access", "Coverage", "Filter", "Record", "StaleSecret", "has_alias", "is_hashed",
    "parse_moment", "parse_time", "read", "render_requests", "render_stale", "requests",
    "stale_secrets",
]

_RFC3339 = re.compile(
    r"(\d{4}-\d\d-\d\d)[Tt](\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?([Zz]|[+-]\d\d:\d\d)"
)
_DATE = re.compile(r"\d{4}-\d\d-\d\d")
# A duration with units ("24h", "7d", "1h30m"): a bare number would read as seconds, which
# nobody typing --since 2024 means.
_DURATION = re.compile(r"(?:[0-9.]+[a-zµ]+)+")
_TIME_HELP = "RFC 3339 (2024-05-01T00:00:00Z), a date (2024-05-01) or a duration ago (24h, 7d)"

KV_TYPES = ("kv", "generic")  # "generic" is KV version 1's old type name
WRITES = ("create", "update", "patch")


def parse_time(text: str) -> int:
    """Unix nanoseconds of an RFC 3339 time (Vault writes RFC3339Nano) or a date (midnight
    UTC); ValueError otherwise. datetime alone would drop the nanoseconds records carry."""
    if _DATE.fullmatch(text):
        return int(datetime.fromisoformat(f"{text}T00:00:00+00:00").timestamp()) * NANOS
    match = _RFC3339.fullmatch(text)
    if match is None:
        raise ValueError(text)
    date, clock, fraction, zone = match.groups()
    offset = "+00:00" if zone in ("Z", "z") else zone
    whole = datetime.fromisoformat(f"{date}T{clock}{offset}")  # month 13 raises here
    return int(whole.timestamp()) * NANOS + int((fraction or "").ljust(9, "0"))


def parse_moment(text: str, now: int) -> int:
    """A ``--since``/``--until`` value as Unix nanoseconds: a time, or a duration before ``now``."""
    text = text.strip()
    try:
        return parse_time(text)
    except ValueError:
        pass
    if _DURATION.fullmatch(text):
        try:
            return now - parse_duration(text) * NANOS
        except ValueError:
            pass
    raise ValueError(f"invalid time {jsonio.dumps(text)}: want {_TIME_HELP}")


def is_hashed(value: str) -> bool:
    return value.startswith(f"{HMAC_TYPE}:")


# --- records -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Record:
    """One audit record, with what the queries look at read out once."""

    kind: str  # "request" or "response"
    time: str
    at: int  # Unix nanoseconds of ``time``
    key: str  # the request id; the record's own place when it has none
    identity: Mapping[str, Any]
    request: Mapping[str, Any]
    response: Mapping[str, Any]
    error: str

    @property
    def accessors(self) -> tuple[str, ...]:
        return (str(self.identity.get("accessor") or ""),
                str(self.request.get("client_token_accessor") or ""))


@dataclass(slots=True)
class Coverage:
    """How much log the answer rests on (the stale query is only as good as the log)."""

    records: int = 0
    unreadable: list[str] = field(default_factory=list)  # where, for lines that are not records
    first: Record | None = None
    last: Record | None = None

    def add(self, record: Record) -> None:
        self.records += 1
        if self.first is None or record.at < self.first.at:
            self.first = record
        if self.last is None or record.at > self.last.at:
            self.last = record

    def to_json(self) -> dict[str, Any]:
        return {
            "records": self.records,
            "first": self.first.time if self.first else None,
            "last": self.last.time if self.last else None,
            "unreadable": len(self.unreadable),
            "first_unreadable": self.unreadable[0] if self.unreadable else None,
        }


def read(lines: Iterable[Line], coverage: Coverage) -> Iterator[Record]:
    """The audit records among ``lines`` (after any device ``prefix``), counted in ``coverage``."""
    for line in lines:
        record = _record(line)
        if record is None:
            coverage.unreadable.append(line.where)
            continue
        coverage.add(record)
        yield record


def _record(line: Line) -> Record | None:
    parsed = _parse(line.raw)
    if parsed is None or parsed.get("type") not in ("request", "response"):
        return None
    request = parsed.get("request")
    time = parsed.get("time")
    if not isinstance(request, Mapping) or not isinstance(time, str):
        return None
    try:
        at = parse_time(time)
    except ValueError:
        return None
    response = parsed.get("response")
    return Record(
        kind=parsed["type"],
        time=time,
        at=at,
        key=str(request.get("id") or line.where),
        identity=_identity(parsed, response),
        request=request,
        response=response if isinstance(response, Mapping) else {},
        error=str(parsed.get("error") or ""),
    )


def _identity(parsed: Mapping[str, Any], response: Any) -> Mapping[str, Any]:
    """Who the record is about: the caller's token, or for a login (made without a token)
    the identity that logged in, which only the response's ``auth`` names."""
    auth = parsed.get("auth")
    auth = auth if isinstance(auth, Mapping) else {}
    if auth.get("accessor") or auth.get("client_token"):
        return auth
    issued = response.get("auth") if isinstance(response, Mapping) else None
    return issued if isinstance(issued, Mapping) else auth


# --- filters -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Filter:
    """Every given criterion must hold (an empty one is not applied)."""

    entity: str = ""
    alias: str = ""
    accessors: tuple[str, ...] = ()
    path_prefix: str = ""
    since: int | None = None  # Unix nanoseconds, inclusive
    until: int | None = None

    def identifies(self, record: Record) -> bool:
        """The identity and path criteria, which a request's two records share (but for a
        login, whose request record names no one yet)."""
        identity = record.identity
        if self.entity and identity.get("entity_id") != self.entity:
            return False
        if self.alias and not has_alias(identity, self.alias):
            return False
        if self.accessors and not set(self.accessors) & set(record.accessors):
            return False
        return str(record.request.get("path", "")).startswith(self.path_prefix.lstrip("/"))

    def in_window(self, record: Record | Access) -> bool:
        return ((self.since is None or record.at >= self.since)
                and (self.until is None or record.at <= self.until))

    def matches(self, record: Record) -> bool:
        return self.identifies(record) and self.in_window(record)


def has_alias(identity: Mapping[str, Any], name: str) -> bool:
    """Whether ``name`` is the alias name the token was logged in as.

    Vault names a login token ``<mount path, "/" as "-"><name the method gave>``
    ("userpass-alice" for alice on userpass/, "corp-users-alice" on corp/users/) and a
    created token ``token-<display_name>``. ``name`` matches the whole display name, the
    display name after its first "-" ("alice" for "userpass-alice", not for
    "userpass-x-alice"), or the ``username`` or ``role_name`` metadata the login methods
    record (userpass, ldap and the like; approle). Whole values only, never substrings; case
    is ignored, as userpass and ldap ignore it in user names.
    """
    wanted = name.casefold()
    display = str(identity.get("display_name") or "").casefold()
    if wanted in (display, display.partition("-")[2]):
        return True
    metadata = identity.get("metadata")
    if not isinstance(metadata, Mapping):
        return False
    return any(str(metadata.get(key) or "").casefold() == wanted
               for key in ("username", "role_name"))


# --- which requests -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Access:
    """One request as the query reports it."""

    time: str
    operation: str
    path: str
    entity_id: str
    display_name: str
    accessor: str
    status: str  # "ok", "not found", "error: <message>" or "no response recorded"
    request_id: str
    remote_address: str
    at: int = field(compare=False, repr=False)

    def to_json(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in _ACCESS_FIELDS}


_ACCESS_FIELDS = ("time", "operation", "path", "entity_id", "display_name", "accessor", "status",
                  "request_id", "remote_address")


def requests(records: Iterable[Record], query: Filter) -> list[Access]:
    """The requests ``query`` selects, oldest first, one per request id."""
    # The kept record's kind and summary, not the record: a whole log may match.
    chosen: dict[str, tuple[str, Access]] = {}
    for record in records:
        if not query.identifies(record):
            continue
        held = chosen.get(record.key)
        if held is None or (held[0] == "request" and record.kind == "response"):
            chosen[record.key] = (record.kind, _access(record))
    # The window applies to the record kept, so a request whose response falls just past
    # --until is left out rather than reported without its outcome.
    kept = [access for _, access in chosen.values() if query.in_window(access)]
    return sorted(kept, key=lambda access: access.at)


def _access(record: Record) -> Access:
    request, identity = record.request, record.identity
    return Access(
        time=record.time,
        operation=str(request.get("operation", "")),
        path=str(request.get("path", "")),
        entity_id=str(identity.get("entity_id") or ""),
        display_name=str(identity.get("display_name") or ""),
        accessor=next((accessor for accessor in record.accessors if accessor), ""),
        status=_status(record),
        request_id=str(request.get("id") or ""),
        remote_address=str(request.get("remote_address") or ""),
        at=record.at,
    )


def _status(record: Record) -> str:
    if record.error:
        return f"error: {_messages(record.error)}"
    if record.kind == "request":
        return "no response recorded"
    # Vault answers a read or list of nothing with a bare 404: no error, no data.
    response = record.response
    nothing = not response.get("data") and not response.get("wrap_info")
    return "not found" if nothing and record.request.get("operation") in ("read", "list") else "ok"


def _messages(error: str) -> str:
    """The messages of a Go multierror ("1 error occurred:\\n\\t* permission denied\\n\\n")."""
    items = [line[3:] for line in error.splitlines() if line.startswith("\t* ")]
    return "; ".join(items) if items else error.strip()


# --- which secrets to roll ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StaleSecret:
    """A KV secret the identity read whose value no later write replaced."""

    mount: str
    path: str  # as ``bao kv get -mount=<mount> <path>`` names it
    last_read: str
    last_write: str  # "" when the log holds no write of it

    def to_json(self) -> dict[str, str | None]:
        return {"mount": self.mount, "path": self.path, "last_read": self.last_read,
                "last_write": self.last_write or None}


@dataclass(slots=True)
class _Secret:
    read: Record | None = None  # the identity's last read that returned the secret
    write: Record | None = None  # the last successful write, by anyone


def stale_secrets(records: Iterable[Record], reader: Filter) -> list[StaleSecret]:
    """The KV secrets ``reader`` read that no successful write has replaced since.

    Only response records count (they say the operation succeeded). A KV v2 mount is
    recognised by what its responses carry, since Vault's records say ``kv`` for both
    versions: a read or write of ``data/<path>`` answered with version metadata. On such a
    mount only ``data/`` paths are secrets (``metadata/`` and the like are not); on a
    version 1 mount every path is. Writes are create, update and patch of that path.
    """
    secrets: dict[tuple[str, str], _Secret] = {}
    versioned: set[str] = set()
    for record in records:
        place = _kv_place(record)
        if place is None or record.kind != "response" or record.error:
            continue
        if _versioned_answer(record, place[1]):
            versioned.add(place[0])
        operation = record.request.get("operation")
        if operation == "read" and _returned_secret(record) and reader.matches(record):
            entry = secrets.setdefault(place, _Secret())
            entry.read = _later(entry.read, record)
        elif operation in WRITES:
            entry = secrets.setdefault(place, _Secret())
            entry.write = _later(entry.write, record)
    found = [_stale(mount, path, entry, mount in versioned)
             for (mount, path), entry in secrets.items()]
    return sorted((secret for secret in found if secret), key=lambda s: (s.mount, s.path))


def _kv_place(record: Record) -> tuple[str, str] | None:
    """(mount point, path below it) of a request to a KV mount."""
    request = record.request
    mount, path = str(request.get("mount_point") or ""), str(request.get("path") or "")
    if request.get("mount_type") not in KV_TYPES or not mount or not path.startswith(mount):
        return None
    return mount, path.removeprefix(mount)


def _versioned_answer(record: Record, path: str) -> bool:
    """A KV v2 answer: a read's ``metadata.version`` or a write's ``version`` (numbers are
    never HMAC'd, so the shape survives hashing)."""
    data = record.response.get("data")
    if not path.startswith("data/") or not isinstance(data, Mapping):
        return False
    metadata = data.get("metadata")
    version = metadata.get("version") if isinstance(metadata, Mapping) else data.get("version")
    return type(version) is int


def _returned_secret(record: Record) -> bool:
    """A read that handed the secret out (a wrapped one hands out a token for it); a missing
    or deleted secret answers with no data, or v2's ``data: null``."""
    response = record.response
    if response.get("wrap_info"):
        return True
    data = response.get("data")
    if not isinstance(data, Mapping) or not data:
        return False
    if isinstance(data.get("metadata"), Mapping) and "data" in data:
        return bool(data["data"])
    return True


def _later(held: Record | None, record: Record) -> Record:
    return record if held is None or record.at > held.at else held


def _stale(mount: str, path: str, entry: _Secret, versioned: bool) -> StaleSecret | None:
    if versioned:
        if not path.startswith("data/"):
            return None
        path = path.removeprefix("data/")
    read, write = entry.read, entry.write
    if read is None or (write is not None and write.at > read.at):
        return None
    return StaleSecret(mount, path, read.time, write.time if write else "")


# --- output --------------------------------------------------------------------------------


def render_requests(found: Sequence[Access], form: str) -> str:
    if form == "json":
        return jsonio.dumps([access.to_json() for access in found])
    header = ("TIME", "OPERATION", "PATH", "ENTITY", "DISPLAY NAME", "ACCESSOR", "STATUS")
    rows = [(a.time, a.operation, a.path, a.entity_id, a.display_name, a.accessor, a.status)
            for a in found]
    return _table(header, rows)


def render_stale(found: Sequence[StaleSecret], form: str, entity: str) -> str:
    if form == "json":
        return jsonio.dumps([secret.to_json() for secret in found])
    header = ("MOUNT", "PATH", f"LAST READ BY {entity}", "LAST WRITE")
    rows = [(s.mount, s.path, s.last_read, s.last_write or "never seen written") for s in found]
    return _table(header, rows)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    cells = [list(header), *([value or "-" for value in row] for row in rows)]
    widths = [max(len(row[column]) for row in cells) for column in range(len(header))]
    return "\n".join(
        "  ".join(value.ljust(width) for value, width in zip(row, widths, strict=True)).rstrip()
        for row in cells
    )
