"""The token store of this container's runtime, wired to the hooks revocation runs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.core.errors import Sealed
from chalicelib.tokens import cubbyhole
from chalicelib.tokens.store import TokenStore
from chalicelib.tokens.tidy import tidy

if TYPE_CHECKING:
    from chalicelib.core.runtime import Runtime


def token_store(rt: Runtime) -> TokenStore:
    """The token store over ``rt``'s barrier; its keys exist only while unsealed."""
    if rt.token_salt is None or rt.batch_key is None:
        raise Sealed()
    from chalicelib.leases.manager import revoke_by_token  # the manager imports the tokens

    hooks = [
        lambda entry: cubbyhole.destroy(rt.barrier, rt.mounts, entry),
        lambda entry: revoke_by_token(rt, entry),
    ]
    return TokenStore(rt.barrier, rt.token_salt, rt.batch_key, hooks)


def tidy_token_store(rt: Runtime) -> None:
    """auth/token/tidy, also fit for a schedule: indexes, expired trees, stray cubbyholes."""
    alive = tidy(token_store(rt))
    cubbyhole.tidy(rt.barrier, rt.mounts, alive)
