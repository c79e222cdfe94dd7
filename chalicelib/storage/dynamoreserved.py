"""The reserved items of the DynamoDB table (pks starting with "#", which no storage pk
does, so they are never listed, copied or deleted as storage; see storage/dynamodb): the
cluster state, the barrier's encryption counters and the rate-limit quota counters."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from typing import Any

from chalicelib.storage.dynamowire import NO_STATE, number_value, raw_key, raw_state
from chalicelib.storage.physical import ClusterState, ConditionFailed, QuotaClaim, QuotaCounter

STATE_PK = "#cluster"
STATE_SK = "state"
_QUOTA_PK = "#quota/"  # + a rate-limit counter's key
_QUOTA_SK = "counter"
_ENCRYPTIONS_SK = "encryptions#"  # + the keyring term


GENS_EXIST = "attribute_exists(gens)"


def bump_expression(
    names: Sequence[str],
) -> tuple[list[str], dict[str, Any], dict[str, str]]:
    """The SET clauses, values and name placeholders that add 1 to each generation in
    `names` (a missing one counts as 0) inside an existing `gens` map."""
    placeholders = {f"#g{index}": name for index, name in enumerate(names)}
    sets = [f"gens.{name} = if_not_exists(gens.{name}, :zero) + :one" for name in placeholders]
    return sets, {":zero": number_value(0), ":one": number_value(1)}, placeholders


class ReservedItems:
    """The `Physical` methods over the reserved items, for DynamoDBPhysical: they send
    through its one entry point `_call` and its conditional `_update`."""

    table_name: str
    _call: Callable[[str, dict[str, Any]], dict[str, Any]]
    _update: Callable[..., dict[str, Any]]

    # --- cluster state -------------------------------------------------------------------

    def cluster_state(self) -> ClusterState:
        params = {
            "TableName": self.table_name,
            "Key": raw_key(STATE_PK, STATE_SK),
            "ConsistentRead": True,
        }
        item = self._call("GetItem", params).get("Item")
        return NO_STATE if item is None else raw_state(item)

    def add_encryptions(self, term: int, count: int) -> int:
        # ADD creates the item and the attribute at 0 when missing: a new term needs no setup.
        answer = self._call(
            "UpdateItem",
            {
                "TableName": self.table_name,
                "Key": raw_key(STATE_PK, f"{_ENCRYPTIONS_SK}{term}"),
                "UpdateExpression": "ADD enc :count",
                "ExpressionAttributeValues": {":count": number_value(count)},
                "ReturnValues": "UPDATED_NEW",
            },
        )
        return int(answer["Attributes"]["enc"]["N"])

    def encryptions(self, term: int) -> int:
        params = {
            "TableName": self.table_name,
            "Key": raw_key(STATE_PK, f"{_ENCRYPTIONS_SK}{term}"),
            "ConsistentRead": True,
        }
        item = self._call("GetItem", params).get("Item", {})
        return int(item["enc"]["N"]) if "enc" in item else 0

    def update_cluster_state(
        self,
        *,
        sealed: bool | None = None,
        term: int | None = None,
        bump: Sequence[str] = (),
    ) -> ClusterState:
        sets: list[str] = []
        values: dict[str, Any] = {}
        if sealed is not None:
            sets.append("sealed = :sealed")
            values[":sealed"] = {"BOOL": sealed}
        state = self._raise_term(term) if term is not None else None
        names = sorted(set(bump))
        if names:
            return self._update_with_bumps(sets, values, names)
        if sets:
            return self._update_state(sets, values)
        return state or self.cluster_state()

    def _update_state(
        self,
        sets: list[str],
        values: dict[str, Any],
        condition: str | None = None,
        names: dict[str, str] | None = None,
    ) -> ClusterState:
        """One UpdateItem of the state item (`SET` each of `sets`); the new state.
        ConditionFailed when `condition` does not hold."""
        params: dict[str, Any] = {
            "UpdateExpression": "SET " + ", ".join(sets),
            "ExpressionAttributeValues": values,
        }
        if condition is not None:
            params["ConditionExpression"] = condition
        if names:
            params["ExpressionAttributeNames"] = names
        return raw_state(self._update(STATE_PK, STATE_SK, params, returns="ALL_NEW"))

    def _raise_term(self, term: int) -> ClusterState:
        """Set the keyring term unless the state already names a newer one: two racing
        rotations' updates may land out of order, and the older term landing last would
        leave the first rotator encrypting under a superseded term (containers reload the
        keyring only for a newer term)."""
        newer = "attribute_not_exists(term) OR term < :term"
        try:
            return self._update_state(["term = :term"], {":term": number_value(term)}, newer)
        except ConditionFailed:
            return self.cluster_state()

    def _update_with_bumps(
        self, sets: list[str], values: dict[str, Any], names: list[str]
    ) -> ClusterState:
        bumps, bump_values, placeholders = bump_expression(names)
        bumps = [*sets, *bumps]
        bump_values = {**values, **bump_values}
        try:
            return self._update_state(bumps, bump_values, GENS_EXIST, placeholders)
        except ConditionFailed:
            pass
        # DynamoDB cannot SET inside a map that does not exist yet, so the very first bump
        # creates the map whole (a second call, once per table lifetime). Losing that
        # creation race means the map exists now: the first form then succeeds.
        first = {**values, ":gens": {"M": dict.fromkeys(names, number_value(1))}}
        try:
            return self._update_state([*sets, "gens = :gens"], first, "attribute_not_exists(gens)")
        except ConditionFailed:
            return self._update_state(bumps, bump_values, GENS_EXIST, placeholders)

    def _bump_item(self, names: Sequence[str]) -> dict[str, Any]:
        """The state item's part of a transaction that bumps `names` (see `transact`)."""
        sets, values, placeholders = bump_expression(sorted(set(names)))
        return {
            "Update": {
                "TableName": self.table_name,
                "Key": raw_key(STATE_PK, STATE_SK),
                "UpdateExpression": "SET " + ", ".join(sets),
                "ConditionExpression": GENS_EXIST,
                "ExpressionAttributeNames": placeholders,
                "ExpressionAttributeValues": values,
            }
        }

    def _create_generations(self) -> None:
        """Create the empty generation map unless it exists (the first unseal creates it,
        so only a table never unsealed lacks it)."""
        with contextlib.suppress(ConditionFailed):
            self._update_state(["gens = :gens"], {":gens": {"M": {}}}, "attribute_not_exists(gens)")

    # --- rate-limit quota counters -------------------------------------------------------
    # Plain items at pk "#quota/<key>" (never a storage pk, which starts with "/"; one pk
    # per counter, so counters spread over partitions): w (N) the window, n (N) requests
    # claimed in it, bu (N) blocked until, expires_at (N) the table's TTL attribute.

    def claim_quota(self, key: str, claim: QuotaClaim, *, opens: bool) -> int | None:
        not_blocked = "(attribute_not_exists(bu) OR bu <= :now)"
        values = {
            ":w": number_value(claim.window),
            ":a": number_value(claim.amount),
            ":now": number_value(claim.now),
            ":e": number_value(claim.expires_at),
        }
        if opens:
            update = "SET w = :w, n = :a, expires_at = :e"
            condition = f"(attribute_not_exists(w) OR w < :w) AND {not_blocked}"
        else:
            update = "ADD n :a SET expires_at = :e"
            condition = f"w = :w AND n <= :most AND {not_blocked}"
            values[":most"] = number_value(claim.limit - claim.amount)
        params = {
            "UpdateExpression": update,
            "ConditionExpression": condition,
            "ExpressionAttributeValues": values,
        }
        try:
            return int(self._update(_QUOTA_PK + key, _QUOTA_SK, params)["n"]["N"])
        except ConditionFailed:
            return None

    def quota_counter(self, key: str) -> QuotaCounter:
        params = {
            "TableName": self.table_name,
            "Key": raw_key(_QUOTA_PK + key, _QUOTA_SK),
            "ConsistentRead": True,
        }
        item = self._call("GetItem", params).get("Item", {})
        w, n, bu = (int(item[name]["N"]) if name in item else 0 for name in ("w", "n", "bu"))
        return QuotaCounter(w, n, bu)

    def block_quota(self, key: str, until: int, now: int, expires_at: int) -> int:
        params = {
            "UpdateExpression": "SET bu = :until, expires_at = :e",
            "ConditionExpression": "attribute_not_exists(bu) OR bu <= :now",
            "ExpressionAttributeValues": {
                ":until": number_value(until),
                ":now": number_value(now),
                ":e": number_value(expires_at),
            },
        }
        try:
            self._update(_QUOTA_PK + key, _QUOTA_SK, params, returns="NONE")
        except ConditionFailed:
            return self.quota_counter(key).blocked_until  # someone blocked first: theirs stands
        return until
