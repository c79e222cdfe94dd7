"""Storage: the physical contract, the DynamoDB backend, the barrier and per-mount views.

`DynamoDBPhysical` and `create_table` are loaded on first access, so importing the types
does not import pynamodb/botocore.
"""

from typing import TYPE_CHECKING, Any

from chalicelib.storage.barrier import Barrier, BarrierError, Keyring
from chalicelib.storage.physical import (
    ClusterState,
    ConditionFailed,
    Delete,
    Entry,
    Physical,
    Put,
    WriteOp,
)
from chalicelib.storage.view import StorageView

if TYPE_CHECKING:
    from chalicelib.storage.dynamodb import DynamoDBPhysical
    from chalicelib.storage.dynamotable import create_table

__all__ = [
    "Barrier",
    "BarrierError",
    "ClusterState",
    "ConditionFailed",
    "Delete",
    "DynamoDBPhysical",
    "Entry",
    "Keyring",
    "Physical",
    "Put",
    "StorageView",
    "WriteOp",
    "create_table",
]

_LAZY = {"DynamoDBPhysical": "dynamodb", "create_table": "dynamotable"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f"chalicelib.storage.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
