"""A role: the tags, vhost permissions and topic permissions of the users
`creds/<name>` creates. Stored at ``role/<name>`` with Vault's field names.

``vhosts`` and ``vhost_topics`` arrive as JSON strings and are decoded as Vault's Go
structs decode them (see gojson.py): unknown keys ignored, missing permissions empty.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from chalicelib.engines.rabbitmq.gojson import decode_first, decode_map, decode_struct

if TYPE_CHECKING:
    from chalicelib.storage.view import StorageView

ROLE_PREFIX = "role/"
VHOST_FIELDS = ("configure", "write", "read")
TOPIC_FIELDS = ("write", "read")
_VHOST_STRUCT = "rabbitmq.vhostPermission"
_TOPIC_STRUCT = "rabbitmq.vhostTopicPermission"

# vhost -> {"configure", "write", "read"}
VHosts = dict[str, dict[str, str]]
# vhost -> exchange -> {"write", "read"}
VHostTopics = dict[str, dict[str, dict[str, str]]]


@dataclass(slots=True)
class Role:
    tags: str = ""
    vhosts: VHosts = field(default_factory=dict)
    vhost_topics: VHostTopics = field(default_factory=dict)

    @classmethod
    def from_storage(cls, raw: dict[str, Any]) -> Role:
        # Go stores an absent map as null.
        return cls(raw.get("tags") or "", raw.get("vhosts") or {}, raw.get("vhost_topics") or {})

    def to_storage(self) -> dict[str, Any]:
        return asdict(self)


def decode_vhosts(text: str) -> VHosts:
    """``vhosts`` as Vault decodes it into map[string]vhostPermission."""
    pairs = decode_map(decode_first(text), [], f"map[string]{_VHOST_STRUCT}") or []
    return {vhost: decode_struct(value, [vhost], _VHOST_STRUCT, VHOST_FIELDS)
            for vhost, value in pairs}


def decode_vhost_topics(text: str) -> VHostTopics:
    """``vhost_topics`` as Vault decodes it into map[string]map[string]vhostTopicPermission."""
    exchanges_type = f"map[string]{_TOPIC_STRUCT}"
    topics: VHostTopics = {}
    for vhost, value in decode_map(decode_first(text), [], f"map[string]{exchanges_type}") or []:
        topics[vhost] = {
            exchange: decode_struct(permission, [vhost, exchange], _TOPIC_STRUCT, TOPIC_FIELDS)
            for exchange, permission in decode_map(value, [vhost], exchanges_type) or []
        }
    return topics


def read_role(view: StorageView, name: str) -> Role | None:
    raw = view.get_json(ROLE_PREFIX + name)
    return None if raw is None else Role.from_storage(raw)


def write_role(view: StorageView, name: str, role: Role) -> None:
    view.put_json(ROLE_PREFIX + name, role.to_storage())
