"""A fault injector for the AWS clients the runtime makes, in moto-backed tests.

One botocore ``before-call`` hook on the runtime's DynamoDB, KMS and Firehose clients
records every call by service and operation, and can answer any of them with a fault
instead of moto: the Nth call of a request, or every call while an outage lasts.
``before-call`` runs above botocore's retry loop, so a fault stands for what botocore
raises once its own retries are spent.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple

import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import EndpointConnectionError

HOOK_ID = "lambdavault-fault-injector"
Answer = tuple[AWSResponse, dict[str, Any]]


class Call(NamedTuple):
    service: str  # botocore's service name: dynamodb, kms, firehose
    operation: str
    upkeep: bool = False  # folder-marker upkeep after a committed write (best effort)

    def __str__(self) -> str:
        return f"{self.service}:{self.operation}{' (upkeep)' if self.upkeep else ''}"


def _is_upkeep(operation: str, params: dict[str, Any]) -> bool:
    """A folder marker's read, write or delete, or the emptiness Query before a prune (none
    of the operations under test lists a folder)."""
    if operation == "Query":
        return True
    if operation not in ("GetItem", "UpdateItem", "DeleteItem"):
        return False
    sort_key: str = _body(params)["Key"]["sk"]["S"]
    return sort_key.endswith("/")


class Fault(NamedTuple):
    """What a failing call answers, and which calls can fail that way."""

    name: str
    services: frozenset[str]
    answer: Callable[[Call, dict[str, Any]], Answer]
    operations: frozenset[str] = frozenset()  # empty: any operation of those services

    def applies(self, call: Call) -> bool:
        return call.service in self.services and (
            not self.operations or call.operation in self.operations
        )


def _reply(status: int, parsed: dict[str, Any]) -> Answer:
    parsed["ResponseMetadata"] = {"HTTPStatusCode": status, "HTTPHeaders": {}}
    return AWSResponse("https://fault.invalid/", status, {}, None), parsed


def _error(code: str, status: int) -> Callable[[Call, dict[str, Any]], Answer]:
    def answer(call: Call, params: dict[str, Any]) -> Answer:
        return _reply(status, {"Error": {"Code": code, "Message": f"injected {code}"}})

    return answer


def _unreachable(call: Call, params: dict[str, Any]) -> Answer:
    raise EndpointConnectionError(endpoint_url=f"https://{call.service}.invalid/")


def _body(params: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(params["body"])
    return body


def _conflict(call: Call, params: dict[str, Any]) -> Answer:
    """A writer's transaction on the same items is in flight: DynamoDB cancels this one."""
    items = _body(params)["TransactItems"]
    reasons = [{"Code": "TransactionConflict", "Message": "conflict"} for _ in items]
    return _reply(
        400,
        {
            "Error": {"Code": "TransactionCanceledException", "Message": "[TransactionConflict]"},
            "CancellationReasons": reasons,
        },
    )


def _unprocessed(call: Call, params: dict[str, Any]) -> Answer:
    """A throttled BatchGetItem round: it succeeds, with every key left unprocessed."""
    wanted = _body(params)["RequestItems"]
    return _reply(200, {"Responses": {table: [] for table in wanted}, "UnprocessedKeys": wanted})


def _unprocessed_items(call: Call, params: dict[str, Any]) -> Answer:
    """A throttled BatchWriteItem round: it succeeds, with every request left unprocessed."""
    return _reply(200, {"UnprocessedItems": _body(params)["RequestItems"]})


DYNAMODB, KMS, FIREHOSE = frozenset({"dynamodb"}), frozenset({"kms"}), frozenset({"firehose"})
ALL = DYNAMODB | KMS | FIREHOSE
FAULTS = {
    fault.name: fault
    for fault in (
        Fault("ProvisionedThroughputExceededException", DYNAMODB, _error(
            "ProvisionedThroughputExceededException", 400)),
        Fault("ThrottlingException", ALL, _error("ThrottlingException", 400)),
        Fault("RequestLimitExceeded", DYNAMODB, _error("RequestLimitExceeded", 400)),
        Fault("InternalServerError", DYNAMODB, _error("InternalServerError", 500)),
        Fault("KMSInternalException", KMS, _error("KMSInternalException", 500)),
        Fault("ServiceUnavailableException", FIREHOSE, _error("ServiceUnavailableException", 503)),
        Fault("EndpointConnectionError", ALL, _unreachable),
        Fault("TransactionConflict", DYNAMODB, _conflict, frozenset({"TransactWriteItems"})),
        Fault("UnprocessedKeys", DYNAMODB, _unprocessed, frozenset({"BatchGetItem"})),
        Fault("UnprocessedItems", DYNAMODB, _unprocessed_items, frozenset({"BatchWriteItem"})),
    )
}  # fmt: skip


class Injector:
    """Records the runtime's AWS calls; fails the one at ``fail_at`` (counted from the last
    :meth:`restart`), or every call ``outage`` applies to."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.fault: Fault | None = None
        self.fail_at = -1
        self.outage: Fault | None = None
        self.failed: list[Call] = []

    def restart(self, fault: Fault | None = None, fail_at: int = -1) -> None:
        self.calls, self.failed = [], []
        self.fault, self.fail_at = fault, fail_at

    def before_call(self, model: Any, params: dict[str, Any], **_: Any) -> Answer | None:
        service = model.service_model.service_name
        upkeep = service == "dynamodb" and _is_upkeep(model.name, params)
        call = Call(service, model.name, upkeep)
        index = len(self.calls)
        self.calls.append(call)
        fault = (
            self.outage
            if self.outage is not None
            else (self.fault if index == self.fail_at else None)
        )
        if fault is None or not fault.applies(call):
            return None
        self.failed.append(call)
        return fault.answer(call, params)

    @contextmanager
    def down(self, fault: Fault) -> Iterator[None]:
        """Every call that ``fault`` applies to fails until the block ends."""
        self.outage = fault
        try:
            yield
        finally:
            self.outage = None


def _runtime_emitters() -> list[Any]:
    """The event emitters of the runtime's storage and KMS clients (one per process)."""
    from chalicelib.seal.kms import kms_client
    from chalicelib.settings import settings
    from chalicelib.storage.dynamotable import connection_of, item_class

    config = settings()
    model = item_class(config.table_name, config.region, config.endpoint_url)
    return [connection_of(model).client.meta.events, kms_client().meta.events]


@pytest.fixture(name="injector")
def fault_injector(aws: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Injector]:
    """An :class:`Injector` on every AWS client the runtime uses or will make."""
    from chalicelib.audit import devices

    found = Injector()
    hooked = _runtime_emitters()
    made = devices.Context.client

    def hooked_client(self: devices.Context, service: str, **config: Any) -> Any:
        # The audit devices' clients come from a per-thread session: hook each one made.
        client = made(self, service, **config)
        client.meta.events.register("before-call", found.before_call, unique_id=HOOK_ID)
        hooked.append(client.meta.events)
        return client

    monkeypatch.setattr(devices.Context, "client", hooked_client)
    for events in hooked:
        events.register("before-call", found.before_call, unique_id=HOOK_ID)
    try:
        yield found
    finally:
        for events in hooked:
            events.unregister("before-call", unique_id=HOOK_ID)
