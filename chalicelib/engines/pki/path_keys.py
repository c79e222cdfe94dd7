"""`keys` (LIST), `key/<ref>` (read, update the name, delete) and `config/keys`, as
OpenBao's path_fetch_keys.go and path_manage_keys.go. Private keys never leave here."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cryptography import x509

from chalicelib.core.errors import BadRequest, multierror
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.engines.pki import issuers
from chalicelib.engines.pki import storage as st
from chalicelib.engines.pki.keytypes import (
    generate,
    load_private_key,
    private_key_pem,
    validate_key_spec,
)
from chalicelib.engines.pki.pem import pem_blocks
from chalicelib.framework import Field, FieldData, FieldType, Path
from chalicelib.framework.storage import PAGE_FIELDS, page, view_of

if TYPE_CHECKING:
    from chalicelib.storage.view import StorageView


def _fetch(request: Request, reference: str) -> st.KeyEntry:
    try:
        return st.fetch_key(view_of(request), reference)
    except st.RefNotFound as error:
        raise st.RefNotFound(multierror(error.message)) from None


def _key_view(key: st.KeyEntry) -> dict[str, str]:
    public = load_private_key(key.private_key).public_key()
    skid = x509.SubjectKeyIdentifier.from_public_key(public).digest
    return {"key_id": key.id, "key_name": key.name, "key_type": key.private_key_type,
            "subject_key_id": ":".join(f"{b:02x}" for b in skid)}


def path_keys_list(request: Request, data: FieldData) -> Response | None:
    view = view_of(request)
    default = st.read_config(view, st.KEYS_CONFIG)[0].get("default", "")
    found = {k.id: k for k in issuers.all_keys(view)}
    keys = page(sorted(found), data["after"], data["limit"])
    if not keys:
        return None
    info = {k: {"key_name": found[k].name, "is_default": k == default} for k in keys}
    return Response(data={"keys": keys, "key_info": info})


def path_key_read(request: Request, data: FieldData) -> Response:
    return Response(data=_key_view(_fetch(request, data["key_ref"])))


def path_key_write(request: Request, data: FieldData) -> Response:
    """Rename a key (an empty name removes it), as OpenBao's pathUpdateKeyHandler; unlike
    OpenBao, a name another key holds is refused (names are unique index items here)."""
    view = view_of(request)
    key = _fetch(request, data["key_ref"])
    old_name, new_name = key.name, data["key_name"]
    if new_name and not st.valid_name(new_name):
        raise BadRequest("new key name outside of valid character limits")
    if new_name != old_name:
        if new_name and st.name_taken(view, "key", new_name):
            raise BadRequest("key name already in use")
        key.name = new_name
        issuers.write_key(view, key, old_name)
    warnings = [] if new_name else [
        "Name successfully deleted, you will now need to reference this key by it's Id: "
        + key.id
    ]
    return Response(data={"key_id": key.id, "key_name": key.name,
                          "key_type": key.private_key_type}, warnings=warnings)


def path_key_delete(request: Request, data: FieldData) -> Response | None:
    view = view_of(request)
    reference = data["key_ref"]
    try:
        key = st.fetch_key(view, reference)
    except st.RefNotFound:
        return None
    user = issuers.key_in_use(view, key.id)
    if user is not None:
        raise BadRequest(f"Failed to Delete Key.  Key in Use by Issuer: {user.id}")
    if not issuers.delete_key(view, key):
        return None
    return Response(warnings=[
        f"Deleted key {key.id} (via key_ref {reference}); this was configured as the default "
        "key. Operations without an explicit key will not work until a new default is "
        "configured."
    ])


def path_keys_generate(request: Request, data: FieldData) -> Response:
    """keys/generate/internal|exported: a key pair with no certificate (OpenBao's
    pathGenerateKeyHandler); the private key is returned only when exported."""
    kind = request.relative_path.rsplit("/", 1)[-1]
    if kind == "kms":
        raise BadRequest("managed keys (kms) are not supported by this server")
    view = view_of(request)
    name = _new_key_name(view, data["key_name"])
    try:
        spec = validate_key_spec(data["key_type"], data["key_bits"], 0)
        if spec.key_type == "any":
            raise BadRequest("unknown key type any")
    except BadRequest as error:
        raise BadRequest(f"Validation for key_type, key_bits failed: {error.message}") from None
    key = generate(spec)
    stored = issuers.store(view, None, key, key_name=name)
    assert stored.key is not None
    body = {"key_id": stored.key.id, "key_name": stored.key.name, "key_type": spec.key_type}
    if kind == "exported":
        body["private_key"] = private_key_pem(key)
    return Response(data=body)


def path_keys_import(request: Request, data: FieldData) -> Response:
    """keys/import: exactly one private key in pem_bundle (OpenBao's pathImportKeyHandler)."""
    view = view_of(request)
    name = _new_key_name(view, data["key_name"])
    bundle = data["pem_bundle"]
    if len(bundle) < 64:
        raise BadRequest("provided data for import was too short; perhaps a path was passed to "
                         "the API rather than the contents of a PEM file")
    blocks = pem_blocks(bundle)
    if len(blocks) != 1:
        raise BadRequest("only a single key can be present within the pem_bundle for importing")
    try:
        key = load_private_key(blocks[0][1])
    except (ValueError, TypeError) as error:
        raise BadRequest(str(error)) from None
    stored = issuers.store(view, None, key, key_name=name)
    assert stored.key is not None
    warnings = ["Key already imported, use key/ endpoint to update name."] if \
        stored.key_existed else []
    return Response(data={"key_id": stored.key.id, "key_name": stored.key.name,
                          "key_type": stored.key.private_key_type}, warnings=warnings)


def _new_key_name(view: StorageView, name: str) -> str:
    name = st.check_name("key", name)
    if name and st.name_taken(view, "key", name):
        raise BadRequest("key name already in use")
    return name


def path_config_keys_read(request: Request, data: FieldData) -> Response:
    config = st.read_config(view_of(request), st.KEYS_CONFIG)[0]
    return Response(data={"default": config.get("default", "")})


def path_config_keys_write(request: Request, data: FieldData) -> Response:
    view = view_of(request)
    config, version = st.read_config(view, st.KEYS_CONFIG)
    if data.is_set("default"):
        reference = data["default"]
        if not reference:
            raise BadRequest("Invalid key specification; must be non-empty and can't be "
                             "'default'.")
        try:
            config["default"] = st.resolve_key_id(view, reference)
        except st.RefNotFound as error:
            raise BadRequest(f"Error resolving key reference: {error.message}") from None
    view.put_json(st.KEYS_CONFIG, config, expected_version=version)
    return Response(data={"default": config.get("default", "")})


_NEW_KEY_FIELDS = {
    "key_name": Field(FieldType.STRING, "", "A name for the key."),
    "key_type": Field(FieldType.STRING, "rsa", "rsa, ec or ed25519."),
    "key_bits": Field(FieldType.INT, 0, "Key size (0: the type's default)."),
}


def paths() -> list[Path]:
    return [
        *(Path(f"keys/generate/{kind}", {Operation.UPDATE: path_keys_generate},
               fields=_NEW_KEY_FIELDS, synopsis="Generate a key pair.")
          for kind in ("internal", "exported", "kms")),
        Path("keys/import", {Operation.UPDATE: path_keys_import},
             fields={"key_name": _NEW_KEY_FIELDS["key_name"],
                     "pem_bundle": Field(FieldType.STRING, "", "One PEM private key.")},
             synopsis="Import a key pair."),
        Path("keys/?", {Operation.LIST: path_keys_list}, fields=PAGE_FIELDS,
             synopsis="List the mount's keys."),
        Path("key/{key_ref}",
             {Operation.READ: path_key_read, Operation.UPDATE: path_key_write,
              Operation.DELETE: path_key_delete},
             fields={"key_ref": Field(FieldType.STRING, st.DEFAULT_REF, "A key id or name."),
                     "key_name": Field(FieldType.STRING, "", "The key's new name.")},
             synopsis="Read, rename or delete a key."),
        Path("config/keys",
             {Operation.READ: path_config_keys_read, Operation.UPDATE: path_config_keys_write},
             fields={"default": Field(FieldType.STRING, "", "The default key.")},
             synopsis="The default key."),
    ]
