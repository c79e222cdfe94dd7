"""cubbyhole: each token's own private key/value space, gone when the token is revoked.

A token's entries live in its cubbyhole folder inside the cubbyhole mount's view. The
token store owns that mapping (`chalicelib.tokens.cubbyhole.cubbyhole_folder`: a random
per-token id, not the accessor, which parents and audit logs can see) and deletes the
folder on revocation and tidy. The folder comes from the caller's token only, never from
the request, so no path reaches another token's entries (keys are not path-resolved).
"""

from __future__ import annotations

from chalicelib.core.errors import BadRequest, PermissionDenied
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.framework import Backend, FieldData, Path, jsonsecrets
from chalicelib.framework.storage import view_of
from chalicelib.storage.view import StorageView
from chalicelib.tokens.cubbyhole import cubbyhole_folder
from chalicelib.tokens.entry import TokenEntry


def _own_folder(request: Request) -> str:
    if request.token is None:
        raise PermissionDenied()
    return cubbyhole_folder(request.token)  # batch tokens have none: 400, as Vault


def path_cubbyhole_read(request: Request, data: FieldData) -> Response | None:
    if not data["path"]:
        raise BadRequest("missing path")
    secret = jsonsecrets.read_secret(view_of(request), _own_folder(request), data["path"])
    # A cubbyhole read never carries a lease hint, even with a ttl key (as Vault).
    return None if secret is None else Response(data=secret)


def path_cubbyhole_write(request: Request, data: FieldData) -> None:
    jsonsecrets.write_secret(view_of(request), _own_folder(request), data["path"], request.data)


def path_cubbyhole_delete(request: Request, data: FieldData) -> None:
    jsonsecrets.delete_secret(view_of(request), _own_folder(request), data["path"])


def path_cubbyhole_list(request: Request, data: FieldData) -> Response | None:
    return jsonsecrets.list_secrets(view_of(request), _own_folder(request), data["path"])


def cubbyhole_exists(request: Request, data: FieldData) -> bool:
    return jsonsecrets.secret_exists(view_of(request), _own_folder(request), data["path"])


def destroy_for_token(view: StorageView, token: TokenEntry) -> int:
    """Delete everything in `token`'s cubbyhole (on revocation); returns the entry count.

    `view` is the cubbyhole mount's storage view. Idempotent. The token store's own
    `chalicelib.tokens.cubbyhole.destroy` deletes the same folder and may call this.
    """
    return view.delete_prefix(cubbyhole_folder(token))


def backend() -> Backend:
    return Backend(
        type_name="cubbyhole",
        description="per-token private secret storage",
        paths=[
            Path(
                "{path:any}",
                {
                    Operation.READ: path_cubbyhole_read,
                    Operation.CREATE: path_cubbyhole_write,
                    Operation.UPDATE: path_cubbyhole_write,
                    Operation.DELETE: path_cubbyhole_delete,
                    Operation.LIST: path_cubbyhole_list,
                },
                exists=cubbyhole_exists,
                synopsis="Pass-through secret storage to a token-specific cubbyhole.",
            )
        ],
    )
