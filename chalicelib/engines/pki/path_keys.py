"""`keys` (LIST), `key/<ref>` (read, update the name, delete) and `config/keys`, as
OpenBao's path_fetch_keys.go and path_manage_keys.go. Private keys never leave here."""

from __future__ import annotations

from cryptography import x509

from chalicelib.core.errors import BadRequest, multierror
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.engines.pki import issuers
from chalicelib.engines.pki import storage as st
from chalicelib.engines.pki.keytypes import load_private_key
from chalicelib.framework import Field, FieldData, FieldType, Path
from chalicelib.framework.storage import PAGE_FIELDS, page, view_of


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


def paths() -> list[Path]:
    return [
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
