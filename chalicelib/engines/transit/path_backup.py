"""backup/:name and restore[/:name]: a key with all its versions as one base64 blob.

The blob is our own (base64 of JSON: the key's settings and its versions); Vault's holds
Go's encoding of its structures, so a backup moves between Lambdavault mounts, and keys
move to and from Vault through export and BYOK import instead.
"""

from __future__ import annotations

from dataclasses import replace

from chalicelib.core import jsonio
from chalicelib.core.errors import BadRequest
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.engines.transit.encoding import b64decode, b64encode
from chalicelib.engines.transit.material import KeyVersion, now_rfc3339
from chalicelib.engines.transit.policy import KeyPolicy
from chalicelib.engines.transit.store import KeyStore
from chalicelib.framework import Field, FieldData, FieldType, Path
from chalicelib.storage.physical import ConditionFailed


def _mark_backup(policy: KeyPolicy) -> None:
    if not policy.exportable:
        raise BadRequest("exporting is disallowed on the policy")
    if not policy.allow_plaintext_backup:
        raise BadRequest("plaintext backup is disallowed on the policy")
    policy.backup_info = {"time": now_rfc3339(), "version": policy.latest_version}


def path_backup_read(request: Request, data: FieldData) -> Response:
    policy = KeyStore.of(request).update(data["name"], _mark_backup)
    if policy is None:
        raise BadRequest(f'key "{data["name"]}" not found')
    blob = {
        "policy": policy.settings(),
        "versions": {str(n): v.to_storage() for n, v in policy.versions.items()},
    }
    return Response(data={"backup": b64encode(jsonio.dumpb(blob))})


def _parse(backup: str) -> KeyPolicy:
    try:
        blob = jsonio.loads(b64decode(backup))
        versions = {int(n): KeyVersion.from_storage(v) for n, v in blob["versions"].items()}
        return KeyPolicy.from_settings(blob["policy"], versions)
    except (ValueError, KeyError, TypeError, AttributeError):  # DecodeErrors are ValueErrors
        raise BadRequest("failed to restore the policy: invalid backup") from None


def path_restore_write(request: Request, data: FieldData) -> None:
    if not data["backup"]:
        raise BadRequest("'backup' must be supplied")
    restored = _parse(data["backup"])
    name = data.raw.get("name") or restored.name
    if "/" in name or not name:
        raise BadRequest("key names cannot be paths")
    store = KeyStore.of(request)
    existing = store.read(name)
    if existing is not None and not data["force"]:
        raise BadRequest(f'key "{name}" already exists')
    restored = replace(
        restored, name=name, stored_as=existing.stored_as if existing else 0,
        restore_info={"time": now_rfc3339(), "version": restored.latest_version},
    )  # fmt: skip
    try:
        store.save(restored, previous=existing)
    except ConditionFailed:
        raise BadRequest(f'key "{name}" was changed while being restored; retry') from None


def paths() -> list[Path]:
    restore_fields = {
        "backup": Field(FieldType.STRING, "", "The blob backup/:name returned."),
        "force": Field(FieldType.BOOL, False, "Replace an existing key of that name."),
    }
    restoring = {Operation.UPDATE: path_restore_write}
    return [
        Path("backup/{name}", {Operation.READ: path_backup_read}, synopsis="Back up a key.",
             side_effects=True),  # marks the key as backed up
        Path("restore", restoring, fields=restore_fields, synopsis="Restore a key."),
        Path(
            "restore/{name}",
            restoring,
            fields=restore_fields,
            synopsis="Restore a key under a new name.",
        ),
    ]
