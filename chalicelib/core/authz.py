"""Who is calling (token validation) and may they do this (the ACL), for one request.

A service token is authenticated from the entry the pipeline reads in its one
BatchGetItem with the cluster state; a batch token is opened from the token itself,
reading only its parent's entry (in that same BatchGetItem) unless it is an orphan.
Nothing about a token is cached across requests, so a revocation anywhere is seen by the
very next request in every container. Every kind of bad token gets the same 403.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, NamedTuple

from chalicelib.core.cidrs import address_in
from chalicelib.core.errors import PermissionDenied, multierror
from chalicelib.core.request import Request
from chalicelib.core.runtime import Runtime
from chalicelib.identity.store import entity_key
from chalicelib.storage.physical import Entry
from chalicelib.tokens import ids
from chalicelib.tokens.acl_cache import POLICIES_GENERATION
from chalicelib.tokens.batch import BatchCodec
from chalicelib.tokens.clock import now_ns
from chalicelib.tokens.context import token_store
from chalicelib.tokens.entry import REVOCATION_PENDING, TokenEntry
from chalicelib.tokens.revoke import revoke_tree
from chalicelib.tokens.store import open_sealed

if TYPE_CHECKING:
    from chalicelib.identity.resolve import ResolvedIdentity
    from chalicelib.policy import ACL

# What Vault answers when a valid token's policies refuse the request.
ACL_DENIED = multierror("permission denied")


# A NamedTuple: defined on every cold start, where a frozen dataclass costs ~7x more.
class Credential(NamedTuple):
    """A presented token and the storage keys its validation needs."""

    token: str
    ready: bool = False  # the salt and batch key were loaded when it was identified
    key: str | None = None  # a service token's entry
    batch: TokenEntry | None = None  # an opened batch token

    @property
    def prefetch(self) -> list[str]:
        if self.key:
            return [self.key]
        if self.batch is not None and self.batch.parent:
            return [ids.salted_key(self.batch.parent)]
        return []


def identify(rt: Runtime, token: str) -> Credential:
    """Before the request's read: which keys to fetch for ``token`` (no I/O)."""
    if not token or rt.token_salt is None or rt.batch_key is None:
        return Credential(token)
    if ids.is_batch(token):
        return Credential(token, ready=True, batch=BatchCodec(rt.batch_key).open(token))
    return Credential(token, ready=True, key=ids.id_key(rt.token_salt, token))


def resolve(
    rt: Runtime, credential: Credential, values: Mapping[str, Entry], remote_address: str = ""
) -> TokenEntry | None:
    """The caller's live token, or None for a missing, invalid, expired or spent one.

    ``values``: the entries the request's first read prefetched, still sealed.
    """
    if not credential.token:
        return None
    if not credential.ready:
        if rt.token_salt is None:
            return None
        # Unsealed by another container during this request's read: fetch what was missed.
        credential = identify(rt, credential.token)
        values = rt.physical.get_many(credential.prefetch)
    now = now_ns()
    if credential.batch is not None:
        entry: TokenEntry | None = credential.batch
        if entry.expired(now) or (entry.parent and _live(rt, values, entry.parent, now) is None):
            return None
    else:
        entry = _live(rt, values, credential.key, now) if credential.key else None
    if entry is None or not _address_allowed(entry, remote_address):
        return None
    return entry


def _live(
    rt: Runtime, values: Mapping[str, Entry], salted_or_key: str, now: int
) -> TokenEntry | None:
    key = salted_or_key if "/" in salted_or_key else ids.salted_key(salted_or_key)
    found = values.get(key)
    if found is None:
        return None
    entry = open_sealed(rt.barrier, found)
    rt.identity.remember(key, entry.entity_id)
    return entry if entry.live(now) else None


def _address_allowed(entry: TokenEntry, remote_address: str) -> bool:
    """Bound CIDRs bind every token but a non-expiring root token (as Vault)."""
    if not entry.bound_cidrs or not entry.ttl:
        return True
    return address_in(remote_address, entry.bound_cidrs)


def identity_prefetch(rt: Runtime, credential: Credential) -> list[str]:
    """The entity key to read with the token, when this container knows the entity."""
    batch_entity = credential.batch.entity_id if credential.batch is not None else ""
    return rt.identity.prefetch(credential.key, batch_entity)


def identity_of(rt: Runtime, token: TokenEntry) -> ResolvedIdentity | None:
    """The entity grants of a token other than the one the pipeline authenticated (one
    more read when this container has not compiled its entity at its current version)."""
    if not token.entity_id:
        return None
    return rt.identity.resolve(rt, token.entity_id, {}, prefetched=False)


def authenticate(
    rt: Runtime, request: Request, credential: Credential, values: Mapping[str, Entry],
    identity_keys: list[str],
) -> TokenEntry:
    """The caller's live token, with its entity's grants on ``request.identity``; a
    disabled entity's tokens are refused as an invalid token is (as Vault)."""
    entry = resolve(rt, credential, values, request.remote_address)
    if entry is None:
        raise PermissionDenied()
    if entry.entity_id:
        prefetched = entity_key(entry.entity_id) in identity_keys
        identity = rt.identity.resolve(rt, entry.entity_id, values, prefetched)
        if identity is not None and identity.disabled:
            raise PermissionDenied()
        request.identity = identity
    return entry


@contextmanager
def counted_use(rt: Runtime, request: Request) -> Iterator[None]:
    """Spend one use of a limited token for this request; revoke it after its last use.

    As Vault, the use is spent before the ACL check (a refused request still costs one),
    and a token on its last use serves this request and is revoked right after it.
    """
    token = request.token
    if token is None or token.num_uses == 0:
        yield
        return
    store = token_store(rt)
    spent = store.use(token)
    if spent is None:
        raise PermissionDenied(ACL_DENIED)
    request.token = spent
    try:
        yield
    finally:
        if spent.num_uses == REVOCATION_PENDING:
            revoke_tree(store, spent.salted_id)


def acl_for(rt: Runtime, token: TokenEntry, identity: ResolvedIdentity | None = None) -> ACL:
    """The ACL of the token's policies and its entity's (group and entity) policies,
    templated paths rendered for that entity."""
    generation = rt.state.generation(POLICIES_GENERATION)
    if identity is None:
        return rt.acls.acl(rt.barrier, generation, token.policies)
    names = (*token.policies, *identity.policies)
    return rt.acls.acl(rt.barrier, generation, names, identity.context, identity.version)


def authorize(rt: Runtime, request: Request, token: TokenEntry, *, sudo_path: bool) -> None:
    """The ACL decision: root may do anything; policies (and sudo on sudo paths) decide."""
    if token.is_root:
        return
    verdict = acl_for(rt, token, request.identity).authorize(
        request.operation, request.path, request.data, wrap_ttl=request.wrap_ttl
    )
    if not verdict.allowed or (sudo_path and not verdict.root_privs):
        raise PermissionDenied(ACL_DENIED)
    if verdict.limit_override is not None:
        request.data["limit"] = verdict.limit_override


def has_sudo(
    rt: Runtime, token: TokenEntry, path: str, identity: ResolvedIdentity | None = None
) -> bool:
    """Vault's ``SudoPrivilege``: root, or the sudo capability on ``path``."""
    if token.is_root:
        return True
    capabilities = acl_for(rt, token, identity).capabilities(path)
    return "sudo" in capabilities or "root" in capabilities
