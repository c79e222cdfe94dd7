"""The kv secrets engine: version 1 or 2, chosen per mount by its `options.version`.

OpenBao builds a different backend per mount from the same factory. Our registry caches
one backend per type, so `KvBackend` answers `for_mount` with that version's own
declarative backend, which the pipeline routes with (and prefetches for) directly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from http import HTTPStatus

from chalicelib.core.errors import BadRequest
from chalicelib.core.mounts import MountEntry
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.engines.kv import (
    path_config,
    path_data,
    path_delete,
    path_metadata,
    path_subkeys,
    path_v1,
)
from chalicelib.engines.kv.upgrade import UpgradeGate
from chalicelib.framework import Backend, Field, FieldData, FieldType, Path, PathMatch
from chalicelib.framework.path import Handler
from chalicelib.framework.storage import view_of

_DESCRIPTION = "key/value secret storage"
_ROOTS = frozenset({"metadata", "data", "delete", "undelete", "destroy"})
_CLI_VERBS = {
    Operation.CREATE: "put", Operation.UPDATE: "put", Operation.PATCH: "patch",
    Operation.READ: "get", Operation.LIST: "list", Operation.DELETE: "delete",
}


def _version_option(mount: MountEntry | None) -> str:
    """The mount's `options.version` (unset means 1, as OpenBao)."""
    return ((mount.options or {}) if mount else {}).get("version") or "1"


def _unsupported(version: str) -> BadRequest:
    return BadRequest(f"unsupported kv version {version!r}")


def path_invalid(request: Request, data: FieldData) -> Response:
    """v2 paths that name no endpoint: 404 with OpenBao's hint for the CLI user."""
    if request.relative_path in _ROOTS:
        warning = "Non-listing operations on the root of a K/V v2 mount are not supported."
    else:
        warning = (
            "Invalid path for a versioned K/V secrets engine. See the API docs for the "
            "appropriate API endpoints to use. If using the OpenBao CLI, use "
            f"'bao kv {_CLI_VERBS[request.operation]}' for this operation."
        )
    return Response(status=HTTPStatus.NOT_FOUND, warnings=[warning])


_ALL = (
    Operation.READ, Operation.CREATE, Operation.UPDATE, Operation.PATCH, Operation.DELETE,
    Operation.LIST,
)


def _root(name: str, lister: Handler) -> Path:
    """LIST of "metadata" without its slash lists the mount's root, as Vault's HTTP layer
    appends the slash; any other operation there gets the invalid-path answer."""
    return Path(
        name,
        {**dict.fromkeys(_ALL, path_invalid), Operation.LIST: lister},
        fields={"path": Field(FieldType.STRING, ""), **path_metadata.LIST_FIELDS},
        synopsis=f"List the mount's top-level keys ({name} with no key path).",
    )


@cache
def v1_backend() -> Backend:
    return Backend(type_name="kv", paths=path_v1.paths(), description=_DESCRIPTION)


def _v2_paths() -> list[Path]:
    return [
        *path_config.paths(),
        *path_data.paths(),
        *path_metadata.paths(),
        *path_delete.paths(),
        *path_subkeys.paths(),
        _root("metadata", path_metadata.path_metadata_list),
        _root("detailed-metadata", path_metadata.path_detailed_metadata_list),
        # Last: what nothing else matched.
        Path(
            "{path:any}",
            dict.fromkeys(_ALL, path_invalid),
            synopsis="Any path outside the KV v2 API: refused as invalid.",
        ),
    ]


@dataclass(frozen=True)
class V2Backend(Backend):
    """Version 2: before anything, a mount tuned from version 1 finishes moving its data."""

    # The backend lives as long as its container: so does what the gate has learnt.
    upgrades: UpgradeGate = field(default_factory=UpgradeGate)

    def resolve_write(self, request: Request, match: PathMatch) -> Operation:
        self.upgrades.ensure(view_of(request))
        return super().resolve_write(request, match)

    def handle(self, request: Request, match: PathMatch) -> Response | None:
        self.upgrades.ensure(view_of(request))
        return super().handle(request, match)


def _refuse_version(request: Request, data: FieldData) -> Response:
    raise _unsupported(_version_option(request.mount))


@dataclass(frozen=True)
class KvBackend(Backend):
    """Selects the backend of each mount's KV version; its own path only refuses."""

    versions: Mapping[str, Backend] = field(default_factory=dict)

    def for_mount(self, mount: MountEntry) -> Backend:
        # Enable and tune accept versions 1 and 2 only. Any other stored version routes
        # here, where every request is refused on it once the token has been checked.
        return self.versions.get(_version_option(mount), self)


def backend() -> Backend:
    """The registry's factory for type "kv" (one per container)."""
    v2 = V2Backend(type_name="kv", description=_DESCRIPTION, paths=_v2_paths())
    return KvBackend(
        type_name="kv",
        paths=(Path("{path:any}", dict.fromkeys(_ALL, _refuse_version)),),
        description=_DESCRIPTION,
        versions={"1": v1_backend(), "2": v2},
    )
