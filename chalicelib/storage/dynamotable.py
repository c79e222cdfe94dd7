"""The DynamoDB table's declaration: its keys and the `lease-due` index (pynamodb declares
them; items are read and written in the wire format by storage/dynamodb), the botocore
session every AWS client shares, and table creation for the dev server and tests."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.connection import Connection
from pynamodb.indexes import GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from chalicelib.core import awsfaults
from chalicelib.settings import settings
from chalicelib.storage.awsmodels import use_lean_loader

if TYPE_CHECKING:
    from botocore.session import Session as BotocoreSession

DUE_INDEX = "lease-due"


class DueIndex(GlobalSecondaryIndex["Item"]):
    """Entries by time bucket and due time; keys only, so a sweep reads no values here."""

    class Meta:
        index_name = DUE_INDEX
        projection = KeysOnlyProjection()

    due = UnicodeAttribute(hash_key=True)
    exp = NumberAttribute(range_key=True)


class Item(Model):
    """The table's schema: its keys and the due index (create_table). Items are read and
    written as DynamoDB's wire format through `DynamoDBPhysical._call` (storage/dynamodb),
    not as models."""

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    due = UnicodeAttribute(null=True)
    exp = NumberAttribute(null=True)
    due_index = DueIndex()


@functools.cache
def item_class(table_name: str, region: str, host: str | None) -> type[Item]:
    """The Item model bound to one table; built on first use (the table is only known then)."""
    meta = type(
        "Meta",
        (),
        {
            "table_name": table_name,
            "region": region,
            "host": host,
            "billing_mode": "PAY_PER_REQUEST",
            # botocore's standard retries, the same policy as every AWS client (awsfaults).
            "connect_timeout_seconds": awsfaults.CONNECT_TIMEOUT,
            "read_timeout_seconds": awsfaults.READ_TIMEOUT,
            "max_retry_attempts": awsfaults.MAX_ATTEMPTS - 1,
        },
    )
    model = type(f"Item_{table_name}", (Item,), {"Meta": meta, "__module__": __name__})
    use_lean_loader(connection_of(model).session)  # before pynamodb builds its client
    return model


def connection_of(model: type[Item]) -> Connection:
    """The model's low-level Connection (a private accessor of pynamodb's): the storage
    layer calls through its botocore client, and other clients share its session."""
    return model._get_connection().connection


def botocore_session() -> BotocoreSession:
    """The botocore session behind the table's connection, with the lean model loader.

    Other AWS clients (KMS) are built from it: a second session would load botocore's
    models and endpoints again, ~100 ms more on every cold start.
    """
    config = settings()
    model = item_class(config.table_name, config.region, config.endpoint_url)
    return use_lean_loader(connection_of(model).session)


def create_table(table_name: str | None = None) -> None:
    """Create the table (on demand) when missing: for the dev server and tests."""
    config = settings()
    model = item_class(table_name or config.table_name, config.region, config.endpoint_url)
    if not model.exists():
        model.create_table(wait=True, billing_mode="PAY_PER_REQUEST")
