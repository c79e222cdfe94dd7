"""What handlers of any backend use to reach their mount's storage and page its listings."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.framework.field import Field
from chalicelib.framework.fieldtypes import FieldType

if TYPE_CHECKING:
    from chalicelib.core.request import Request
    from chalicelib.storage.view import StorageView


def view_of(request: Request) -> StorageView:
    """The mount's storage view, which the pipeline sets before any handler runs."""
    assert request.storage is not None
    return request.storage


# The fields of a paged LIST (Vault's `after` and `limit`), handed to ``page``.
PAGE_FIELDS = {"after": Field(FieldType.STRING, ""), "limit": Field(FieldType.INT, 0)}


def page(keys: list[str], after: str = "", limit: int = 0) -> list[str]:
    """Vault's list paging: entries sorted after `after`, at most `limit` (<= 0: all)."""
    selected = [key for key in keys if key > after] if after else keys
    return selected[:limit] if limit > 0 else selected
