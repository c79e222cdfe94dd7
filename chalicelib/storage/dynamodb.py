"""DynamoDB physical backend: one table; per key an entry item and a folder-index item.

Layout (pk: S, hash key; sk: S, range key)
  entry      pk "/" + the key ("/a/b/c"), sk "$": v (B) the value, already sealed by the
             barrier; ver (N) the entry's version, 1 on creation, +1 per write; due (S),
             exp (N) on entries marked due (leases): the `lease-due` GSI, keys only, hashed
             on the time bucket `due` and sorted by `exp`, so finding what is due reads only
             due items (see chalicelib/leases/layout.py).
  index      pk "/" + the key's folder ("/a/b/", "/" for the root), sk the key's last
             segment ("c"); no other attribute. LIST of a folder is one Query on its pk.
  marker     pk "/" + the parent folder ("/a/"), sk the sub-folder's name ("b/"); gen (N):
             folder "a/b/" holds something, so it shows up in its parent's LIST as "b/"
             (as in Vault's own DynamoDB backend). A hot folder also has shards, sk
             "b/#1".."b/#15" (storage/markerheat); LIST shows the folder once.
  reserved   pks starting with "#", which no storage pk does ("/"...), so they are never
             listed, copied or deleted as storage: the cluster state (pk "#cluster", sk
             "state": sealed, term, gens), the encryption counters (pk "#cluster", sk
             "encryptions#<term>": enc, the barrier encryptions of each keyring term over
             all containers) and the rate-limit counters (pk "#quota/<key>"); their
             methods are in storage/dynamoreserved, the table's declaration (keys, the
             due index) in storage/dynamotable.
An entry's pk is never a folder's: keys never end with "/", folder pks always do.

Why entries are not kept under their folder's pk: every read of a key is a read of its
entry, so N keys -- N service tokens ("sys/token/id/<hmac>"), N secrets of one KV folder
-- are N partition-key values, which DynamoDB spreads over partitions (one partition
serves 3,000 RCU / 1,000 WCU; it splits a hot item collection only gradually). Reads and
overwrites never touch the index; LIST never reads an entry. There is nothing to migrate:
no deployment holds the earlier layout (entries under their folder's pk).

Index protocol. Invariant: an index item exists iff its entry exists -- at every instant,
for everything but the batch deletes below -- because every change of an entry's
existence carries its index item's change in the same TransactWriteItems:
  * creation is a transaction [Update entry if it does not exist, Put index item];
    `put` with expected_version 0 sends just that; an unconditional `put` first tries an
    overwrite (UpdateItem if the entry exists: a steady-state write costs one UpdateItem,
    as before), and only when the entry is missing the creation; each failure means a
    concurrent writer created or deleted the key in between, so it goes round again
    (a 503 after 6 rounds). Transactions cancelled only by a TransactionConflict are
    sent again the same way where the caller set no version to check.
  * deletion is a transaction [Delete entry if it exists (or is at the version expected),
    Delete index item]; a missing key fails the condition: nothing changes.
  * overwrites (expected_version N, or an unconditional put of an existing key) touch
    no index item.
  * `transact` adds each creating Put's index Put (expected_version 0, or None: it cannot
    tell creation from overwrite, so an unconditional Put rewrites its index item, which
    exists whenever the entry does) and each Delete's index Delete to the same
    transaction. When those extra items do not fit (100 items, 4 MB), the transaction
    commits alone and each key's index item follows in its own transaction, conditioned
    on the entry: [ConditionCheck entry exists, Put index] or [ConditionCheck entry
    missing, Delete index]. That too ends with index == entry once writers finish: every
    index change lands while the entry is in the state it matches (present for a Put,
    absent for a Delete); the writer of a key's last existence change follows it up (or
    changed the index in the same transaction) after it, finds the entry as it left it
    and succeeds, and any index change after that finds the same state, so it agrees.
    A crash before a follow-up (or one AWS fails: best effort, the write stands) leaves
    the key missing from, or lingering in, its folder's LIST until the key is next
    created or deleted. `transact(..., bump=names)` puts the cluster-state item's
    generation increments first in the same transaction (they count against the 100).
  * `delete_many` and `delete_prefix` batch-delete without conditions (BatchWriteItem is
    not atomic): they are for keys no one else writes (a sweeper's claimed leases, an
    unmounted mount). `delete_many` deletes the index items first, so a crash leaves
    entries unlisted but readable under the keys the caller still holds; `delete_prefix`
    deletes the entries first, so a crash leaves index items that the next call finds.

Marker protocol, and why it is race-free. The invariant: once every writer has finished,
a folder has a marker iff it holds an item (an index item or a sub-folder's marker); "a
marker" is the marker item or any of its shards, which the argument below treats alike.
  * A writer that created an index item does, AFTER its transaction, `ADD gen 1` on the
    folder's marker (or, in a hot folder, one of its shards); if that created the item
    (gen == 1) it repeats one level up, and stops at the first that already existed.
  * A deleter checks the folder with Query(Limit=1); if it is empty it reads the gen and
    `born` of the marker and its shards (one Query), queries the folder again, and deletes
    them only if all are unchanged (one transaction when there are several; a shard made
    after the read is not deleted and keeps the folder listed); then it climbs. `born` is
    a random name the ADD that creates a marker gives it: a marker deleted by another
    pruner and made again by a creator restarts at gen 1, and without its new name would
    pass for the one read (an ABA race that left a folder unlisted).
  A deleter removes a marker only when its second Query saw no item. Any item created
  before that Query would have been seen; a creator whose item came after that Query does
  its ADD after it too, hence after the gen read: the ADD either lands before the delete
  (gen or born changed, the conditional delete fails, the marker stays) or after it (the ADD
  recreates the marker, gen == 1, and the creator climbs, restoring the ancestors the
  deleter may remove next). The first, cheap Query only ever makes a deleter stop early,
  which is always safe: the folder's last deleter sees it empty. Overwrites touch no
  markers. A crash between a transaction and its marker update leaves a folder missing
  from, or lingering in, its parent's listing until the next create/delete there, as in
  Vault; so does a failed marker update (best effort: the write stands).

Costs (calls, and write units at ~1 KB values: 1 WRU per KB written, twice in a
transaction): an overwrite 1 UpdateItem (1 WRU), as before; creating a key with
expected_version 0 one TransactWriteItems + the marker ADD (2 calls, 5 WRU; 2 calls and
2 WRU before), with an unconditional put one failed UpdateItem more (3 calls, 6 WRU);
a deletion one TransactWriteItems + the emptiness Query (2 calls, 4 WRU; before, a
DeleteItem: 1 WRU).
"""

from __future__ import annotations

import builtins
import functools
import random
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.core import awsfaults
from chalicelib.core.errors import Unavailable
from chalicelib.core.leanaws import lean
from chalicelib.observability import logger
from chalicelib.settings import settings
from chalicelib.storage.dynamoreserved import STATE_PK, STATE_SK, ReservedItems
from chalicelib.storage.dynamotable import DUE_INDEX, connection_of, item_class
from chalicelib.storage.dynamowire import (
    EXISTS,
    MAX_TRANSACT_BYTES,
    MAX_TRANSACT_ITEMS,
    MISSING,
    NO_STATE,
    ONE,
    cancellation_codes,
    changes_existence,
    check_entry_size,
    check_transaction_size,
    checked_location,
    entry_location,
    entry_size,
    entry_write,
    error_code,
    failed_conditions,
    folder_pk,
    folders_to_mark,
    folders_to_prune,
    index_location,
    index_size,
    lost_condition,
    marked_folder,
    marker_location,
    number_value,
    raw_entry,
    raw_key,
    raw_state,
    refused_size,
    storage_key,
    too_large,
    version_condition,
)
from chalicelib.storage.markerheat import MarkerHeat
from chalicelib.storage.physical import (
    ClusterState,
    ConditionFailed,
    Due,
    Entry,
    Physical,
    Put,
    WriteOp,
    check_prefix,
    parent_folder,
)

_BATCH_GET_LIMIT = 100  # keys per BatchGetItem
# Batch rounds per chunk while DynamoDB leaves requests unprocessed (throttled), and the
# backoff base in seconds: full jitter up to 50, 100, 200, 400 ms before rounds 2-5.
_UNPROCESSED_ROUNDS = 5
_BATCH_WRITE_LIMIT = 25  # requests per BatchWriteItem
_UNPROCESSED_BACKOFF = 0.025
_DUE_PAGE = 1000  # index keys per Query page of the due index
# A write that only concurrent writers of the same key can make fail (an unconditional put
# or delete) goes round at most this often, with full-jitter backoff of 10, 20, 40... ms.
_CONTENDED_ROUNDS = 6
_CONTENDED_BACKOFF = 0.005
_IN_TRANSACTION = "TransactionConflictException"


# Why DynamoDB cancels a transaction it throttled, item by item.
_THROTTLED_REASONS = frozenset({"ThrottlingError", "ProvisionedThroughputExceeded"})


class _ConditionsFailed(ConditionFailed):
    """A transaction cancelled by a failed condition; `positions`: the items whose
    condition failed, as DynamoDB gave them (empty if it gave none)."""

    def __init__(self, positions: frozenset[int]) -> None:
        super().__init__("transaction condition failed")
        self.positions = positions


class _Contended(ConditionFailed):
    """A transaction DynamoDB cancelled for another one in flight on its items
    (TransactionConflict), not for a condition: the same request may succeed next."""


def _pause(attempt: int) -> None:
    """Full-jitter backoff before attempt `attempt` (none before the first)."""
    if attempt:
        time.sleep(random.uniform(0, _CONTENDED_BACKOFF * 2**attempt))  # noqa: S311


def _contended() -> Unavailable:
    return Unavailable(
        "storage key changed by concurrent writers on every attempt; retry later",
        retry_after=awsfaults.THROTTLED_RETRY_AFTER,
    )


def _upkeep(
    method: Callable[[DynamoDBPhysical, str], None],
) -> Callable[[DynamoDBPhysical, str], None]:
    """Folder markers (and index items that did not fit a transaction) follow a write that
    has committed. If AWS fails their upkeep (after botocore's retries) the write stands,
    and the listing is as after a crash there (see the module docstring): a 503 would only
    make the client repeat a write that happened, which would not mend the listing either
    (overwrites touch no markers)."""

    @functools.wraps(method)
    def kept(self: DynamoDBPhysical, path: str) -> None:
        try:
            method(self, path)
        except Exception as error:
            unavailable = awsfaults.unavailable(error)
            if unavailable is None:
                raise
            logger.warning("folder listing upkeep failed", extra={"error": unavailable.message})

    return kept


class DynamoDBPhysical(ReservedItems, Physical):
    """The `Physical` protocol over one DynamoDB table. Safe to share within a container.

    Every request goes through :meth:`_call`, in DynamoDB's wire format: pynamodb's model
    layer built objects per item (a third of a warm request's CPU here); its model only
    declares the table (:func:`create_table`).

    (Annotations in this class say `builtins.list`: in its body, `list` is the method.)
    """

    def __init__(
        self,
        table_name: str | None = None,
        region: str | None = None,
        endpoint_url: str | None = None,
    ) -> None:
        config = settings()
        self._model = item_class(
            table_name or config.table_name,
            region or config.region,
            endpoint_url if endpoint_url is not None else config.endpoint_url,
        )
        # The model's low-level Connection, whose botocore client _call uses (a second one
        # would build a second botocore client on a cold start).
        self._connection = connection_of(self._model)
        self._last_state: tuple[dict[str, Any], ClusterState] | None = None
        self._heat = MarkerHeat()

    @property
    def table_name(self) -> str:
        return self._model.Meta.table_name

    def _call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        """One DynamoDB request: `params` as botocore's client takes them; failures raise
        botocore's ClientError (CancellationReasons and all).

        The lean path (core/leanaws) on pynamodb's botocore client: that client's events,
        retries and exceptions at a fraction of botocore's CPU per call.
        """
        return lean(self._connection.client).call(operation, params)

    # --- reads ---------------------------------------------------------------------------

    def get(self, key: str) -> Entry | None:
        pk, sk = checked_location(key)
        params = {"TableName": self.table_name, "Key": raw_key(pk, sk), "ConsistentRead": True}
        answer = self._call("GetItem", params)
        return raw_entry(answer["Item"]) if "Item" in answer else None

    def get_many(self, keys: Sequence[str]) -> dict[str, Entry]:
        wanted = [raw_key(*location) for location in {checked_location(key) for key in keys}]
        return {entry.key: entry for entry in map(raw_entry, self._raw_batch_get(wanted))}

    def read(
        self, keys: Sequence[str], *, with_state: bool = True
    ) -> tuple[dict[str, Entry], ClusterState | None]:
        """The hot path of every request: a few entries and, when asked, the cluster state,
        in one round trip (None for the state when not asked)."""
        wanted = [raw_key(pk, sk) for pk, sk in map(checked_location, keys)]
        if with_state:
            wanted.append(raw_key(STATE_PK, STATE_SK))
        elif not wanted:
            return {}, None
        entries: dict[str, Entry] = {}
        state = NO_STATE if with_state else None
        for raw in self._raw_batch_get(wanted):
            if raw["pk"]["S"] == STATE_PK:
                state = self._parsed_state(raw)
            else:
                entry = raw_entry(raw)
                entries[entry.key] = entry
        return entries, state

    def _parsed_state(self, raw: dict[str, Any]) -> ClusterState:
        # The state item changes rarely and every request reads it: while it reads back
        # equal, the state parsed last time serves (comparing is a fraction of parsing).
        last = self._last_state
        if last is not None and last[0] == raw:
            return last[1]
        state = raw_state(raw)
        self._last_state = (raw, state)
        return state

    def _raw_batch_get(self, keys: builtins.list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        """Chunks of 100 keys, in one round trip each unless DynamoDB leaves some out."""
        table = self.table_name
        for start in range(0, len(keys), _BATCH_GET_LIMIT):
            request: dict[str, Any] = {
                table: {"Keys": keys[start:start + _BATCH_GET_LIMIT], "ConsistentRead": True}
            }
            for answer in self._until_processed("BatchGetItem", "UnprocessedKeys", request):
                yield from answer["Responses"].get(table, [])

    def _raw_batch_delete(self, keys: Sequence[tuple[str, str]]) -> None:
        """Delete (pk, sk) pairs, 25 per BatchWriteItem, in order."""
        for start in range(0, len(keys), _BATCH_WRITE_LIMIT):
            chunk = keys[start:start + _BATCH_WRITE_LIMIT]
            deletes = [{"DeleteRequest": {"Key": raw_key(*key)}} for key in chunk]
            request = {self.table_name: deletes}
            for _ in self._until_processed("BatchWriteItem", "UnprocessedItems", request):
                pass

    def _until_processed(
        self, operation: str, unprocessed: str, request: dict[str, Any]
    ) -> Iterator[dict[str, Any]]:
        """The answers to a batch call, resubmitting what DynamoDB left ``unprocessed``
        (throttled) with backoff -- botocore does not: the call succeeded -- until nothing
        is left, or a 503 after a few rounds."""
        for attempt in range(_UNPROCESSED_ROUNDS):
            if attempt:
                time.sleep(random.uniform(0, _UNPROCESSED_BACKOFF * 2**attempt))  # noqa: S311
            answer = self._call(operation, {"RequestItems": request})
            yield answer
            request = answer.get(unprocessed) or {}
            if not request:
                return
        raise Unavailable(
            f"AWS throttled {operation} ({unprocessed}); retry later",
            retry_after=awsfaults.THROTTLED_RETRY_AFTER,
        )

    def _query(self, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """Every page of a Query (DynamoDB pages by 1 MB, or by `Limit` items)."""
        params = {"TableName": self.table_name, **params}
        while True:
            page = self._call("Query", params)
            yield page
            if "LastEvaluatedKey" not in page:
                return
            params = {**params, "ExclusiveStartKey": page["LastEvaluatedKey"]}

    def _sort_keys(self, pk: str, *, limit: int | None = None) -> Iterator[str]:
        """The sort keys under `pk`, in order (UTF-8 byte order, which is Vault's, Go's,
        string order); with `limit`, only its first page of at most that many."""
        params: dict[str, Any] = {
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": pk}},
            "ProjectionExpression": "sk",
            "ConsistentRead": True,
        }
        if limit is not None:
            params["Limit"] = limit
        for page in self._query(params):
            yield from (item["sk"]["S"] for item in page["Items"])
            if limit is not None:
                return

    def list(self, prefix: str) -> builtins.list[str]:
        check_prefix(prefix)
        names: builtins.list[str] = []
        for sk in self._sort_keys(folder_pk(prefix)):
            name = marked_folder(sk) or sk
            if not names or names[-1] != name:  # a folder's marker shards sort together
                names.append(name)
        return names

    # --- single writes ---------------------------------------------------------------------

    def _update(
        self, pk: str, sk: str, params: dict[str, Any], *, returns: str = "UPDATED_NEW"
    ) -> dict[str, Any]:
        """UpdateItem of (pk, sk); the attributes it returns. ConditionFailed when its
        condition failed, EntryTooLarge when DynamoDB refused the item's size."""
        request = {"TableName": self.table_name, "Key": raw_key(pk, sk), **params}
        for attempt in range(_CONTENDED_ROUNDS):
            _pause(attempt)
            try:
                answer = self._call("UpdateItem", {**request, "ReturnValues": returns})
            except ClientError as error:
                if lost_condition(error):
                    raise ConditionFailed("condition failed") from None
                if refused_size(error):
                    raise too_large() from None
                # A transaction in flight holds the item (the cluster state's, while an
                # admin write commits with its bump): this update was refused, not applied.
                if error_code(error) == _IN_TRANSACTION:
                    continue
                raise
            attributes: dict[str, Any] = answer.get("Attributes", {})
            return attributes
        raise _contended()

    def put(
        self, key: str, value: bytes, *, expected_version: int | None = None, due: Due | None = None
    ) -> int:
        pk, sk = checked_location(key)
        check_entry_size(entry_size(pk, sk, value, due))
        if expected_version == 0:
            self._create(key, value, due)
            return 1
        if expected_version is not None:
            return self._overwrite(key, value, due, version_condition(expected_version))
        # Most unconditional puts rewrite an existing key: try that first (one UpdateItem,
        # no index item), and create the key only when it is missing. Each failure means
        # another writer created or deleted the key in between.
        for attempt in range(_CONTENDED_ROUNDS):
            _pause(attempt)
            try:
                return self._overwrite(key, value, due, EXISTS)
            except ConditionFailed:
                pass
            try:
                self._create(key, value, due)
                return 1
            except ConditionFailed:
                pass
        raise _contended()

    def _overwrite(
        self, key: str, value: bytes, due: Due | None, condition: dict[str, Any]
    ) -> int:
        """UpdateItem of an entry that exists (the condition says so): its new version."""
        written = self._update(*entry_location(key), entry_write(value, due, condition))
        return int(written["ver"]["N"])

    def _create(self, key: str, value: bytes, due: Due | None) -> None:
        """Create the entry and its index item in one transaction, then mark its folder."""
        entry = {**self._target(entry_location(key)), **entry_write(value, due, MISSING)}
        if not self._transaction_settled([{"Update": entry}, self._index_put(key)]):
            raise ConditionFailed("version mismatch")
        self._mark(parent_folder(key))

    def _delete_item(self, pk: str, sk: str, condition: dict[str, Any]) -> bool:
        """DeleteItem under `condition`; False when the condition failed."""
        try:
            self._call("DeleteItem", {**self._target((pk, sk)), **condition})
        except ClientError as error:
            if lost_condition(error):
                return False
            raise
        return True

    def delete(self, key: str, *, expected_version: int | None = None) -> None:
        pk, sk = checked_location(key)
        if expected_version == 0:  # success means there is nothing to delete
            if not self._delete_item(pk, sk, MISSING):
                raise ConditionFailed("version mismatch")
            return
        # A missing key fails the existence condition: nothing to delete and no folder to
        # prune, learnt without reading the value back.
        condition = version_condition(expected_version) or EXISTS
        deletion = [{"Delete": {**self._target((pk, sk)), **condition}}, self._index_delete(key)]
        if not self._transaction_settled(deletion):
            if expected_version is not None:
                raise ConditionFailed("version mismatch")
            return
        self._prune(parent_folder(key))

    def delete_many(self, keys: Sequence[str]) -> None:
        """Index items first: a crash in between leaves entries unlisted, still readable
        under the keys the caller holds (see the module docstring)."""
        for key in keys:
            checked_location(key)
        self._raw_batch_delete([index_location(key) for key in keys])
        self._raw_batch_delete([entry_location(key) for key in keys])
        for folder in sorted({parent_folder(key) for key in keys}):
            self._prune(folder)

    # --- transactions --------------------------------------------------------------------

    def _target(self, location: tuple[str, str]) -> dict[str, Any]:
        return {"TableName": self.table_name, "Key": raw_key(*location)}

    def _index_put(self, key: str) -> dict[str, Any]:
        return {"Put": {"TableName": self.table_name, "Item": raw_key(*index_location(key))}}

    def _index_delete(self, key: str) -> dict[str, Any]:
        return {"Delete": self._target(index_location(key))}

    def _transaction(self, items: builtins.list[dict[str, Any]]) -> None:
        """TransactWriteItems; ConditionFailed when a condition failed, _Contended when
        another transaction in flight cancelled it, EntryTooLarge for an item too big."""
        try:
            self._call("TransactWriteItems", {"TransactItems": items})
        except ClientError as error:
            codes = cancellation_codes(error)
            if "ConditionalCheckFailed" in codes:
                raise _ConditionsFailed(failed_conditions(error)) from None
            if "TransactionConflict" in codes:
                raise _Contended("transaction conflict") from None
            if codes & _THROTTLED_REASONS:
                raise Unavailable(
                    "AWS throttled TransactWriteItems; retry later",
                    retry_after=awsfaults.THROTTLED_RETRY_AFTER,
                ) from None
            if "ValidationError" in codes or refused_size(error):
                raise too_large() from None
            raise

    def transact(self, ops: Sequence[WriteOp], *, bump: Sequence[str] = ()) -> None:
        if not ops:
            if bump:
                self.update_cluster_state(bump=bump)
            return
        items: builtins.list[dict[str, Any]] = [self._bump_item(bump)] if bump else []
        size = check_transaction_size(ops, reserved=len(items))
        for op in ops:
            target = self._target(entry_location(op.key))
            condition = version_condition(op.expected_version)
            if isinstance(op, Put):
                items.append({"Update": {**target, **entry_write(op.value, op.due, condition)}})
            else:
                items.append({"Delete": {**target, **condition}})
        following = [op for op in ops if changes_existence(op)]
        index_bytes = sum(index_size(op.key) for op in following)
        inline = len(items) + len(following) <= MAX_TRANSACT_ITEMS and (
            size + index_bytes <= MAX_TRANSACT_BYTES
        )
        if inline:
            items += (
                self._index_put(op.key) if isinstance(op, Put) else self._index_delete(op.key)
                for op in following
            )
        if bump:
            self._bumping_transaction(items)
        else:
            self._transaction(items)
        # What did not fit follows, each key on its own; markers after the commit, as for
        # single writes (see the module docstring).
        for op in [] if inline else following:
            if isinstance(op, Put):
                self._index_created(op.key)
            else:
                self._index_deleted(op.key)
        for folder in folders_to_mark(ops):
            self._mark(folder)
        for folder in folders_to_prune(ops):
            self._prune(folder)

    def _bumping_transaction(self, items: builtins.list[dict[str, Any]]) -> None:
        """`_transaction` of a write that bumps generations (the state item first). Every
        bump shares the state item, so a conflict there is another admin write: sent again
        (settled). A failed condition elsewhere is the caller's version check; on the state
        item, the generation map that only a table never unsealed lacks (created, then the
        transaction is sent again)."""
        try:
            self._settle(items)
        except _ConditionsFailed as failed:
            if failed.positions and 0 not in failed.positions:
                raise
            self._create_generations()
            self._settle(items)

    def _settle(self, items: builtins.list[dict[str, Any]]) -> None:
        """`_transaction`, sent again while only transactions in flight cancel it (writes
        without a version to check, whose callers expect no lost race)."""
        for attempt in range(_CONTENDED_ROUNDS):
            _pause(attempt)
            try:
                self._transaction(items)
                return
            except _Contended:
                continue
        raise _contended()

    def _transaction_settled(self, items: builtins.list[dict[str, Any]]) -> bool:
        """`_settle`; False when a condition failed."""
        try:
            self._settle(items)
        except ConditionFailed:
            return False
        return True

    @_upkeep
    def _index_created(self, key: str) -> None:
        """Put the index item of `key` if its entry exists (see the module docstring); if
        it does not, whoever deleted it since keeps the index item."""
        check = {"ConditionCheck": {**self._target(entry_location(key)), **EXISTS}}
        self._transaction_settled([check, self._index_put(key)])

    @_upkeep
    def _index_deleted(self, key: str) -> None:
        """Delete the index item of `key` if its entry is gone."""
        check = {"ConditionCheck": {**self._target(entry_location(key)), **MISSING}}
        self._transaction_settled([check, self._index_delete(key)])

    # --- folders -------------------------------------------------------------------------

    @_upkeep
    def _mark(self, folder: str) -> None:
        """Ensure `folder` and its ancestors have markers (after a key was created in it);
        a hot folder's ADD goes to one of its marker's shards (storage/markerheat)."""
        while folder:
            add = {
                # `born` names this marker's life: gen restarts at 1 when a marker is
                # deleted and made again, and a pruner must not take it for the one it read.
                "UpdateExpression": "ADD gen :one SET born = if_not_exists(born, :born)",
                "ExpressionAttributeValues": {**ONE, ":born": {"S": uuid.uuid4().hex}},
            }
            shard = self._heat.shard(folder)
            gen = int(self._update(*marker_location(folder, shard), add)["gen"]["N"])
            self._heat.saw(folder, shard, gen)
            if gen != 1:
                return  # it already existed, so its ancestors are marked
            folder = parent_folder(folder)

    @_upkeep
    def _prune(self, folder: str) -> None:
        """Remove the markers of `folder` and its ancestors while they are empty."""
        while folder and self._is_empty(folder):
            shards = self._marker_shards(folder)
            if not shards:
                return  # another deleter removed it and climbs for us
            # The second Query must follow the gen read: see the module docstring.
            if not self._is_empty(folder):
                return
            unchanged = [
                (shard["pk"]["S"], shard["sk"]["S"], {
                    "ConditionExpression": "gen = :gen AND born = :born",
                    "ExpressionAttributeValues": {":gen": shard["gen"], ":born": shard["born"]},
                })
                for shard in shards
            ]  # fmt: skip
            if len(unchanged) == 1:
                deleted = self._delete_item(*unchanged[0])
            else:  # all of them or none: one touched shard keeps the folder listed
                deleted = self._transaction_settled([
                    {"Delete": {**self._target((pk, sk)), **condition}}
                    for pk, sk, condition in unchanged
                ])  # fmt: skip
            if not deleted:
                return  # a creator touched one: the folder is in use again
            folder = parent_folder(folder)

    def _marker_shards(self, folder: str) -> builtins.list[dict[str, Any]]:
        """The marker of `folder` and its shards as they stand (gen and born included)."""
        pk, name = marker_location(folder)
        params = {
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :name)",
            "ExpressionAttributeValues": {":pk": {"S": pk}, ":name": {"S": name}},
            "ConsistentRead": True,
        }
        return [item for page in self._query(params) for item in page["Items"]]

    def _is_empty(self, folder: str) -> bool:
        return next(self._sort_keys(folder_pk(folder), limit=1), None) is None

    def _walk(self, folder: str) -> Iterator[tuple[str, str]]:
        """The (pk, sk) of every item under `folder`, depth first, each folder's marker
        after its contents."""
        pk = folder_pk(folder)
        entered = None
        for sk in self._sort_keys(pk):
            sub = marked_folder(sk)
            if sub is not None and sub != entered:  # once per folder, not per shard
                entered = sub
                yield from self._walk(folder + sub)
            yield pk, sk

    # --- prefix operations -----------------------------------------------------------------

    def delete_prefix(self, prefix: str) -> int:
        """Delete every entry (with its index item) and marker under `prefix`; returns the
        number of entries. Entries first: a crash leaves index items the next call finds.

        Meant for unmount: concurrent writers under the prefix are not expected.
        """
        check_prefix(prefix)
        listed = builtins.list(self._walk(prefix))
        entries = [
            entry_location(storage_key(pk, sk)) for pk, sk in listed if marked_folder(sk) is None
        ]
        self._raw_batch_delete(entries)
        self._raw_batch_delete(listed)
        self._prune(prefix)
        return len(entries)

    # --- the due index -------------------------------------------------------------------

    def due_keys(self, bucket: str, until: int, limit: int) -> tuple[builtins.list[str], int]:
        keys: builtins.list[str] = []
        read = 0
        params = {
            "IndexName": DUE_INDEX,
            "KeyConditionExpression": "due = :due AND exp <= :until",
            "ExpressionAttributeValues": {":due": {"S": bucket}, ":until": number_value(until)},
            "Limit": min(limit, _DUE_PAGE),
        }
        for page in self._query(params):
            read += page["Count"]
            keys += (storage_key(item["pk"]["S"]) for item in page["Items"])
            if len(keys) >= limit:
                break
        return keys[:limit], read
