"""The lean AWS path (core/leanaws) against botocore: every hot operation through both, same
results and same exceptions -- under in-process moto (``mock_aws``) and over real HTTP to a
moto server (signing, core/leanhttp's connections, its failures).

Each scenario runs once per path on a freshly created table, so both see the same state.
Faults are injected at ``before-send`` (the raw HTTP answer, below the retry loop): both paths
then parse the same bytes and retry by the same client's handler.
"""

from __future__ import annotations

import base64
import copy
import datetime
import io
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import botocore.session
import pytest
import requests
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from botocore.exceptions import (
    ClientError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from chalicelib.core import awsfaults
from chalicelib.core.leanaws import lean
from tests import support
from tests.aws_auth_support import moto_server

REGION = "us-east-1"
TABLE = "lean-test"
STREAM = "lean-stream"
BUCKET = "lean-audit"
Call = Callable[[str, dict[str, Any]], dict[str, Any]]
Scenario = Callable[[Call], list[Any]]
# What a call's ResponseMetadata must agree on (request ids and headers differ per call).
_COMPARED_METADATA = ("HTTPStatusCode", "RetryAttempts", "MaxAttemptsReached", "RetryQuotaReached")


# --- the two backends ------------------------------------------------------------------------


@pytest.fixture(scope="module", params=["mock_aws", "server"])
def endpoint(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """None under in-process moto; a moto server's URL over HTTP."""
    with pytest.MonkeyPatch.context() as patch:
        for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
            patch.delenv(name, raising=False)
        patch.setenv("AWS_ACCESS_KEY_ID", "testing")
        patch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        patch.setenv("AWS_CONFIG_FILE", "/dev/null")
        patch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        if request.param == "mock_aws":
            from moto import mock_aws

            with mock_aws():
                yield None
        else:
            with moto_server() as url:
                yield url


silent_port = support.silent_port  # a port that accepts and never answers


def _client(service: str, endpoint: str | None, **options: Any) -> Any:
    return botocore.session.get_session().create_client(
        service, region_name=REGION, endpoint_url=endpoint,
        config=Config(**awsfaults.CLIENT_CONFIG), **options,
    )  # fmt: skip


@pytest.fixture(scope="module")
def dynamodb(endpoint: str | None) -> Any:
    return _client("dynamodb", endpoint)


@pytest.fixture(scope="module")
def firehose(endpoint: str | None) -> Any:
    s3 = _client("s3", endpoint)
    s3.create_bucket(Bucket=BUCKET)
    client = _client("firehose", endpoint)
    client.create_delivery_stream(
        DeliveryStreamName=STREAM,
        ExtendedS3DestinationConfiguration={
            "RoleARN": "arn:aws:iam::123456789012:role/firehose",
            "BucketARN": f"arn:aws:s3:::{BUCKET}",
        },
    )
    return client


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Retry backoffs, recorded instead of slept (both paths sleep through time.sleep)."""
    slept: list[float] = []
    monkeypatch.setattr(time, "sleep", slept.append)
    return slept


def _attempts(client: Any) -> int:
    """The attempts the client's STANDARD retry handler allows (its config's, the lean
    path's too: it asks that handler)."""
    total: int = client.meta.config.retries["total_max_attempts"]
    return total


def _paths(client: Any) -> dict[str, Call]:
    return {"botocore": client._make_api_call, "lean": lean(client).call}


def _fresh_table(client: Any) -> None:
    if TABLE in client.list_tables()["TableNames"]:
        client.delete_table(TableName=TABLE)
    keys = [("pk", "S"), ("sk", "S"), ("due", "S"), ("exp", "N")]
    client.create_table(
        TableName=TABLE,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                   {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": t} for n, t in keys],
        GlobalSecondaryIndexes=[{
            "IndexName": "lease-due",
            "KeySchema": [{"AttributeName": "due", "KeyType": "HASH"},
                          {"AttributeName": "exp", "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": "KEYS_ONLY"},
        }],
    )  # fmt: skip


def _plain(response: dict[str, Any]) -> dict[str, Any]:
    plain = {name: value for name, value in response.items() if name != "ResponseMetadata"}
    metadata = response.get("ResponseMetadata", {})
    plain["ResponseMetadata"] = {k: metadata[k] for k in _COMPARED_METADATA if k in metadata}
    return plain


def outcome(call: Call, operation: str, params: dict[str, Any]) -> Any:
    """What a call gives, comparably: its result, or its exception's class and response."""
    try:
        return "ok", _plain(call(operation, copy.deepcopy(params)))
    except ClientError as error:
        return type(error), error.operation_name, _plain(error.response)


def agree(client: Any, scenario: Scenario, *, fresh: bool = True) -> list[Any]:
    """Run ``scenario`` through botocore and the lean path; both must see the same."""
    seen = {}
    for name, call in _paths(client).items():
        if fresh:
            _fresh_table(client)
        seen[name] = scenario(call)
    assert seen["lean"] == seen["botocore"]
    return seen["lean"]


# --- fault injection at the HTTP answer --------------------------------------------------------


class _Raw(io.BytesIO):
    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.getvalue()


def http_answer(status: int, body: dict[str, Any], url: str = "https://x.invalid/") -> AWSResponse:
    headers = {"x-amzn-requestid": "injected", "content-type": "application/x-amz-json-1.0"}
    return AWSResponse(url, status, headers, _Raw(json.dumps(body).encode()))


def error_body(code: str, message: str = "injected", **fields: Any) -> dict[str, Any]:
    return {"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": message, **fields}


@contextmanager
def answering(client: Any, answers: Callable[[int], AWSResponse | None]) -> Iterator[list[str]]:
    """``answers(n)`` answers the n-th attempt (None: the backend answers); yields the list
    of attempted operations."""
    attempts: list[str] = []

    def before_send(request: Any, event_name: str, **_: Any) -> AWSResponse | None:
        attempts.append(event_name.rsplit(".", 1)[1])
        return answers(len(attempts) - 1)

    client.meta.events.register_first("before-send", before_send, unique_id="lean-test")
    try:
        yield attempts
    finally:
        client.meta.events.unregister("before-send", unique_id="lean-test")


# --- scenarios ---------------------------------------------------------------------------------

VALUE = bytes(range(256)) * 4
ITEM = {
    "pk": {"S": "/secret/meta/"},
    "sk": {"S": "app"},
    "v": {"B": VALUE},
    "ver": {"N": "1"},
    "big": {"N": "123456789012345678901234567890.5"},
    "tags": {"SS": ["a", "b"]},
    "blobs": {"BS": [b"\x00", b"\xff\xfe"]},
    "nums": {"NS": ["1", "2.5"]},
    "nested": {"M": {"b": {"B": b"inner"}, "l": {"L": [{"B": b"x"}, {"NULL": True}]}}},
    "flag": {"BOOL": False},
    "text": {"S": "clé, ünïcode ✓ 🔑"},
}
KEY = {"pk": ITEM["pk"], "sk": ITEM["sk"]}


def _key(sk: str, pk: str = "/f/") -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def test_put_get_delete_agree(dynamodb, sleeps):
    def scenario(call: Call) -> list[Any]:
        return [
            outcome(call, "GetItem", {"TableName": TABLE, "Key": KEY}),
            outcome(call, "PutItem", {"TableName": TABLE, "Item": ITEM}),
            outcome(call, "PutItem", {"TableName": TABLE, "Item": ITEM, "ReturnValues": "ALL_OLD"}),
            outcome(call, "GetItem", {"TableName": TABLE, "Key": KEY, "ConsistentRead": True}),
            outcome(call, "GetItem", {
                "TableName": TABLE, "Key": KEY, "ProjectionExpression": "#v, nested",
                "ExpressionAttributeNames": {"#v": "v"},
            }),
            outcome(call, "PutItem", {
                "TableName": TABLE, "Item": ITEM, "ConditionExpression": "attribute_not_exists(pk)",
            }),
            outcome(call, "DeleteItem", {"TableName": TABLE, "Key": KEY, "ReturnValues": "ALL_OLD"}),  # noqa: E501
            outcome(call, "DeleteItem", {"TableName": TABLE, "Key": KEY}),
        ]  # fmt: skip

    seen = agree(dynamodb, scenario)
    assert seen[3][1]["Item"] == ITEM  # blobs as bytes, numbers as strings
    assert seen[5][0] is dynamodb.exceptions.ConditionalCheckFailedException
    assert seen[6][1]["Attributes"] == ITEM


def test_update_item_agrees(dynamodb, sleeps):
    def scenario(call: Call) -> list[Any]:
        update = {
            "TableName": TABLE, "Key": _key("k"),
            "UpdateExpression": "SET v = :v ADD ver :one",
            "ExpressionAttributeValues": {":v": {"B": VALUE}, ":one": {"N": "1"}},
        }  # fmt: skip
        values = {**update["ExpressionAttributeValues"], ":old": {"N": "7"}}
        checked = {**update, "ExpressionAttributeValues": values, "ConditionExpression": "ver=:old"}
        old_on_failure = {**checked, "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}
        return [
            outcome(call, "UpdateItem", {**update, "ReturnValues": "ALL_NEW"}),
            outcome(call, "UpdateItem", {**update, "ReturnValues": "UPDATED_OLD"}),
            outcome(call, "UpdateItem", {**update, "ReturnValues": "UPDATED_NEW"}),
            outcome(call, "UpdateItem", update),
            outcome(call, "UpdateItem", checked),
            outcome(call, "UpdateItem", old_on_failure),
        ]

    seen = agree(dynamodb, scenario)
    assert seen[0][1]["Attributes"]["ver"] == {"N": "1"}
    assert seen[0][1]["Attributes"]["v"] == {"B": VALUE}
    assert seen[4][0] is dynamodb.exceptions.ConditionalCheckFailedException
    assert seen[4][2]["Error"]["Code"] == "ConditionalCheckFailedException"


def test_batch_get_item_agrees(dynamodb, sleeps):
    def scenario(call: Call) -> list[Any]:
        for name in ("a", "b", "c"):
            call("PutItem", {"TableName": TABLE, "Item": {**_key(name), "v": {"B": name.encode()}}})
        keys = [_key("a"), _key("b"), _key("missing"), _key("c")]
        got = outcome(call, "BatchGetItem", {
            "RequestItems": {TABLE: {"Keys": keys, "ConsistentRead": True}},
        })  # fmt: skip
        got[1]["Responses"][TABLE].sort(key=lambda item: item["sk"]["S"])
        return [got]

    [(_, answer)] = agree(dynamodb, scenario)
    assert [item["v"]["B"] for item in answer["Responses"][TABLE]] == [b"a", b"b", b"c"]
    assert answer["UnprocessedKeys"] == {}


def test_batch_get_unprocessed_keys_agree(dynamodb, sleeps):
    """DynamoDB leaves keys unprocessed (throttled) inside a successful answer: the keys
    come back decoded, blobs included, exactly as botocore gives them."""
    left = {TABLE: {"Keys": [{"pk": {"S": "/f/"}, "sk": {"B": "AAE="}}], "ConsistentRead": True}}
    body = {"Responses": {TABLE: [{"pk": {"S": "/f/"}, "sk": {"S": "a"}, "v": {"B": "eHl6"}}]},
            "UnprocessedKeys": left}  # fmt: skip

    def scenario(call: Call) -> list[Any]:
        with answering(dynamodb, lambda n: http_answer(200, body)):
            return [outcome(call, "BatchGetItem", {"RequestItems": {TABLE: {"Keys": [_key("a")]}}})]

    [(_, answer)] = agree(dynamodb, scenario, fresh=False)
    assert answer["UnprocessedKeys"][TABLE]["Keys"] == [{"pk": {"S": "/f/"}, "sk": {"B": b"\0\1"}}]
    assert answer["Responses"][TABLE][0]["v"] == {"B": b"xyz"}


def _transaction(version: str) -> dict[str, Any]:
    return {"TransactItems": [
        {"Put": {"TableName": TABLE, "Item": {**_key("t1"), "v": {"B": b"one"}, "ver": {"N": "1"}},
                 "ConditionExpression": "attribute_not_exists(pk) OR ver = :v",
                 "ExpressionAttributeValues": {":v": {"N": version}},
                 "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}},
        {"Update": {"TableName": TABLE, "Key": _key("t2"), "UpdateExpression": "ADD gen :one",
                    "ExpressionAttributeValues": {":one": {"N": "1"}}}},
        {"Delete": {"TableName": TABLE, "Key": _key("t3")}},
        {"ConditionCheck": {"TableName": TABLE, "Key": _key("t4"),
                            "ConditionExpression": "attribute_not_exists(nope)"}},
    ]}  # fmt: skip


def test_transact_write_items_agrees(dynamodb, sleeps):
    def scenario(call: Call) -> list[Any]:
        return [
            outcome(call, "TransactWriteItems", _transaction("0")),
            outcome(call, "GetItem", {"TableName": TABLE, "Key": _key("t1")}),
            # t1 exists now at ver 1: the condition fails, the old item comes back.
            outcome(call, "TransactWriteItems", _transaction("5")),
        ]

    seen = agree(dynamodb, scenario)
    assert seen[0][0] == "ok"
    error_class, operation, response = seen[2]
    assert error_class is dynamodb.exceptions.TransactionCanceledException
    assert operation == "TransactWriteItems"
    assert response["Error"]["Code"] == "TransactionCanceledException"
    assert response["CancellationReasons"][0]["Code"] == "ConditionalCheckFailed"


def test_transaction_conflict_agrees(dynamodb, sleeps):
    """A cancellation's reasons come back as botocore puts them, blobs in their items
    decoded; TransactionConflict is not retried by botocore, so not here either."""
    reasons = [
        {"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"},
        {"Code": "ConditionalCheckFailed", "Message": "failed", "Item": {"v": {"B": "b25l"}}},
        {"Code": "None"},
    ]
    body = error_body("TransactionCanceledException", "cancelled", CancellationReasons=reasons)

    def scenario(call: Call) -> list[Any]:
        with answering(dynamodb, lambda n: http_answer(400, body)) as attempts:
            return [outcome(call, "TransactWriteItems", _transaction("0")), len(attempts)]

    [(_, _, response), attempts] = agree(dynamodb, scenario, fresh=False)
    assert attempts == 1
    assert response["CancellationReasons"][1]["Item"] == {"v": {"B": b"one"}}
    assert response["CancellationReasons"][0]["Code"] == "TransactionConflict"


def test_query_pages_and_index_agree(dynamodb, sleeps):
    def scenario(call: Call) -> list[Any]:
        for n in range(5):
            due = {"due": {"S": "b1"}, "exp": {"N": str(n)}}
            item = {**_key(f"k{n}"), "v": {"B": bytes([n])}, **due}
            call("PutItem", {"TableName": TABLE, "Item": item})
        query = {
            "TableName": TABLE, "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": "/f/"}}, "ConsistentRead": True, "Limit": 2,
        }  # fmt: skip
        pages = []
        while True:
            page = outcome(call, "Query", query)
            pages.append(page)
            if "LastEvaluatedKey" not in page[1]:
                break
            query["ExclusiveStartKey"] = page[1]["LastEvaluatedKey"]
        index = outcome(call, "Query", {
            "TableName": TABLE, "IndexName": "lease-due",
            "KeyConditionExpression": "due = :d AND exp <= :t",
            "ExpressionAttributeValues": {":d": {"S": "b1"}, ":t": {"N": "3"}},
        })  # fmt: skip
        keys_only = outcome(call, "Query", {**query, "Select": "COUNT", "Limit": 10})
        return [pages, index, keys_only]

    pages, index, _ = agree(dynamodb, scenario)
    assert [item["sk"]["S"] for page in pages for item in page[1]["Items"]] == [
        f"k{n}" for n in range(5)
    ]
    assert pages[0][1]["LastEvaluatedKey"] == _key("k1")
    assert index[1]["Count"] == 4


def test_batch_write_item_agrees(dynamodb, sleeps):
    def scenario(call: Call) -> list[Any]:
        puts = [{"PutRequest": {"Item": {**_key(f"w{n}"), "v": {"B": b"w"}}}} for n in range(3)]
        deletes = [{"DeleteRequest": {"Key": _key(f"w{n}")}} for n in range(2)]
        return [
            outcome(call, "BatchWriteItem", {"RequestItems": {TABLE: puts}}),
            outcome(call, "BatchWriteItem", {"RequestItems": {TABLE: deletes}}),
            outcome(call, "Query", {
                "TableName": TABLE, "KeyConditionExpression": "pk = :pk",
                "ExpressionAttributeValues": {":pk": {"S": "/f/"}},
            }),
        ]  # fmt: skip

    assert agree(dynamodb, scenario)[2][1]["Count"] == 1


def test_put_record_batch_agrees(firehose, sleeps):
    records = [{"Data": b'{"type":"request"}\n'}, {"Data": bytes(range(256))}]

    def scenario(call: Call) -> list[Any]:
        result = outcome(call, "PutRecordBatch", {"DeliveryStreamName": STREAM, "Records": records})
        lost = {"DeliveryStreamName": "nope", "Records": records}
        missing = outcome(call, "PutRecordBatch", lost)
        ids = [entry.pop("RecordId") for entry in result[1]["RequestResponses"]]
        assert all(ids)
        return [result, missing]

    result, missing = agree(firehose, scenario, fresh=False)
    assert result[1]["FailedPutCount"] == 0
    assert missing[0] is firehose.exceptions.ResourceNotFoundException


def test_put_record_batch_failed_put_count_agrees(firehose, sleeps):
    """A partial failure is a success at the API level: FailedPutCount and each record's
    error come back as they are."""
    body = {"FailedPutCount": 1, "Encrypted": False, "RequestResponses": [
        {"RecordId": "r1"},
        {"ErrorCode": "ServiceUnavailableException", "ErrorMessage": "Slow down."},
    ]}  # fmt: skip

    def scenario(call: Call) -> list[Any]:
        with answering(firehose, lambda n: http_answer(200, body)):
            params = {"DeliveryStreamName": STREAM, "Records": [{"Data": b"a"}, {"Data": b"b"}]}
            return [outcome(call, "PutRecordBatch", params)]

    [(_, answer)] = agree(firehose, scenario, fresh=False)
    assert answer["FailedPutCount"] == 1
    assert answer["RequestResponses"][1]["ErrorCode"] == "ServiceUnavailableException"


# --- retries -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (400, "ProvisionedThroughputExceededException"),
        (400, "ThrottlingException"),
        (500, "InternalServerError"),
        (503, "ServiceUnavailable"),
    ],
)
def test_transient_errors_are_retried_then_succeed(dynamodb, sleeps, status, code):
    def scenario(call: Call) -> list[Any]:
        call("PutItem", {"TableName": TABLE, "Item": ITEM})
        sleeps.clear()
        fail_twice = lambda n: http_answer(status, error_body(code)) if n < 2 else None  # noqa: E731
        with answering(dynamodb, fail_twice) as attempts:
            got = outcome(call, "GetItem", {"TableName": TABLE, "Key": KEY})
        return [got, len(attempts), len(sleeps)]

    (_, answer), attempts, slept = agree(dynamodb, scenario)
    assert answer["Item"] == ITEM
    assert answer["ResponseMetadata"]["RetryAttempts"] == 2
    assert (attempts, slept) == (3, 2)


@pytest.mark.parametrize(
    ("status", "code"),
    [(400, "ProvisionedThroughputExceededException"), (500, "InternalServerError")],
)
def test_exhausted_retries_raise_what_botocore_raises(dynamodb, sleeps, status, code):
    def scenario(call: Call) -> list[Any]:
        sleeps.clear()
        with answering(dynamodb, lambda n: http_answer(status, error_body(code))) as attempts:
            got = outcome(call, "UpdateItem", {
                "TableName": TABLE, "Key": KEY, "UpdateExpression": "ADD ver :one",
                "ExpressionAttributeValues": {":one": {"N": "1"}},
            })  # fmt: skip
        return [got, len(attempts), len(sleeps)]

    (error_class, _, response), attempts, slept = agree(dynamodb, scenario, fresh=False)
    assert issubclass(error_class, ClientError)
    assert response["Error"] == {"Code": code, "Message": "injected"}
    assert response["ResponseMetadata"]["MaxAttemptsReached"] is True
    assert (attempts, slept) == (_attempts(dynamodb), _attempts(dynamodb) - 1)
    assert awsfaults.unavailable(error_class(response, "UpdateItem")) is not None


def test_firehose_throttling_is_retried(firehose, sleeps):
    def scenario(call: Call) -> list[Any]:
        sleeps.clear()
        throttled = {"__type": "ServiceUnavailableException", "message": "Slow down."}
        fail_once = lambda n: http_answer(503, throttled) if n < 1 else None  # noqa: E731
        with answering(firehose, fail_once) as attempts:
            got = outcome(call, "PutRecordBatch", {
                "DeliveryStreamName": STREAM, "Records": [{"Data": b"x"}],
            })  # fmt: skip
        got[1]["RequestResponses"][0].pop("RecordId")
        return [got, len(attempts), len(sleeps)]

    agree(firehose, scenario, fresh=False)


# --- what other code hooks: before-call ---------------------------------------------------------


def test_before_call_sees_the_same_request_and_can_answer(dynamodb, sleeps):
    """tests/api/fault_support answers calls from a before-call hook: the lean path emits
    it with what botocore passes, and honours its answer (no retry, same exception)."""
    seen: list[tuple[str, str, Any]] = []

    def before_call(model: Any, params: dict[str, Any], context: dict[str, Any], **_: Any) -> Any:
        seen.append((model.service_model.service_name, model.name, json.loads(params["body"])))
        parsed = {"Error": {"Code": "ThrottlingException", "Message": "hooked"},
                  "ResponseMetadata": {"HTTPStatusCode": 400, "HTTPHeaders": {}}}  # fmt: skip
        return AWSResponse("https://fault.invalid/", 400, {}, None), parsed

    # orjson refuses a lone surrogate (moto too): the body is then written as botocore's.
    item = {**ITEM, "odd": {"S": "lone \ud800 surrogate"}}

    def scenario(call: Call) -> list[Any]:
        seen.clear()
        dynamodb.meta.events.register("before-call", before_call, unique_id="lean-test-call")
        try:
            got = outcome(call, "PutItem", {"TableName": TABLE, "Item": item})
        finally:
            dynamodb.meta.events.unregister("before-call", unique_id="lean-test-call")
        return [got, list(seen)]

    (error_class, *_), [(service, operation, body)] = agree(dynamodb, scenario, fresh=False)
    assert error_class.__name__ == "ThrottlingException"
    assert (service, operation) == ("dynamodb", "PutItem")
    assert base64.b64decode(body["Item"]["v"]["B"]) == VALUE


# --- signatures over HTTP ---------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", ["server"], indirect=True)
def test_moto_server_accepts_the_lean_signature(endpoint, dynamodb):
    """With moto's IAM authentication on, the server recomputes each SigV4 signature from
    the request it received: the lean path's pass, and a wrong secret fails as botocore's."""
    _fresh_table(dynamodb)
    iam = _client("iam", endpoint)
    iam.create_user(UserName="lean")
    everything = {"Version": "2012-10-17",
                  "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}  # fmt: skip
    iam.put_user_policy(UserName="lean", PolicyName="all", PolicyDocument=json.dumps(everything))
    key = iam.create_access_key(UserName="lean")["AccessKey"]
    signed = _client("dynamodb", endpoint, aws_access_key_id=key["AccessKeyId"],
                     aws_secret_access_key=key["SecretAccessKey"])  # fmt: skip
    forged = _client("dynamodb", endpoint, aws_access_key_id=key["AccessKeyId"],
                     aws_secret_access_key="not-the-secret")  # fmt: skip
    previous = requests.post(f"{endpoint}/moto-api/reset-auth", data=b"0", timeout=10).json()
    try:
        params = {"TableName": TABLE, "Key": KEY}
        good = [outcome(call, "GetItem", params)[0] for call in _paths(signed).values()]
        bad = [outcome(call, "GetItem", params) for call in _paths(forged).values()]
    finally:
        restore = str(previous["PREVIOUS_INITIAL_NO_AUTH_ACTION_COUNT"]).encode()
        requests.post(f"{endpoint}/moto-api/reset-auth", data=restore, timeout=10)
    assert good == ["ok", "ok"]
    assert bad[0] == bad[1]
    assert bad[0][2]["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert "SignatureDoesNotMatch" in bad[0][2]["Error"]["Message"]  # moto answers in XML


# --- connection failures (no moto: a refused port, a server that never answers) ---------------


@pytest.fixture
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")


def _failures(client: Any, sleeps: list[float]) -> list[Any]:
    """Each path's exception (class and message), attempts and backoffs for one GetItem."""
    failures = []
    for call in _paths(client).values():
        sleeps.clear()
        with answering(client, lambda n: None) as attempts, pytest.raises(Exception) as raised:
            call("GetItem", {"TableName": TABLE, "Key": KEY})
        failures.append((type(raised.value), str(raised.value), len(attempts), len(sleeps)))
    return failures


def test_refused_connection_agrees(credentials, sleeps):
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]  # closed again before the calls: refused
    client = _client("dynamodb", f"http://127.0.0.1:{port}")
    botocore_failure, lean_failure = _failures(client, sleeps)
    assert botocore_failure == lean_failure
    assert botocore_failure[0] is EndpointConnectionError
    assert botocore_failure[2:] == (_attempts(client), _attempts(client) - 1)
    assert awsfaults.unavailable(EndpointConnectionError(endpoint_url="x")) is not None


def test_read_timeout_agrees(credentials, sleeps, silent_port):
    """A server that accepts and never answers: ReadTimeoutError after every attempt, at
    the client's read timeout."""
    client = botocore.session.get_session().create_client(
        "dynamodb", region_name=REGION,
        endpoint_url=f"http://127.0.0.1:{silent_port}",
        config=Config(**{**awsfaults.CLIENT_CONFIG, "read_timeout": 0.1}),
    )  # fmt: skip
    botocore_failure, lean_failure = _failures(client, sleeps)
    assert botocore_failure == lean_failure
    assert botocore_failure[0] is ReadTimeoutError
    assert botocore_failure[2] == _attempts(client)


class _KeepAlive(BaseHTTPRequestHandler):
    """An HTTP/1.1 DynamoDB stand-in answering every GetItem with one item."""

    protocol_version = "HTTP/1.1"
    body = json.dumps({"Item": {"pk": {"S": "/f/"}, "v": {"B": "AAE="}}}).encode()

    def setup(self) -> None:
        super().setup()
        self.server.connections += 1  # type: ignore[attr-defined]

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-amz-json-1.0")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: Any) -> None:
        pass


def test_connection_is_kept_alive(credentials):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _KeepAlive)
    server.connections = 0  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        client = _client("dynamodb", f"http://127.0.0.1:{server.server_address[1]}")
        answers = [lean(client).call("GetItem", {"TableName": TABLE, "Key": KEY}) for _ in range(5)]
    finally:
        server.shutdown()
        server.server_close()
    assert all(answer["Item"]["v"] == {"B": b"\0\1"} for answer in answers)
    assert server.connections == 1  # type: ignore[attr-defined]


def test_a_retried_transaction_carries_one_idempotency_token(dynamodb, sleeps):
    """As botocore fills TransactWriteItems' ClientRequestToken: DynamoDB then takes a retry
    of a transaction that had committed (its answer lost) as the same request, instead of
    failing its conditions against its own first attempt."""
    bodies: list[dict[str, Any]] = []

    def first_fails(n: int) -> AWSResponse | None:
        if n == 0:
            return http_answer(500, error_body("InternalServerError", "try again"))
        return http_answer(200, {})

    def record(request: Any, **_: Any) -> None:
        bodies.append(json.loads(request.body))

    with answering(dynamodb, first_fails):
        # Registered first after the answering hook, so it sees every attempt.
        dynamodb.meta.events.register_first("before-send", record, unique_id="token-test")
        try:
            lean(dynamodb).call("TransactWriteItems", _transaction("0"))
        finally:
            dynamodb.meta.events.unregister("before-send", unique_id="token-test")
    tokens = {body.get("ClientRequestToken") for body in bodies}
    assert len(bodies) == 2 and len(tokens) == 1 and None not in tokens


@pytest.mark.parametrize("token", ["session-token", None])
def test_the_lean_signer_signs_as_botocore_signs(monkeypatch, token):
    """Its header map and its kept signing key change nothing: the same Authorization as
    botocore's SigV4Auth for the same request and instant, across two days and after the
    secret changed."""
    from botocore import auth
    from botocore.credentials import Credentials

    from chalicelib.core.leanaws import _Request, _Signer

    body = b'{"TableName": "t"}'
    signed = []
    for day, secret in (("20261206", "one"), ("20261207", "one"), ("20261207", "two")):
        now = datetime.datetime.strptime(day + "T120000", "%Y%m%dT%H%M%S")
        monkeypatch.setattr(auth, "get_current_datetime", lambda now=now: now)
        credentials = Credentials("AKID", secret, token).get_frozen_credentials()
        headers = []
        for signer in (auth.SigV4Auth, _Signer, _Signer):  # the second _Signer: key kept
            request = _Request("POST", "https://dynamodb.us-east-1.amazonaws.com/", {
                "X-Amz-Target": "DynamoDB_20120810.GetItem", "User-Agent": "test",
                "Content-Type": "application/x-amz-json-1.0",
            }, body, False, {})  # fmt: skip
            signer(credentials, "dynamodb", "us-east-1").add_auth(request)
            headers.append(dict(request.headers))
        assert headers[0] == headers[1] == headers[2]
        signed.append(headers[0]["Authorization"])
    assert len(set(signed)) == 3


def _lost(n: int) -> None:
    raise ReadTimeoutError(endpoint_url="https://x.invalid/")


def _unreachable(n: int) -> None:
    raise EndpointConnectionError(endpoint_url="https://x.invalid/")


@pytest.mark.parametrize(
    ("attempt", "maybe_taken"),
    [
        (lambda n: _lost(n) if n == 0 else _unreachable(n), True),  # lost, then not sent
        (_unreachable, False),
        (lambda n: http_answer(500, error_body("InternalServerError")), True),
        (lambda n: http_answer(400, error_body("ValidationException")), False),
    ],
)
def test_a_failed_call_notes_whether_any_attempt_may_have_been_carried_out(
    dynamodb, sleeps, attempt, maybe_taken
):
    """The last attempt's exception alone cannot say it (an answer lost on the first
    attempt, then a refused connection): the lean call notes it on what it raises, for
    callers that must not repeat an effect under a new identity (the audit chain)."""
    with answering(dynamodb, attempt), pytest.raises(Exception) as raised:
        lean(dynamodb).call("GetItem", {"TableName": TABLE, "Key": _key("a")})
    assert raised.value.maybe_taken is maybe_taken  # type: ignore[attr-defined]
