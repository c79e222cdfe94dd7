"""Compiled ACLs per policy set, cached in the container for one policies generation.

Policies are read from the system view (``sys/policy/<name>``, JSON with the HCL in
``raw``, written by sys/policy). Every change there bumps the cluster's ``policies``
generation, which each request reads with its token, so a container recompiles on the
very next request after a change anywhere. The policy engine is imported on first use.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Hashable

    from chalicelib.policy import ACL, Policy
    from chalicelib.policy.templates import IdentityContext
    from chalicelib.storage.barrier import Barrier

POLICIES_GENERATION = "policies"
ROOT = "root"
RESPONSE_WRAPPING = "response-wrapping"
# Policies that exist in code, not in storage: root, and the immutable one every
# response-wrapping token carries (so a wrapping token can unwrap on any cluster).
BUILT_IN = frozenset({ROOT, RESPONSE_WRAPPING})
_MAX_ACLS = 512  # distinct policy sets kept per container


def policy_storage_key(name: str) -> str:
    from chalicelib.core.mounts import SYSTEM_MOUNT
    from chalicelib.system.path_policy import policy_key

    return SYSTEM_MOUNT.storage_prefix + policy_key(name)


class ACLCache:
    """Parsed policies and compiled ACLs; everything is dropped when the generation moves."""

    def __init__(self) -> None:
        self._generation = -1
        self._policies: dict[str, Policy | None] = {}
        self._acls: OrderedDict[tuple[tuple[str, ...], Hashable], ACL] = OrderedDict()
        # Policy sets with templated paths: their ACL depends on the entity too.
        self._templated: set[tuple[str, ...]] = set()
        # The dev server is threaded; a Lambda container never contends for it.
        self._lock = threading.RLock()

    def _sync(self, generation: int) -> None:
        if generation != self._generation:
            self._generation = generation
            self._policies.clear()
            self._acls.clear()
            self._templated.clear()

    def acl(
        self,
        barrier: Barrier,
        generation: int,
        names: tuple[str, ...],
        identity: IdentityContext | None = None,
        identity_version: Hashable = None,
    ) -> ACL:
        """The ACL of a token's policies (names that name no policy grant nothing).

        ``identity`` renders templated paths; such an ACL is cached per entity version,
        every other one once per policy set, whoever holds it.
        """
        from chalicelib.policy import ACL

        names = tuple(sorted(set(names)))
        with self._lock:
            self._sync(generation)
            key = (names, identity_version if names in self._templated else None)
            acl = self._acls.get(key)
            if acl is not None and (
                acl.valid_until is None or acl.valid_until > datetime.now(UTC)
            ):
                self._acls.move_to_end(key)
                return acl
            policies = self.policies(barrier, generation, names)
            if any(policy is not None and policy.templated for policy in policies):
                self._templated.add(names)
                key = (names, identity_version)
            acl = ACL.compile(policies, identity=identity)
            self._acls[key] = acl
            if len(self._acls) > _MAX_ACLS:
                self._acls.popitem(last=False)
            return acl

    def policies(
        self, barrier: Barrier, generation: int, names: tuple[str, ...]
    ) -> list[Policy | None]:
        """Each named policy (None where none exists), loading the unknown ones in one read."""
        with self._lock:
            self._sync(generation)
            missing = [n for n in names if n not in self._policies and n not in BUILT_IN]
            if missing:
                found = barrier.get_many([policy_storage_key(name) for name in missing])
                for name in missing:
                    entry = found.get(policy_storage_key(name))
                    self._policies[name] = None if entry is None else _parse(name, entry.value)
            return [_built_in(name) if name in BUILT_IN else self._policies[name] for name in names]


def _parse(name: str, stored: bytes) -> Policy:
    from chalicelib.policy import parse_policy

    return parse_policy(name, json.loads(stored)["raw"])


@cache
def _built_in(name: str) -> Policy:
    from chalicelib.policy import RESPONSE_WRAPPING_POLICY, ROOT_POLICY, parse_policy

    if name == ROOT:
        return ROOT_POLICY
    return parse_policy(RESPONSE_WRAPPING, RESPONSE_WRAPPING_POLICY)
