"""KV v2 `delete/:path`, `undelete/:path` and `destroy/:path`: versions by number."""

from __future__ import annotations

from collections.abc import Sequence

from chalicelib.core.errors import BadRequest
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request
from chalicelib.engines.kv import configs, store
from chalicelib.engines.kv.params import parse_versions
from chalicelib.engines.kv.versioning import now_ns
from chalicelib.framework import Field, FieldData, FieldType, Path
from chalicelib.framework.jsonsecrets import check_writable
from chalicelib.framework.path import Handler
from chalicelib.framework.storage import view_of
from chalicelib.storage.view import StorageView


def soft_delete(view: StorageView, path: str, numbers: Sequence[int] | None) -> None:
    """Mark versions deleted now (None: the latest); a missing secret is not an error."""

    def attempt() -> None:
        loaded = store.load(view, path)
        if loaded is None:
            return
        record = loaded.record
        targets = [record.current_version] if numbers is None else list(numbers)
        if record.delete_versions(targets, now_ns()):
            store.commit(view, path, loaded, record)

    store.retrying(attempt)


def _versions(data: FieldData, message: str) -> list[int]:
    numbers = parse_versions(data["versions"]) if data.is_set("versions") else []
    if not numbers:
        raise BadRequest(message)
    return numbers


def path_delete_write(request: Request, data: FieldData) -> None:
    path = check_writable(data["path"])
    soft_delete(view_of(request), path, _versions(data, "No version number provided"))


def path_undelete_write(request: Request, data: FieldData) -> None:
    path, view = check_writable(data["path"]), view_of(request)
    numbers = _versions(data, "No version number provided")
    config = configs.mount_config(view)

    def attempt() -> None:
        loaded = store.load(view, path)
        if loaded is not None and loaded.record.undelete_versions(numbers, now_ns(), config):
            store.commit(view, path, loaded, loaded.record)

    store.retrying(attempt)


def path_destroy_write(request: Request, data: FieldData) -> None:
    """Destroyed versions keep their metadata (destroyed: true); their data is gone."""
    path, view = check_writable(data["path"]), view_of(request)
    numbers = _versions(data, "no version number provided")

    def attempt() -> None:
        loaded = store.load(view, path)
        if loaded is not None:
            store.destroy_versions(view, path, loaded, numbers)

    store.retrying(attempt)


def _versions_path(prefix: str, handler: Handler, what: str) -> Path:
    return Path(
        prefix + "/{path:any}",
        {Operation.UPDATE: handler},
        fields={"versions": Field(FieldType.ANY, None, f"The versions to {what}.")},
        synopsis=f"The versions to {what} in the KV store.",
    )


def paths() -> list[Path]:
    return [
        _versions_path("delete", path_delete_write, "mark deleted (undelete restores them)"),
        _versions_path("undelete", path_undelete_write, "restore"),
        _versions_path("destroy", path_destroy_write, "destroy permanently"),
    ]
