"""A token as clients see it: the ``auth`` block of create/renew, the ``data`` of lookup."""

from __future__ import annotations

from typing import Any

from chalicelib.tokens.clock import NANOS, remaining_seconds, rfc3339
from chalicelib.tokens.entry import TokenEntry


def auth_block(
    entry: TokenEntry, client_token: str, identity_policies: tuple[str, ...] = ()
) -> dict[str, Any]:
    """OpenBao's ``auth`` object, for the lease the entry holds now; ``policies`` also
    names the entity's policies, which OpenBao lists apart only when there are some."""
    block = {
        "client_token": client_token,
        "accessor": entry.accessor,
        "policies": sorted({*entry.policies, *identity_policies}),
        "token_policies": list(entry.policies),
        "metadata": entry.meta,
        "lease_duration": entry.lease_ttl,
        "renewable": entry.renewable and bool(entry.lease_ttl),
        "entity_id": entry.entity_id,
        "token_type": entry.type,
        "orphan": entry.orphan,
        "mfa_requirement": None,
        "num_uses": entry.num_uses,
    }
    if identity_policies:
        block["identity_policies"] = list(identity_policies)
    return block


def lookup_data(
    entry: TokenEntry, token_id: str, now_ns: int, identity_policies: tuple[str, ...] = ()
) -> dict[str, Any]:
    """OpenBao's lookup ``data`` (the parent reference is never shown)."""
    data: dict[str, Any] = {
        "accessor": entry.accessor,
        "creation_time": entry.creation_time,
        "creation_ttl": entry.ttl,
        "display_name": entry.display_name,
        "entity_id": entry.entity_id,
        "expire_time": rfc3339(entry.expires_ns) if entry.expires_ns else None,
        "explicit_max_ttl": entry.explicit_max_ttl,
        "id": token_id,
        "issue_time": rfc3339(entry.issued_ns or entry.creation_time * NANOS),
        "meta": entry.meta,
        "num_uses": entry.num_uses,
        "orphan": entry.orphan,
        "path": entry.path,
        "policies": list(entry.policies),
        "renewable": entry.lease_renewable(now_ns),
        "ttl": remaining_seconds(entry.expires_ns, now_ns) if entry.expires_ns else 0,
        "type": entry.type,
    }
    if identity_policies:
        data["identity_policies"] = list(identity_policies)
    if entry.role:
        data["role"] = entry.role
    if entry.period:
        data["period"] = entry.period
    if entry.bound_cidrs:
        data["bound_cidrs"] = list(entry.bound_cidrs)
    if entry.last_renewal_ns:
        data["last_renewal"] = rfc3339(entry.last_renewal_ns)
        data["last_renewal_time"] = entry.last_renewal_ns // NANOS
    return data
