"""A Content-Type's media type, refused with the words of Go's mime.ParseMediaType (what
OpenBao's HTTP layer answers a PATCH with a malformed Content-Type)."""

from __future__ import annotations

from http import HTTPStatus

from chalicelib.core.errors import BadRequest, VaultError

# RFC 2045 tspecials: with space and controls, what a token cannot hold.
_SPECIALS = frozenset('()<>@,;:\\"/[]?=')


def _token_length(text: str) -> int:
    for index, char in enumerate(text):
        if not (" " < char < "\x7f") or char in _SPECIALS:
            return index
    return len(text)


def media_type(header: str) -> str:
    """The lowercased media type of ``header`` ("application/json; charset=utf-8" ->
    "application/json"); BadRequest with Go's message when it does not parse."""
    head, _, params = header.partition(";")
    head = head.strip()
    first = _token_length(head)
    if first == 0:
        raise BadRequest("mime: no media type")
    rest = head[first:]
    if rest:
        if not rest.startswith("/"):
            raise BadRequest("mime: expected slash after first token")
        second = _token_length(rest[1:])
        if second == 0:
            raise BadRequest("mime: expected token after slash")
        if rest[1 + second:]:
            raise BadRequest("mime: unexpected content after media subtype")
    for param in params.split(";"):
        name, equals, _ = param.strip().partition("=")
        if param.strip() and (not equals or _token_length(name) != len(name) or not name):
            raise BadRequest("mime: invalid media parameter")
    return head.lower()


MERGE_PATCH = "application/merge-patch+json"


def require_merge_patch(header: str) -> None:
    """OpenBao's HTTP layer takes a PATCH body only as a JSON merge patch (RFC 7386):
    anything else is 415, before the request is routed or authenticated."""
    media = media_type(header)
    if media != MERGE_PATCH:
        raise VaultError(f"PATCH requires Content-Type of {MERGE_PATCH}, provided {media}",
                         status=HTTPStatus.UNSUPPORTED_MEDIA_TYPE)
