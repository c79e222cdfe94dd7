"""A PATCH's Content-Type, parsed and refused as OpenBao 2.7.2 does (Go's mime package)."""

from __future__ import annotations

import pytest

from chalicelib.core.errors import VaultError
from chalicelib.transports.mediatype import require_merge_patch


@pytest.mark.parametrize("header", [
    "application/merge-patch+json",
    "APPLICATION/MERGE-PATCH+JSON",
    "application/merge-patch+json; charset=utf-8",
    " application/merge-patch+json ;",
])
def test_merge_patch_is_accepted(header: str) -> None:
    require_merge_patch(header)


# Status and words from `bao server -dev` for the same Content-Type on a PATCH.
@pytest.mark.parametrize(("header", "status", "message"), [
    ("", 400, "mime: no media type"),
    ("/json", 400, "mime: no media type"),
    ("application/", 400, "mime: expected token after slash"),
    ("a/b c", 400, "mime: unexpected content after media subtype"),
    ("application/merge-patch+json; x", 400, "mime: invalid media parameter"),
    ("application/json", 415,
     "PATCH requires Content-Type of application/merge-patch+json, provided application/json"),
    ("Text/Plain; charset=utf-8", 415,
     "PATCH requires Content-Type of application/merge-patch+json, provided text/plain"),
    ("application", 415,
     "PATCH requires Content-Type of application/merge-patch+json, provided application"),
])
def test_other_types_are_refused_with_go_words(header: str, status: int, message: str) -> None:
    with pytest.raises(VaultError) as refused:
        require_merge_patch(header)
    assert (refused.value.status, refused.value.message) == (status, message)
