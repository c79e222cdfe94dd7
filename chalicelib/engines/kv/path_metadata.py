"""KV v2 `metadata/:path` (read, list, write, patch, delete-all) and `detailed-metadata/`."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from chalicelib.core import jsonio
from chalicelib.core.errors import BadRequest
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.engines.kv import configs, store
from chalicelib.engines.kv.layout import META_PREFIX, meta_key
from chalicelib.engines.kv.params import check_metadata_cas, custom_metadata
from chalicelib.engines.kv.path_data import secret_exists
from chalicelib.engines.kv.versioning import KvConfig, SecretRecord, now_ns
from chalicelib.framework import Field, FieldData, FieldType, Path
from chalicelib.framework.jsonsecrets import check_writable, folder_of, is_storable
from chalicelib.framework.storage import page, view_of

_SETTINGS = (
    "max_versions", "cas_required", "metadata_cas_required", "delete_version_after",
    "custom_metadata",
)
_IGNORED_FALSE = '"{}" set to false, but is mandated by backend config. This value will be ignored.'


def path_metadata_read(request: Request, data: FieldData) -> Response | None:
    path = data["path"]
    loaded = store.load(view_of(request), path) if is_storable(path) else None
    return None if loaded is None else Response(data=loaded.record.to_api())


def path_metadata_list(request: Request, data: FieldData) -> Response | None:
    """Secret names and "folder/" names below `path`; 404 when there are none (Vault)."""
    return _list(request, data, detailed=False)


def path_detailed_metadata_list(request: Request, data: FieldData) -> Response | None:
    """The same names, with each secret's metadata under key_info (folders get {})."""
    return _list(request, data, detailed=True)


def _list(request: Request, data: FieldData, *, detailed: bool) -> Response | None:
    folder = folder_of(data["path"])
    if folder is None:
        return None
    view = view_of(request)
    keys = page(view.list(META_PREFIX + folder), data["after"], data["limit"])
    if not keys:
        return None
    if not detailed:
        return Response(data={"keys": keys})
    # One BatchGetItem for every secret listed.
    found = view.get_many([meta_key(folder + key) for key in keys if not key.endswith("/")])
    info: dict[str, Any] = {key: {} for key in keys}
    for entry in found.values():
        name = entry.key[len(META_PREFIX + folder) :]
        info[name] = SecretRecord.from_storage(jsonio.loads(entry.value)).to_api()
    return Response(data={"keys": keys, "key_info": info})


def _checked_settings(data: FieldData, *, patch: bool) -> dict[str, Any]:
    """The settings given, validated before anything is read."""
    given = {name: data[name] for name in _SETTINGS if data.is_set(name)}
    if given.get("max_versions", 0) < 0:
        raise BadRequest("max_versions cannot be negative")
    if given.get("delete_version_after", 0) < 0:
        raise BadRequest(
            'error converting input for field "delete_version_after": cannot provide '
            f"negative value '{given['delete_version_after']}'"
        )
    if "custom_metadata" in given:
        given["custom_metadata"] = custom_metadata(given["custom_metadata"], patch=patch)
    return given


def _warnings(given: dict[str, Any], config: KvConfig) -> list[str]:
    """OpenBao warns when a secret turns off what the mount config mandates."""
    warnings = []
    for name in ("cas_required", "metadata_cas_required"):
        if name in given and not given[name] and getattr(config, name):
            warnings.append(_IGNORED_FALSE.format(name))
    return warnings


def _apply(record: SecretRecord, given: dict[str, Any], now: int) -> None:
    for name in ("max_versions", "cas_required", "metadata_cas_required", "delete_version_after"):
        if name in given:
            setattr(record, name, given[name])
    if "custom_metadata" in given:
        merged = {**(record.custom_metadata or {}), **given["custom_metadata"]}
        kept = {key: value for key, value in merged.items() if value is not None}
        record.custom_metadata = kept or None  # OpenBao shows an empty map as null
    record.updated_ns = now


def _metadata_cas(data: FieldData) -> int | None:
    return data["metadata_cas"] if data.is_set("metadata_cas") else None


def path_metadata_write(request: Request, data: FieldData) -> Response | None:
    """Create or replace the given settings; custom_metadata is replaced as a whole."""
    return _change_settings(request, data, patch=False)


def path_metadata_patch(request: Request, data: FieldData) -> Response | None:
    """Change only the settings given of an existing secret; custom_metadata merges (null
    removes a key)."""
    return _change_settings(request, data, patch=True)


def _change_settings(request: Request, data: FieldData, *, patch: bool) -> Response | None:
    path = check_writable(data["path"])
    given = _checked_settings(data, patch=patch)
    if not given:
        return None
    view = view_of(request)
    config = configs.mount_config(view)

    def attempt() -> Response | None:
        loaded = store.load(view, path)
        if loaded is None and patch:
            return Response(status=HTTPStatus.NOT_FOUND)
        check_metadata_cas(_metadata_cas(data), config, loaded.record if loaded else None)
        now = now_ns()
        record = loaded.record if loaded else SecretRecord(created_ns=now)
        if "custom_metadata" in given and not patch:
            record.custom_metadata = None
        _apply(record, given, now)
        record.metadata_version += 1
        store.commit(view, path, loaded, record)
        warnings = _warnings(given, config)
        return Response(warnings=warnings) if warnings else None

    return store.retrying(attempt)


def path_metadata_delete(request: Request, data: FieldData) -> None:
    """Delete the secret: metadata and every version, for good."""
    path, view = data["path"], view_of(request)
    if not is_storable(path):
        return

    def attempt() -> None:
        loaded = store.load(view, path)
        if loaded is not None:
            store.delete_secret(view, path, loaded)

    store.retrying(attempt)


LIST_FIELDS = {
    "after": Field(FieldType.STRING, "", "List entries after this one (paging)."),
    "limit": Field(FieldType.INT, 0, "At most this many entries (0: all)."),
}
_FIELDS = {
    **LIST_FIELDS,
    "max_versions": Field(FieldType.INT, 0, "Versions to keep (0: the mount's)."),
    "cas_required": Field(FieldType.BOOL, False, "Require cas on writes of this secret."),
    "metadata_cas_required": Field(FieldType.BOOL, False, "Require metadata_cas here."),
    "delete_version_after": Field(FieldType.DURATION, 0, "Delete versions this long after."),
    "custom_metadata": Field(FieldType.MAP, dict, "Up to 64 string pairs about the secret."),
    "metadata_cas": Field(FieldType.INT, 0, "The metadata version this write expects."),
}


def paths() -> list[Path]:
    return [
        Path(
            "metadata/{path:any}",
            {
                Operation.LIST: path_metadata_list,
                Operation.READ: path_metadata_read,
                Operation.CREATE: path_metadata_write,
                Operation.UPDATE: path_metadata_write,
                Operation.PATCH: path_metadata_patch,
                Operation.DELETE: path_metadata_delete,
            },
            fields=_FIELDS,
            exists=secret_exists,
            synopsis="Allows interaction with key metadata and settings in the KV store.",
        ),
        Path(
            "detailed-metadata/{path:any}",
            {Operation.LIST: path_detailed_metadata_list},
            fields=LIST_FIELDS,
            synopsis="List keys with their metadata in the KV store.",
        ),
    ]
