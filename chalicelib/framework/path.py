"""Path declarations: a typed pattern, its fields, its operations and an existence check."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from functools import cached_property
from types import MappingProxyType
from typing import TYPE_CHECKING, NamedTuple

from chalicelib.core.operation import Operation
from chalicelib.framework.field import Field, FieldData

if TYPE_CHECKING:
    from chalicelib.core.request import Request, Response

Handler = Callable[["Request", FieldData], "Response | None"]
ExistenceCheck = Callable[["Request", FieldData], bool]
# Storage keys (relative to the mount) a read will need, fetched in the pipeline's first
# round trip together with the token and the cluster state. It is given the path's
# captures over the request body's string fields (unvalidated: a guess that may miss).
Prefetch = Callable[[Mapping[str, str]], Sequence[str]]
# A login path's alias name, read from the request before the login runs, which keys
# the user lockout (OpenBao's alias lookahead); "" when the request names none.
LockoutAlias = Callable[["FieldData"], str]

_PLACEHOLDER = re.compile(r"\{(\w+)(?::(segment|path|any))?\}")
KIND_REGEX = {"segment": r"[^/]+", "path": r".+", "any": r".*"}


def placeholders(pattern: str) -> list[tuple[str, str]]:
    """The (name, kind) of each placeholder in ``pattern``; kind is segment, path or any."""
    return [(m.group(1), m.group(2) or "segment") for m in _PLACEHOLDER.finditer(pattern)]


def substitute(pattern: str, replace: Callable[[str, str], str]) -> str:
    """``pattern`` with each placeholder replaced by ``replace(name, kind)`` (OpenAPI's
    ``{name}``, a help page's route regex)."""
    return _PLACEHOLDER.sub(lambda m: replace(m.group(1), m.group(2) or "segment"), pattern)


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """Turn ``"keys/{name}/rotate"`` into an anchored regex with named groups.

    ``{name}`` is one segment, ``{name:path}`` the non-empty rest, ``{name:any}`` the
    possibly empty rest; a trailing ``/?`` makes the final slash optional.
    """
    optional_slash = pattern.endswith("/?")
    body = pattern[:-2] if optional_slash else pattern
    regex, position = "", 0
    for match in _PLACEHOLDER.finditer(body):
        regex += re.escape(body[position:match.start()])
        regex += f"(?P<{match.group(1)}>{KIND_REGEX[match.group(2) or 'segment']})"
        position = match.end()
    regex += re.escape(body[position:])
    if optional_slash:
        regex += "/?"
    return re.compile(regex + r"\Z")


def crud(read: Handler, write: Handler, delete: Handler) -> dict[Operation, Handler]:
    """The operations of a plain record path: read, create-or-update by one handler, delete."""
    return {
        Operation.READ: read,
        Operation.CREATE: write,
        Operation.UPDATE: write,
        Operation.DELETE: delete,
    }


# Path is a plain class and PathMatch a NamedTuple: both are defined on every cold start,
# where a dataclass costs far more to define (it compiles its generated methods).
class Path:
    """One declared path: its pattern, handlers per operation, fields and checks."""

    def __init__(
        self,
        pattern: str,
        operations: Mapping[Operation, Handler],
        fields: Mapping[str, Field] = MappingProxyType({}),
        exists: ExistenceCheck | None = None,
        prefetch: Prefetch | None = None,
        synopsis: str = "",
        lockout_alias: LockoutAlias | None = None,
        # The long help of `bao path-help` (OpenBao's HelpDescription); the synopsis is
        # its one line.
        description: str = "",
        # Its READ (or LIST) changes something: storage or an outside system (dynamic
        # credentials, a login completed by GET). Writes always count as changes. Audit
        # then accepts the request record before the operation runs, as for a write.
        side_effects: bool = False,
        # Its UPDATE only computes an answer (transit's encrypt with an existing key, a
        # token lookup): audited after it runs, as a READ is, so it must not write
        # (storage/writeguard). Its CREATE (an upsert) still counts as a change.
        computes: bool = False,
    ) -> None:
        self.pattern = pattern
        self.operations = operations
        self.fields = fields
        self.exists = exists
        self.prefetch = prefetch
        self.synopsis = synopsis
        self.lockout_alias = lockout_alias
        self.description = description
        self.side_effects = side_effects
        self.computes = computes

    @cached_property
    def regex(self) -> re.Pattern[str]:
        return compile_pattern(self.pattern)

    @cached_property
    def all_fields(self) -> Mapping[str, Field]:
        # The declared fields, then a plain string field per placeholder not declared.
        names = [name for name, _ in placeholders(self.pattern)]
        undeclared = {name: Field() for name in names if name not in self.fields}
        return MappingProxyType({**self.fields, **undeclared})

    def parse(self, captures: Mapping[str, str], body: Mapping[str, object]) -> FieldData:
        """Body fields overlaid with the path's captured segments (the path wins, as Vault)."""
        return FieldData(self.all_fields, {**body, **captures})


class PathMatch(NamedTuple):
    path: Path
    captures: Mapping[str, str]
