"""Where KV keeps things inside its mount's storage view, and which secret paths are valid.

Layout (keys relative to the mount's view):
  v1/<path>               a version-1 secret: the JSON object the client wrote
  config                  the version-2 engine configuration
  meta/<path>             a version-2 secret: its metadata AND its current version's data,
                          so reading the latest version is one GetItem
  version/<path>/<n>      an older version's data, written when a newer version replaces it
  upgrade                 the v1 -> v2 upgrade's progress, on mounts that were version 1

Each version owns a namespace of its own (v1/ vs meta/, version/, config), so the v1 -> v2
upgrade never has to guess whether a key is an old secret or a migrated one, whatever
names clients chose. Version items are deleted by exact key (numbers come from the
metadata), never by prefix: "version/a/b/" also holds the versions of a secret "a/b/c".
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.core.errors import BadRequest

if TYPE_CHECKING:
    pass

V1_PREFIX = "v1/"
META_PREFIX = "meta/"
VERSION_PREFIX = "version/"
CONFIG_KEY = "config"
UPGRADE_KEY = "upgrade"


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


def v1_key(path: str) -> str:
    return V1_PREFIX + path


def meta_key(path: str) -> str:
    return META_PREFIX + path


def version_key(path: str, version: int) -> str:
    return f"{VERSION_PREFIX}{path}/{version}"
