"""The kv secrets engine: version 1 or 2, chosen per mount by its `options.version`.

OpenBao builds a different backend per mount from the same factory. Our registry caches
one backend per type, and `Backend.match` sees only the path, so `KvBackend` defers
routing to `handle`/`resolve_write`, where the request carries its mount, and hands the
request to that version's own, purely declarative backend.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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


def mount_version(mount: MountEntry | None) -> str:
    """"1" or "2" from the mount's options (unset means 1, as OpenBao)."""
    version = ((mount.options or {}) if mount else {}).get("version") or "1"
    if version not in ("1", "2"):
        raise BadRequest(f"unsupported kv version {version!r}")
    return version


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
    )


@cache
def v1_backend() -> Backend:
    return Backend(type_name="kv", paths=path_v1.paths(), description=_DESCRIPTION)


@cache
def v2_backend() -> Backend:
    return Backend(
        type_name="kv",
        description=_DESCRIPTION,
        paths=[
            *path_config.paths(),
            *path_data.paths(),
            *path_metadata.paths(),
            *path_delete.paths(),
            *path_subkeys.paths(),
            _root("metadata", path_metadata.path_metadata_list),
            _root("detailed-metadata", path_metadata.path_detailed_metadata_list),
            Path("{path:any}", dict.fromkeys(_ALL, path_invalid)),  # last: what nothing matched
        ],
    )


def _prefetch_either(captures: Mapping[str, str]) -> Sequence[str]:
    """Before the mount is known, the key a read needs under either version's layout."""
    path = captures.get("path", "")
    keys = list(path_v1.prefetch_v1(captures))
    if path.startswith("data/"):
        keys[:0] = path_data.prefetch_secret({"path": path.removeprefix("data/")})
    return keys


_DEFERRED = Path("{path:any}", {}, prefetch=_prefetch_either)


@dataclass(frozen=True)
class KvBackend(Backend):
    """Routes each request to the backend of its mount's KV version."""

    versions: Mapping[str, Backend] = field(default_factory=dict)
    # The backend lives as long as its container: so does what the gate has learnt.
    upgrades: UpgradeGate = field(default_factory=UpgradeGate)

    def for_mount(self, mount: MountEntry | None) -> Backend:
        """The version's own backend: the pipeline may route with it directly."""
        return self.versions[mount_version(mount)]

    def match(self, relative_path: str) -> PathMatch:
        # The route depends on the mount's version, which only the request knows.
        return PathMatch(_DEFERRED, {"path": relative_path})

    def _route(self, request: Request, match: PathMatch) -> tuple[Backend, PathMatch]:
        inner = self.for_mount(request.mount)
        if inner is self.versions["2"]:
            # A mount tuned from version 1 serves nothing before its v1 data has moved.
            self.upgrades.ensure(view_of(request))
        return inner, inner.match(match.captures["path"])

    def resolve_write(self, request: Request, match: PathMatch) -> Operation:
        inner, inner_match = self._route(request, match)
        return inner.resolve_write(request, inner_match)

    def handle(self, request: Request, match: PathMatch) -> Response | None:
        inner, inner_match = self._route(request, match)
        return inner.handle(request, inner_match)


def backend() -> Backend:
    """The registry's factory for type "kv"."""
    return KvBackend(
        type_name="kv",
        paths=(_DEFERRED,),
        description=_DESCRIPTION,
        versions={"1": v1_backend(), "2": v2_backend()},
    )
