"""batch_input: decoding its items and answering with Vault's per-item results.

An item that fails carries its own ``error``; the other items still succeed. As Vault,
the status is 400 when any item failed (``partial_failure_response_code`` replaces it
when at least one item succeeded) and 200 otherwise.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from chalicelib.core.errors import BadRequest
from chalicelib.core.request import Response
from chalicelib.framework import FieldData

_GO_TYPES = {bool: "bool", int: "json.Number", float: "json.Number", str: "string",
             dict: "map[string]interface {}", list: "[]interface {}"}


def _go_type(value: Any) -> str:
    return _GO_TYPES.get(type(value), "<nil>")


def items(data: FieldData, strings: tuple[str, ...]) -> list[dict[str, Any]] | None:
    """The batch items, or None without batch_input; ``strings`` must be strings."""
    raw = data.raw.get("batch_input")
    if raw is None:
        return None
    if not isinstance(raw, list):
        raise BadRequest(
            f"failed to parse batch input: source data must be an array or slice, "
            f"got {_go_type(raw)}"
        )
    if not raw:
        raise BadRequest("missing batch input to process")
    problems = []
    for index, item in enumerate(raw):
        if not isinstance(item, dict):
            raise BadRequest(
                f"failed to parse batch input: [{index}] expected a map, got '{_go_type(item)}'"
            )
        for name, value in item.items():
            if name in strings and value is not None and not isinstance(value, str):
                problems.append(
                    f"'[{index}].{name}' expected type 'string', got unconvertible type "
                    f"'{_go_type(value)}'"
                )
    if problems:
        raise BadRequest("failed to parse batch input: " + "\n".join(problems))
    return raw


def key_version(value: Any) -> int:
    if value is None or value == "":
        return 0
    if isinstance(value, bool):
        raise BadRequest("key_version must be an integer")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise BadRequest("key_version must be an integer") from None


def respond(data: FieldData, results: list[dict[str, Any]], *, batch: bool,
            single: tuple[str, ...], failures_are_400: bool = True) -> Response:
    """The batch answer, or for a single item its fields (or its error as a 400).

    Encrypt and decrypt answer a batch with a failed item with 400; the other batch
    endpoints (rewrap, hmac, sign, verify) answer 200 and let the items speak.
    """
    if not batch:
        only = results[0]
        if "error" in only:
            raise BadRequest(only["error"])
        return Response(data={name: only[name] for name in single if name in only})
    failed = sum(1 for result in results if "error" in result)
    response = Response(data={"batch_results": results})
    if failed and failures_are_400:
        response.status = HTTPStatus.BAD_REQUEST
        override = data.raw.get("partial_failure_response_code")
        if override is not None and failed < len(results):
            code = key_version(override)
            if 1 <= code <= 599:
                response.status = code
            else:
                response.warnings.append(
                    "invalid HTTP response code override from partial_failure_response_code, "
                    "reverting to 400"
                )
    return response
