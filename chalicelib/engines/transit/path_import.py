"""BYOK: wrapping_key, keys/:name/import and keys/:name/import_version."""

from __future__ import annotations

from chalicelib.core.errors import BadRequest
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.engines.transit import material
from chalicelib.engines.transit.keytypes import key_type
from chalicelib.engines.transit.material import KeyVersion
from chalicelib.engines.transit.path_keys import KEY_FIELDS
from chalicelib.engines.transit.policy import KeyPolicy, new_policy
from chalicelib.engines.transit.store import KeyStore
from chalicelib.engines.transit.wrapping import hash_function, unwrap, wrapping_key
from chalicelib.framework import Field, FieldData, FieldType, Path
from chalicelib.storage.physical import ConditionFailed


def path_wrapping_key_read(request: Request, data: FieldData) -> Response:
    return Response(data={"public_key": wrapping_key(KeyStore.of(request)).public_key})


def _material(store: KeyStore, data: FieldData, policy: KeyPolicy) -> KeyVersion:
    """The version the request carries: a wrapped private key or a PEM public key."""
    has_ciphertext, has_public = data.is_set("ciphertext"), data.is_set("public_key")
    if has_ciphertext and has_public:
        raise BadRequest(
            "only one of the following fields, ciphertext and public_key, can be set"
        )
    if has_ciphertext:
        algorithm = hash_function(data["hash_function"])
        return material.imported(policy.type, unwrap(store, data["ciphertext"], algorithm))
    if not policy.type.asymmetric:
        raise BadRequest("provided type does not support public_key import")
    if policy.type.family == "ed25519" and policy.derived:
        raise BadRequest("unable to import only public key for derived Ed25519 key")
    return material.imported_public(policy.type, data["public_key"])


def path_import_write(request: Request, data: FieldData) -> None:
    if data.is_set("convergent_encryption"):
        raise BadRequest("import cannot be used on keys with convergent encryption enabled")
    if data["auto_rotate_period"] > 0 and not data["allow_rotation"]:
        raise BadRequest("allow_rotation must be set to true if auto-rotation is enabled")
    store = KeyStore.of(request)
    name = data["name"]
    if store.load(name) is not None:
        raise BadRequest(
            "the import path cannot be used with an existing key; use import-version to rotate "
            "an existing imported key"
        )
    policy = new_policy(
        name, key_type(data["type"], unknown="unknown key type: {}"), derived=data["derived"],
        exportable=data["exportable"], allow_plaintext_backup=data["allow_plaintext_backup"],
        auto_rotate_period=data["auto_rotate_period"],
    )  # fmt: skip
    policy.imported = True
    policy.allow_imported_key_rotation = data["allow_rotation"]
    version = _material(store, data, policy)
    if policy.type.family == "hmac":
        policy.key_size = len(version.key)
    policy.add_version(version)
    try:
        store.create(policy)
    except ConditionFailed:
        raise BadRequest(f'key "{name}" already exists') from None


def path_import_version_write(request: Request, data: FieldData) -> None:
    store = KeyStore.of(request)
    name = data["name"]

    def add(policy: KeyPolicy) -> None:
        if not policy.imported:
            raise BadRequest("the import_version endpoint can only be used with an imported key")
        if policy.convergent_encryption:
            raise BadRequest(
                "import_version cannot be used on keys with convergent encryption enabled"
            )
        incoming = _material(store, data, policy)
        if data.is_set("version"):
            _complete(policy, data["version"], incoming)
            return
        latest = policy.versions.get(policy.latest_version)
        # A private key for a public-only latest version completes it (Vault's rule).
        if latest is not None and not latest.has_private and incoming.has_private and (
            incoming.public_key.strip() == latest.public_key.strip()
        ):
            policy.versions[policy.latest_version] = incoming
            return
        policy.add_version(incoming)

    if store.update(name, add) is None:
        raise BadRequest(
            f"no key found with name {name}; to import a new key, use the import/ endpoint"
        )


def _complete(policy: KeyPolicy, number: int, incoming: KeyVersion) -> None:
    current = policy.version(number)
    if not policy.type.asymmetric:
        raise BadRequest("provided type does not support importing key versions")
    if current.has_private:
        raise BadRequest("private key imported, key version cannot be updated")
    if not incoming.has_private:
        raise BadRequest("cannot add a public key to a key version that already has a public "
                         "key set")
    if incoming.public_key.strip() != current.public_key.strip():
        raise BadRequest("cannot import key, key pair does not match")
    incoming.time = current.time
    policy.versions[number] = incoming


_MATERIAL_FIELDS = {
    "ciphertext": Field(FieldType.STRING, "", "The wrapped key (base64)."),
    "public_key": Field(FieldType.STRING, "", "A PEM public key, instead of ciphertext."),
    "hash_function": Field(FieldType.STRING, "SHA256", "OAEP hash of the wrapping."),
}


def paths() -> list[Path]:
    return [
        Path("wrapping_key", {Operation.READ: path_wrapping_key_read},
             synopsis="The public key that wraps keys for import.",
             side_effects=True),  # the first read creates the key
        Path(
            "keys/{name}/import",
            {Operation.UPDATE: path_import_write},
            fields={
                **KEY_FIELDS, **_MATERIAL_FIELDS,
                "allow_rotation": Field(FieldType.BOOL, False, "Allow rotating the key here."),
            },
            synopsis="Import an externally generated key as a new key.",
        ),
        Path(
            "keys/{name}/import_version",
            {Operation.UPDATE: path_import_version_write},
            fields={
                **_MATERIAL_FIELDS,
                "version": Field(FieldType.INT, 0, "The public-only version to complete."),
            },
            synopsis="Import a new version of an imported key.",
        ),
    ]
