"""Where KV keeps things inside its mount's storage view, and which secret paths are valid.

Layout (keys relative to the mount's view):
  v1/<path>               a version-1 secret: the JSON object the client wrote
  config                  the version-2 engine configuration
  meta/<path>             a version-2 secret: its metadata AND its current version's data,
                          so reading the latest version is one GetItem
  version/<path>/<k>.<tag>  slot k of the secret: an archived (older) version's number and
                          data. A new version's predecessor moves into a free slot, so a
                          secret keeping 10 versions cycles through 10 slot items, overwritten
                          in place (no new key, no delete). <tag> names the secret's
                          incarnation (see `incarnation_tag`).
  version/<path>/<n>      version n's data as older code archived it (one item per version);
                          still read, and deleted once the version is pruned or destroyed
  upgrade                 the v1 -> v2 upgrade's progress, on mounts that were version 1

Each version owns a namespace of its own (v1/ vs meta/, version/, config), so the v1 -> v2
upgrade never has to guess whether a key is an old secret or a migrated one, whatever
names clients chose. Version items are deleted by exact key (numbers and slots come from
the metadata), never by prefix: "version/a/b/" also holds the versions of a secret "a/b/c".
A slot's name holds a "." and a legacy item's is all digits: they never collide.
"""

from __future__ import annotations

import base64
import hashlib

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


def incarnation_tag(created_ns: int) -> str:
    """Eight key-safe characters (48 bits of a digest) of the secret's creation time.

    A secret deleted and written again is a new incarnation with slots of its own: a
    writer that stalled across the delete can only touch the old incarnation's keys.
    """
    digest = hashlib.blake2b(created_ns.to_bytes(8, "big"), digest_size=6).digest()
    return base64.urlsafe_b64encode(digest).decode()


def slot_key(path: str, slot: int, tag: str) -> str:
    return f"{VERSION_PREFIX}{path}/{slot}.{tag}"
