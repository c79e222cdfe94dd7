"""DynamoDB's wire format for the physical backend: where each item lives, how big it is,
and the request fragments and answers `DynamoDBPhysical` sends and reads (the layout and
its protocols are described in chalicelib/storage/dynamodb.py).

Everything here is a pure function of its arguments: no request is sent from this module.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from chalicelib.core.errors import BadRequest, EntryTooLarge
from chalicelib.storage.physical import (
    NOT_DUE,
    ClusterState,
    Delete,
    Due,
    Entry,
    Put,
    WriteOp,
    check_key,
    check_version,
    frozen_generations,
    parent_folder,
)

if TYPE_CHECKING:
    from botocore.exceptions import ClientError

MAX_ITEM_BYTES = 400 * 1024  # DynamoDB's item limit: attribute names + values
MAX_TRANSACT_ITEMS = 100
MAX_TRANSACT_BYTES = 4 * 1024 * 1024
MAX_PK_BYTES = 2048
MAX_SK_BYTES = 1024
# A number takes at most 21 bytes (38 significant digits); `ver` is sized as such because its
# new value is computed server-side.
NUMBER_BYTES = 21

ENTRY_SK = "$"  # every entry's sort key: its pk is the whole key
CONDITION_FAILED = "ConditionalCheckFailedException"


# --- key layout -------------------------------------------------------------------------


def folder_pk(folder: str) -> str:
    return "/" + folder


def entry_location(key: str) -> tuple[str, str]:
    """(pk, sk) of a key's entry item; `key` has been checked."""
    return "/" + key, ENTRY_SK


def index_location(key: str) -> tuple[str, str]:
    """(pk, sk) of a key's index item: its folder's pk and its last segment."""
    head, _, name = key.rpartition("/")
    return folder_pk(f"{head}/" if head else ""), name


# A folder whose marker takes more creations than one item absorbs spreads them over
# shards "b/#1".."b/#15" beside "b/" (see storage/markerheat and the marker protocol).
MARKER_SHARDS = 16


def marker_location(folder: str, shard: int = 0) -> tuple[str, str]:
    """(pk, sk) of the marker (or marker shard) of a non-root `folder` ("a/b/" ->
    ("/a/", "b/"); shard 3: ("/a/", "b/#3"))."""
    pk, name = index_location(folder[:-1])
    return pk, f"{name}/#{shard}" if shard else name + "/"


def marked_folder(sk: str) -> str | None:
    """The sub-folder name ("b/") that a sort key in a folder's pk marks, whether the
    marker or one of its shards; None for an index item (whose names hold no "/")."""
    cut = sk.find("/")
    return None if cut < 0 else sk[: cut + 1]


def storage_key(pk: str, name: str = "") -> str:
    """The key of an entry's pk, or of an index item's (folder pk, name)."""
    return pk[1:] + name


def checked_location(key: str) -> tuple[str, str]:
    """(pk, sk) of the entry of `key`, which must be valid and fit DynamoDB's key sizes."""
    check_key(key)
    pk, sk = entry_location(key)
    if len(pk.encode()) > MAX_PK_BYTES or len(index_location(key)[1].encode()) > MAX_SK_BYTES:
        raise BadRequest(
            "storage key too long for DynamoDB (2047 bytes, 1024 in its last segment)"
        )
    return pk, sk


# --- size limits ------------------------------------------------------------------------


def entry_size(pk: str, sk: str, value: bytes, due: Due | None = None) -> int:
    """The DynamoDB size of an entry item: UTF-8 attribute names plus value sizes."""
    marked = due is not None and due != NOT_DUE
    return (
        len("pk") + len(pk.encode())
        + len("sk") + len(sk.encode())
        + len("v") + len(value)
        + len("ver") + NUMBER_BYTES
        + (len("due") + len(due.bucket.encode()) + len("exp") + NUMBER_BYTES if marked else 0)
    )  # fmt: skip


def index_size(key: str) -> int:
    """The DynamoDB size of a key's index item (its keys only)."""
    pk, sk = index_location(key)
    return len("pk") + len(pk.encode()) + len("sk") + len(sk.encode())


def check_entry_size(size: int) -> None:
    if size > MAX_ITEM_BYTES:
        raise EntryTooLarge(
            f"entry too large: {size} bytes including its key and encryption overhead; "
            f"DynamoDB stores at most {MAX_ITEM_BYTES} bytes per item"
        )


def check_transaction_size(ops: Sequence[WriteOp], reserved: int = 0) -> int:
    """Validate a transaction before sending it (`reserved`: items it adds beside the
    entries); returns its entries' size in bytes."""
    if len(ops) + reserved > MAX_TRANSACT_ITEMS:
        raise BadRequest(
            f"transaction has {len(ops) + reserved} operations;"
            f" DynamoDB allows {MAX_TRANSACT_ITEMS}"
        )
    keys: set[str] = set()
    total = 0
    for op in ops:
        check_version(op.expected_version)
        if op.key in keys:
            raise BadRequest("a transaction may touch each storage key only once")
        keys.add(op.key)
        pk, sk = checked_location(op.key)
        value, due = (op.value, op.due) if isinstance(op, Put) else (b"", None)
        size = entry_size(pk, sk, value, due)
        check_entry_size(size)
        total += size
    if total > MAX_TRANSACT_BYTES:
        raise BadRequest(
            f"transaction is {total} bytes; DynamoDB allows {MAX_TRANSACT_BYTES} bytes"
        )
    return total


def changes_existence(op: WriteOp) -> bool:
    """Whether `op` may create or delete a listed key, so its index item must follow: a
    Put with expected_version 0 or None (creation or overwrite: unknown), any Delete but
    one with 0 (which succeeds only when there is nothing to delete)."""
    if not op.listed:
        return False
    if isinstance(op, Put):
        return op.expected_version in (None, 0)
    return op.expected_version != 0


# --- requests in DynamoDB's wire format ------------------------------------------------------


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def lost_condition(error: ClientError) -> bool:
    return error_code(error) == CONDITION_FAILED


def refused_size(error: ClientError) -> bool:
    """The service's own size refusal (moto's limit is below DynamoDB's, and counts the
    old value too on UpdateItem), so it reaches the client as the same clear 400."""
    message = str(error.response.get("Error", {}).get("Message", ""))
    return error_code(error) == "ValidationException" and "size" in message.lower()


def cancellation_codes(error: ClientError) -> set[str]:
    """Why a transaction was cancelled, item by item ("None" for items that were fine)."""
    return {reason.get("Code", "") for reason in error.response.get("CancellationReasons", [])}


def failed_conditions(error: ClientError) -> frozenset[int]:
    """The positions of a cancelled transaction's items whose condition failed (empty when
    DynamoDB gave no reasons)."""
    reasons = error.response.get("CancellationReasons", [])
    return frozenset(
        n for n, reason in enumerate(reasons) if reason.get("Code") == "ConditionalCheckFailed"
    )


def too_large() -> EntryTooLarge:
    return EntryTooLarge(
        f"entry too large: DynamoDB refused the item; it stores at most {MAX_ITEM_BYTES} bytes"
    )


def raw_key(pk: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def number_value(value: int) -> dict[str, str]:
    return {"N": str(value)}


def version_condition(expected_version: int | None) -> dict[str, Any]:
    """The ConditionExpression (and its values) of a write on `expected_version`."""
    check_version(expected_version)
    if expected_version is None:
        return {}
    if expected_version == 0:
        return MISSING
    return {
        "ConditionExpression": "ver = :expected",
        "ExpressionAttributeValues": {":expected": number_value(expected_version)},
    }


def with_condition(params: dict[str, Any], condition: dict[str, Any]) -> dict[str, Any]:
    """`params` plus a condition, merging their expression values."""
    if not condition:
        return params
    values = {**params.get("ExpressionAttributeValues", {}), **condition.get(
        "ExpressionAttributeValues", {}
    )}
    merged = {**params, "ConditionExpression": condition["ConditionExpression"]}
    if values:
        merged["ExpressionAttributeValues"] = values
    return merged


def entry_write(value: bytes, due: Due | None, condition: dict[str, Any]) -> dict[str, Any]:
    """An entry's Update (no table, no key): the value, ver + 1 (ADD starts at 0, so one
    request both writes and reports whether the key is new: ver comes back 1), the due mark."""
    update = "SET v = :v"
    values: dict[str, Any] = {":v": {"B": value}, **ONE}
    if due == NOT_DUE:
        update += " REMOVE due, exp"
    elif due is not None:
        update += ", due = :due, exp = :exp"
        values[":due"], values[":exp"] = {"S": due.bucket}, number_value(due.at)
    params = {"UpdateExpression": f"{update} ADD ver :one", "ExpressionAttributeValues": values}
    return with_condition(params, condition)


EXISTS = {"ConditionExpression": "attribute_exists(ver)"}  # the entry is there
MISSING = {"ConditionExpression": "attribute_not_exists(ver)"}


def raw_entry(raw: dict[str, Any]) -> Entry:
    value = raw["v"]["B"] if "v" in raw else b""
    version = int(raw["ver"]["N"]) if "ver" in raw else 0
    return Entry(storage_key(raw["pk"]["S"]), value, version)


NO_STATE = ClusterState()  # a table not yet initialised
ONE = {":one": number_value(1)}  # the values of an `ADD <attribute> :one`


def raw_state(raw: dict[str, Any]) -> ClusterState:
    gens = raw.get("gens", {}).get("M", {})
    return ClusterState(
        raw.get("sealed", {}).get("BOOL", False),
        int(raw["term"]["N"]) if "term" in raw else 0,
        frozen_generations({name: int(count["N"]) for name, count in gens.items()}),
    )


def folders_to_mark(ops: Sequence[WriteOp]) -> list[str]:
    """Folders whose markers a committed transaction must ensure (as for single puts).

    An unconditional Put rewrites its index item whether or not it created its key, so its
    folder is marked anyway: an extra ADD on an existing marker is harmless (it can only
    make a concurrent pruner stop, and the folder is not empty).
    """
    creating = (op for op in ops if isinstance(op, Put) and changes_existence(op))
    return sorted({parent_folder(op.key) for op in creating})


def folders_to_prune(ops: Sequence[WriteOp]) -> list[str]:
    """Folders a committed transaction may have emptied (those that got a put did not)."""
    written = {parent_folder(op.key) for op in ops if isinstance(op, Put)}
    deleting = (op for op in ops if isinstance(op, Delete) and changes_existence(op))
    return sorted({parent_folder(op.key) for op in deleting} - written)
