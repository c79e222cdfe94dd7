"""What every identity path shares: the store, the auth mounts aliases belong to, the
group graph, and the generation bump that tells every container its graph is stale."""

from __future__ import annotations

from chalicelib.core.errors import BadRequest
from chalicelib.core.mounts import MountEntry
from chalicelib.core.runtime import runtime
from chalicelib.engines.identity.checks import quote
from chalicelib.identity.resolve import GroupGraph
from chalicelib.identity.store import IDENTITY_GENERATION, IdentityStore

NAMESPACE = "root"  # every record lives in the root namespace


def identity_store() -> IdentityStore:
    return IdentityStore(runtime().barrier)


def groups_changed() -> None:
    """After a commit that changed a group (and bumped the identity generation with it):
    this container rebuilds its group graph on its next request, as every other does
    once it sees the bump (identity.resolve)."""
    runtime().after_commit([IDENTITY_GENERATION])


def group_graph() -> GroupGraph:
    """The groups as this request's identity generation has them (compiled once per
    container and generation, so reads and listings cost no storage read)."""
    rt = runtime()
    return rt.identity.graph(rt)


def auth_mounts() -> dict[str, MountEntry]:
    """Auth mounts by accessor: what an alias names, and where its mount_path comes from."""
    return {entry.accessor: entry for entry in runtime().auth.entries}


def auth_mount(accessor: str) -> MountEntry:
    found = auth_mounts().get(accessor)
    if found is None:
        raise BadRequest(f"invalid mount accessor {quote(accessor)}")
    return found
