"""Every request gets a random version-4 UUID as its id, as Vault's request_id."""

from __future__ import annotations

import uuid

from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, new_request_id


def test_request_ids_are_random_version_4_uuids() -> None:
    ids = {new_request_id() for _ in range(2000)}
    assert len(ids) == 2000
    for text in ids:
        parsed = uuid.UUID(text)
        assert str(parsed) == text and parsed.version == 4 and parsed.variant == uuid.RFC_4122


def test_a_request_has_one_unless_the_transport_gave_one() -> None:
    assert uuid.UUID(Request(Operation.READ, "sys/mounts").request_id).version == 4
    assert Request(Operation.READ, "sys/mounts", request_id="given").request_id == "given"
