"""Unversioned JSON secrets, as KV v1 and cubbyhole store them: one entry per secret.

The stored value is exactly the JSON object the client wrote, so a read returns it
unchanged (a `ttl` key included). Shared by engines through the framework, since one
engine never imports another.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib.core.errors import BadRequest
from chalicelib.core.request import Response
from chalicelib.storage.view import StorageView


def is_storable(path: str) -> bool:
    """Whether `path` can name an entry: non-empty, no empty segment, no leading/trailing '/'."""
    return bool(path) and not path.startswith("/") and not path.endswith("/") and "//" not in path


def check_writable(path: str) -> str:
    """The path a write may create; Vault's messages for the paths it refuses."""
    if not path or path.endswith("/"):
        raise BadRequest("cannot write to a path ending in '/'")
    if not is_storable(path):
        raise BadRequest("invalid path: empty path segment")
    return path


def folder_of(path: str) -> str | None:
    """The storage folder a LIST of `path` means ("" for the root), None if it cannot exist.

    Vault lists "a" and "a/" alike.
    """
    if path in ("", "/"):
        return ""
    stripped = path[:-1] if path.endswith("/") else path
    return f"{stripped}/" if is_storable(stripped) else None


def read_secret(view: StorageView, prefix: str, path: str) -> dict[str, Any] | None:
    """The secret at `prefix + path`; None for a path that cannot name one."""
    if not is_storable(path):
        return None
    secret = view.get_json(prefix + path)
    return secret if isinstance(secret, dict) else None


def secret_exists(view: StorageView, prefix: str, path: str) -> bool:
    return is_storable(path) and view.get(prefix + path) is not None


def write_secret(view: StorageView, prefix: str, path: str, body: Mapping[str, Any]) -> None:
    """Store the request body as the secret; an empty body is refused, as Vault."""
    check_writable(path)
    if not body:
        raise BadRequest("missing data fields")
    view.put_json(prefix + path, dict(body))


def delete_secret(view: StorageView, prefix: str, path: str) -> None:
    """Deleting what does not exist is not an error (Vault answers 204 either way)."""
    if is_storable(path):
        view.delete(prefix + path)


def list_secrets(view: StorageView, prefix: str, path: str) -> Response | None:
    """Names and "folder/" names under `path` ("a" and "a/" alike); 404 when none."""
    folder = folder_of(path)
    keys = view.list(prefix + folder) if folder is not None else []
    return Response(data={"keys": keys}) if keys else None
