"""keys/:name/config: version floors, deletion, export and backup permissions, rotation."""

from __future__ import annotations

from collections.abc import Callable

from chalicelib.core.errors import BadRequest
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.engines.transit.path_keys import key_view
from chalicelib.engines.transit.policy import KeyPolicy, check_auto_rotate_period
from chalicelib.engines.transit.store import KeyStore
from chalicelib.framework import Field, FieldData, FieldType, Path

_ZERO_WARNING = (
    "since Vault 0.3 (prior to the OpenBao fork), transit key numbering starts at 1; "
    "forcing minimum to 1"
)


def _set_versions(policy: KeyPolicy, data: FieldData, warnings: list[str]) -> None:
    if data.is_set("min_decryption_version"):
        floor = data["min_decryption_version"]
        if floor < 0:
            raise BadRequest("min decryption version cannot be negative")
        if floor == 0:
            floor = 1
            warnings.append(_ZERO_WARNING)
        if floor != policy.min_decryption_version and floor > policy.latest_version:
            raise BadRequest(
                f"cannot set min decryption version of {floor}, latest key version is "
                f"{policy.latest_version}"
            )
        policy.min_decryption_version = floor
    if data.is_set("min_encryption_version"):
        floor = data["min_encryption_version"]
        if floor < 0:
            raise BadRequest("min encryption version cannot be negative")
        if floor != policy.min_encryption_version and floor > policy.latest_version:
            raise BadRequest(
                f"cannot set min encryption version of {floor}, latest key version is "
                f"{policy.latest_version}"
            )
        policy.min_encryption_version = floor
    if 0 < policy.min_encryption_version < policy.min_decryption_version:
        raise BadRequest(
            "cannot set min encryption/decryption values; min encryption version of "
            f"{policy.min_encryption_version} must be greater than or equal to min decryption "
            f"version of {policy.min_decryption_version}"
        )
    if policy.min_available_version > policy.min_encryption_version:
        raise BadRequest("min encryption version should not be less than min available version")
    if policy.min_available_version > policy.min_decryption_version:
        raise BadRequest("min decryption version should not be less then min available version")


def _configure(data: FieldData, warnings: list[str]) -> Callable[[KeyPolicy], None]:
    def change(policy: KeyPolicy) -> None:
        _set_versions(policy, data, warnings)
        if data.is_set("deletion_allowed"):
            policy.deletion_allowed = data["deletion_allowed"]
        # Once allowed, export and plaintext backup cannot be taken back (as Vault).
        policy.exportable = policy.exportable or data["exportable"]
        policy.allow_plaintext_backup = policy.allow_plaintext_backup or (
            data["allow_plaintext_backup"]
        )
        if data.is_set("auto_rotate_period"):
            check_auto_rotate_period(data["auto_rotate_period"])
            policy.auto_rotate_period = data["auto_rotate_period"]

    return change


def path_keys_config_write(request: Request, data: FieldData) -> Response:
    warnings: list[str] = []
    policy = KeyStore.of(request).update(data["name"], _configure(data, warnings))
    if policy is None:
        raise BadRequest("no such key")
    response = key_view(policy)
    response.warnings.extend(warnings)
    return response


def paths() -> list[Path]:
    return [
        Path(
            "keys/{name}/config",
            {Operation.UPDATE: path_keys_config_write},
            fields={
                "min_decryption_version": Field(FieldType.INT, 0, "Oldest decryptable version."),
                "min_encryption_version": Field(FieldType.INT, 0, "Oldest usable version."),
                "deletion_allowed": Field(FieldType.BOOL, False, "Allow deleting the key."),
                "exportable": Field(FieldType.BOOL, False, "Allow exporting the key."),
                "allow_plaintext_backup": Field(FieldType.BOOL, False, "Allow backups."),
                "auto_rotate_period": Field(FieldType.DURATION, 0, "Automatic rotation period."),
            },
            synopsis="Configure a named encryption key.",
        )
    ]
