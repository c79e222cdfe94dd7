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

V1_PREFIX = "v1/"
META_PREFIX = "meta/"
VERSION_PREFIX = "version/"
CONFIG_KEY = "config"
UPGRADE_KEY = "upgrade"


def v1_key(path: str) -> str:
    return V1_PREFIX + path


def meta_key(path: str) -> str:
    return META_PREFIX + path


def version_key(path: str, version: int) -> str:
    return f"{VERSION_PREFIX}{path}/{version}"
