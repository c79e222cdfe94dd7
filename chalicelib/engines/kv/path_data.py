"""KV v2 `data/:path`: read a version, write or patch a new one, soft-delete the latest."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from http import HTTPStatus
from typing import Any

from chalicelib.core.errors import BadRequest
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.engines.kv import configs, store
from chalicelib.engines.kv.layout import meta_key
from chalicelib.engines.kv.params import check_cas
from chalicelib.engines.kv.path_delete import soft_delete
from chalicelib.engines.kv.versioning import SecretRecord, now_ns
from chalicelib.framework import Field, FieldData, FieldType, Path
from chalicelib.framework.jsonsecrets import check_writable, is_storable
from chalicelib.framework.storage import view_of


def secret_exists(request: Request, data: FieldData) -> bool:
    """Existence check (ACL create vs update) shared by data/ and metadata/."""
    path = data["path"]
    return is_storable(path) and store.load(view_of(request), path) is not None


def prefetch_secret(captures: Mapping[str, str]) -> Sequence[str]:
    """The one item a read of the latest version needs, for the pipeline's first round trip."""
    path = captures.get("path", "")
    return [meta_key(path)] if is_storable(path) else []


def version_response(found: store.VersionRead, key: str, render: Callable[[Any], Any]) -> Response:
    """A version read: 404 with the version's metadata when it is deleted or destroyed."""
    metadata = found.record.version_view(found.number)
    if not found.record.versions[found.number].is_readable(now_ns()):
        return Response(status=HTTPStatus.NOT_FOUND, data={key: None, "metadata": metadata})
    return Response(data={key: render(found.data), "metadata": metadata})


def path_data_read(request: Request, data: FieldData) -> Response | None:
    path = data["path"]
    if not is_storable(path):
        return None
    found = store.read_version(view_of(request), path, data["version"])
    return None if found is None else version_response(found, "data", lambda value: value)


def _secret_data(data: FieldData, *, patch: bool = False) -> Any:
    """The `data` object (null is allowed, as OpenBao); anything else is refused unseen."""
    if not data.is_set("data"):
        raise BadRequest("no data provided")
    value = data["data"]
    if value is not None and not isinstance(value, dict):
        raise BadRequest(_not_a_map(value, patch=patch))
    return value


def _not_a_map(value: Any, *, patch: bool) -> str:
    """OpenBao's decoding error, which names only the JSON type, never the value."""
    where, sample = ("'[0]'", value[0]) if isinstance(value, list) and value else ("''", value)
    go_type = (
        "bool" if isinstance(sample, bool)
        else "json.Number" if isinstance(sample, int | float)
        else "string" if isinstance(sample, str)
        else "map[string]interface {}" if isinstance(sample, dict)
        else "[]interface {}"
    )
    message = (
        f'error converting input for field "data": {where} expected type '
        f"'map[string]interface {{}}', got unconvertible type '{go_type}'"
    )
    # PATCH validates through the framework first, which prefixes its own label.
    return f"Field validation failed: {message}" if patch else message


def path_data_write(request: Request, data: FieldData) -> Response:
    """A new version; cas in options guards it (see params.check_cas)."""
    path = check_writable(data["path"])
    payload = _secret_data(data)
    view = view_of(request)
    config = configs.mount_config(view)

    def attempt() -> SecretRecord:
        loaded = store.load(view, path)
        check_cas(data["options"], config, loaded.record if loaded else SecretRecord())
        return store.write_version(view, path, loaded, config, payload, now_ns())

    record = store.retrying(attempt)
    return Response(data=record.version_view(record.current_version))


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396 JSON merge patch (what OpenBao applies to the current version's data)."""
    if not isinstance(patch, dict):
        return patch
    merged = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = merge_patch(merged.get(key), value)
    return merged


def path_data_patch(request: Request, data: FieldData) -> Response:
    """A new version from the current one plus a merge patch; the secret must be readable."""
    path = check_writable(data["path"])
    patch = _secret_data(data, patch=True)
    view = view_of(request)
    config = configs.mount_config(view)

    def attempt() -> Response:
        loaded = store.load(view, path)
        if loaded is None:
            return Response(status=HTTPStatus.NOT_FOUND)
        record = loaded.record
        check_cas(data["options"], config, record)
        current = record.versions.get(record.current_version)
        if current is None:
            return Response(status=HTTPStatus.NOT_FOUND)
        if not current.is_readable(now_ns()):
            # Unlike a read, OpenBao puts the version's metadata directly in data here.
            view_data = record.version_view(record.current_version)
            return Response(status=HTTPStatus.NOT_FOUND, data=view_data)
        merged = merge_patch(record.data, patch)
        store.write_version(view, path, loaded, config, merged, now_ns())
        return Response(data=record.version_view(record.current_version))

    return store.retrying(attempt)


def path_data_delete(request: Request, data: FieldData) -> None:
    """Soft-delete the latest version (undelete can bring it back)."""
    path = data["path"]
    if is_storable(path):
        soft_delete(view_of(request), path, None)


_DATA_HELP = """\
A read returns the latest version of the secret at this path, or the one named by
"version", with its metadata. A deleted or destroyed version reads as 404, with the
metadata still given.

A write stores "data" as a new version. With "options": {"cas": N}, the write is done
only if the secret's current version is N (0: only if the secret does not exist yet).
The oldest versions go once there are more than max_versions.

A patch merges "data" into the current version and stores the result as a new version;
the secret must exist and its current version must be neither deleted nor destroyed.

A delete marks the latest version deleted: its data is kept until it is destroyed, and
undelete/ brings it back.
"""


def paths() -> list[Path]:
    return [
        Path(
            "data/{path:any}",
            {
                Operation.READ: path_data_read,
                Operation.CREATE: path_data_write,
                Operation.UPDATE: path_data_write,
                Operation.PATCH: path_data_patch,
                Operation.DELETE: path_data_delete,
            },
            fields={
                "version": Field(FieldType.INT, 0, "The version to read (latest if 0)."),
                "options": Field(FieldType.MAP, dict, "Write options: cas."),
                "data": Field(FieldType.ANY, None, "The secret's key-value pairs."),
            },
            exists=secret_exists,
            prefetch=prefetch_secret,
            synopsis="Write, Patch, Read, and Delete data in the Key-Value Store.",
            description=_DATA_HELP,
        )
    ]
