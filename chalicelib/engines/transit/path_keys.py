"""keys/ (list) and keys/:name: create, read (public keys for asymmetric types), delete."""

from __future__ import annotations

from typing import Any

from chalicelib.core.errors import BadRequest
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.engines.transit.derivation import derived_ed25519
from chalicelib.engines.transit.encoding import DecodeError, b64decode, b64encode
from chalicelib.engines.transit.keytypes import key_type
from chalicelib.engines.transit.policy import KeyPolicy, new_policy
from chalicelib.engines.transit.store import KeyStore
from chalicelib.framework import Field, FieldData, FieldType, Path
from chalicelib.framework.storage import page
from chalicelib.storage.physical import ConditionFailed

_CURVE_NAMES = {256: "P-256", 384: "P-384", 521: "P-521"}


def _version_view(policy: KeyPolicy, number: int, context: bytes) -> dict[str, Any]:
    version = policy.versions[number]
    family = policy.type.family
    public = version.public_key
    if family == "ed25519" and policy.derived:
        public = (
            b64encode(derived_ed25519(version.key, context).public_key().public_bytes_raw())
            if context else ""
        )  # fmt: skip
    name = _CURVE_NAMES[policy.type.size] if family == "ecdsa" else policy.type.name
    return {
        "name": name, "public_key": public, "certificate_chain": "",
        "creation_time": version.time,
    }  # fmt: skip


def key_view(policy: KeyPolicy, context: bytes = b"") -> Response:
    """Vault's formatKeyPolicy: the answer of read, create, rotate, config and trim."""
    kind = policy.type
    data: dict[str, Any] = {
        "name": policy.name, "type": kind.name, "derived": policy.derived,
        "deletion_allowed": policy.deletion_allowed,
        "min_available_version": policy.min_available_version,
        "min_decryption_version": policy.min_decryption_version,
        "min_encryption_version": policy.min_encryption_version,
        "latest_version": policy.latest_version, "exportable": policy.exportable,
        "allow_plaintext_backup": policy.allow_plaintext_backup,
        "supports_encryption": kind.encryption, "supports_decryption": kind.encryption,
        "supports_signing": kind.signing, "supports_derivation": kind.derivation,
        "auto_rotate_period": policy.auto_rotate_period, "imported_key": policy.imported,
        "soft_deleted": False,
    }  # fmt: skip
    if kind.family == "hmac":
        data["key_size"] = policy.key_size
    if policy.imported:
        data["imported_key_allow_rotation"] = policy.allow_imported_key_rotation
    for info in ("backup_info", "restore_info"):
        if getattr(policy, info):
            data[info] = getattr(policy, info)
    if policy.derived:
        data["kdf"] = "hkdf_sha256"
        data["convergent_encryption"] = policy.convergent_encryption
        if policy.convergent_encryption:
            data["convergent_encryption_version"] = policy.convergent_version
    if kind.symmetric:
        data["keys"] = {str(n): v.unix_time for n, v in sorted(policy.versions.items())}
    elif kind.asymmetric:
        data["keys"] = {
            str(n): _version_view(policy, n, context) for n in sorted(policy.versions)
        }
    return Response(data=data)


def decode_context(text: str) -> bytes:
    try:
        return b64decode(text) if text else b""
    except DecodeError:
        raise BadRequest("failed to base64-decode context") from None


def create_key(store: KeyStore, policy: KeyPolicy) -> tuple[KeyPolicy, bool]:
    """Store ``policy`` with its first version; (the key, whether we created it)."""
    policy.rotate()
    try:
        return store.create(policy), True
    except ConditionFailed:
        existing = store.read(policy.name)
        if existing is None:
            raise
        return existing, False


def key_exists(request: Request, data: FieldData) -> bool:
    return KeyStore.of(request).load(data["name"]) is not None


def path_keys_write(request: Request, data: FieldData) -> Response:
    store = KeyStore.of(request)
    name = data["name"]
    policy = new_policy(
        name, key_type(data["type"]), derived=data["derived"],
        convergent=data["convergent_encryption"], exportable=data["exportable"],
        allow_plaintext_backup=data["allow_plaintext_backup"],
        auto_rotate_period=data["auto_rotate_period"], key_size=data["key_size"],
    )  # fmt: skip
    existing = store.load(name)
    created = False
    if existing is None:
        existing, created = create_key(store, policy)
    response = key_view(existing)
    if not created:
        response.warnings.append(f"key {name} already existed")
    return response


def path_keys_read(request: Request, data: FieldData) -> Response | None:
    policy = KeyStore.of(request).load(data["name"])
    if policy is None:
        return None
    return key_view(policy, decode_context(data["context"]))


def path_keys_delete(request: Request, data: FieldData) -> None:
    store = KeyStore.of(request)
    name = data["name"]
    policy = store.read(name)
    if policy is None:
        raise BadRequest(f"error deleting policy {name}: could not delete key; not found")
    if not policy.deletion_allowed:
        raise BadRequest(f"error deleting policy {name}: deletion is not allowed for this key")
    store.delete(policy)


def path_keys_list(request: Request, data: FieldData) -> Response | None:
    names = page(KeyStore.of(request).names(), data["after"], data["limit"])
    return Response(data={"keys": names}) if names else None


KEY_FIELDS = {
    "type": Field(FieldType.STRING, "aes256-gcm96", "The type of key to create."),
    "derived": Field(FieldType.BOOL, False, "Derive a key per context (HKDF)."),
    "convergent_encryption": Field(FieldType.BOOL, False, "Deterministic encryption."),
    "exportable": Field(FieldType.BOOL, False, "Allow the key to be exported."),
    "allow_plaintext_backup": Field(FieldType.BOOL, False, "Allow plaintext backups."),
    "auto_rotate_period": Field(FieldType.DURATION, 0, "Rotate automatically this often."),
    "key_size": Field(FieldType.INT, 0, "HMAC key size in bytes."),
}


_KEY_HELP = """\
A write creates the named key, its first version of random material of the given
"type" (aes256-gcm96 unless said otherwise); writing an existing key changes nothing.
"derived", "convergent_encryption" and "exportable" are chosen at creation.

A read shows the key's settings and its versions (with the public keys of an
asymmetric key), never its secret material.

A delete removes the key and every version of it, and is refused unless the key's
config has set deletion_allowed.
"""


def paths() -> list[Path]:
    return [
        Path(
            "keys/?",
            {Operation.LIST: path_keys_list},
            fields={
                "after": Field(FieldType.STRING, "", "List keys after this name."),
                "limit": Field(FieldType.INT, 0, "At most this many keys."),
            },
            synopsis="List the named keys.",
        ),
        Path(
            "keys/{name}",
            {
                Operation.READ: path_keys_read,
                Operation.UPDATE: path_keys_write,
                Operation.DELETE: path_keys_delete,
            },
            fields={
                **KEY_FIELDS,
                "context": Field(FieldType.STRING, "", "Context for derived public keys."),
            },
            synopsis="Manage the named encryption keys.",
            description=_KEY_HELP,
        ),
    ]
