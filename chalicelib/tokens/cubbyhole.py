"""The token side of cubbyholes: each service token owns one, destroyed with the token.

Contract with the cubbyhole engine: a token's cubbyhole is the folder
``<token.cubbyhole_id>/`` inside the cubbyhole mount's storage view, and the engine
finds that folder with :func:`cubbyhole_folder`. Batch tokens have no cubbyhole.
"""

from __future__ import annotations

from chalicelib.core.errors import BadRequest
from chalicelib.core.mounts import MountTable
from chalicelib.core.request import Request
from chalicelib.storage.barrier import Barrier
from chalicelib.storage.view import StorageView
from chalicelib.tokens.entry import SERVICE, TokenEntry

CUBBYHOLE_TYPE = "cubbyhole"


def require_service_token(request: Request) -> None:
    """The router's check before any cubbyhole request (Vault refuses batch tokens there)."""
    token = request.token
    if token is not None and token.type != SERVICE:
        raise BadRequest("cubbyhole operations are only supported by 'service' type tokens")


def cubbyhole_folder(token: TokenEntry) -> str:
    """The folder of ``token``'s cubbyhole, relative to the cubbyhole mount's view."""
    if token.type != SERVICE or not token.cubbyhole_id:
        raise BadRequest("cubbyhole operations are only supported by 'service' type tokens")
    return f"{token.cubbyhole_id}/"


def cubbyhole_view(barrier: Barrier, mounts: MountTable) -> StorageView | None:
    """The cubbyhole mount's storage view (None on a table without one)."""
    mount = next((m for m in mounts.entries if m.type == CUBBYHOLE_TYPE), None)
    return None if mount is None else StorageView(barrier, mount.storage_prefix)


def destroy(barrier: Barrier, mounts: MountTable, token: TokenEntry) -> None:
    """Revocation hook: the token's cubbyhole goes first, before its entry."""
    view = cubbyhole_view(barrier, mounts)
    if view is not None and token.cubbyhole_id:
        view.delete_prefix(cubbyhole_folder(token))


def tidy(barrier: Barrier, mounts: MountTable, alive: set[str]) -> int:
    """Delete the cubbyholes of tokens that no longer exist; returns how many."""
    view = cubbyhole_view(barrier, mounts)
    if view is None:
        return 0
    orphaned = [name for name in view.list() if name.endswith("/") and name[:-1] not in alive]
    for folder in orphaned:
        view.delete_prefix(folder)
    return len(orphaned)
