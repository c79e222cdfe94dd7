"""The scale benchmark's arithmetic: what a recorded AWS call reads and writes, and the
capacity model's ceilings (bench/awsproxy.py, bench/capacity.py, bench/scale.py)."""

from __future__ import annotations

import base64
import json
import math

import pytest

from bench import capacity
from bench.awsproxy import RawCall, parse
from bench.scale_analysis import analyse


def _raw(target: str, request: dict, response: dict | None = None, at: float = 0.0) -> RawCall:
    return RawCall(
        0,
        at,
        "POST",
        "/",
        target,
        "",
        json.dumps(request).encode(),
        200,
        json.dumps(response or {}).encode(),
    )


def _key(pk: str, sk: str) -> dict:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def test_batch_get_counts_each_key_with_units_from_the_item_size() -> None:
    big = {**_key("/a/", "big"), "v": {"B": "x" * 5000}}
    call = parse(
        _raw(
            "DynamoDB_20120810.BatchGetItem",
            {
                "RequestItems": {
                    "t": {"Keys": [_key("/a/", "big"), _key("#c", "s")], "ConsistentRead": True}
                }
            },
            {"Responses": {"t": [big]}},
        )
    )
    assert (call.service, call.operation) == ("dynamodb", "BatchGetItem")
    assert call.reads == [(("/a/", "big"), 2.0), (("#c", "s"), 1.0)]


def test_query_is_charged_to_its_partition_key_value() -> None:
    request = {
        "KeyConditionExpression": "#p = :p AND begins_with(#s, :s)",
        "ExpressionAttributeNames": {"#p": "pk", "#s": "sk"},
        "ExpressionAttributeValues": {":p": {"S": "/folder/"}, ":s": {"S": "x"}},
    }
    call = parse(_raw("DynamoDB_20120810.Query", request, {"Items": []}))
    assert call.queries == [("/folder/", 0.5)]  # eventually consistent, nothing found


def test_transactions_write_twice_the_units() -> None:
    request = {
        "TransactItems": [
            {"Put": {"Item": {**_key("/a/", "b"), "v": {"B": "y" * 1500}}}},
            {"Update": {"Key": _key("/a/", "c"), "ExpressionAttributeValues": {}}},
        ]
    }
    call = parse(_raw("DynamoDB_20120810.TransactWriteItems", request))
    assert call.writes == [(("/a/", "b"), 4.0), (("/a/", "c"), 2.0)]


def test_firehose_batch_counts_records_and_decoded_bytes() -> None:
    records = [{"Data": base64.b64encode(b"r" * n).decode()} for n in (100, 250)]
    call = parse(
        _raw("Firehose_20150804.PutRecordBatch", {"DeliveryStreamName": "s", "Records": records})
    )
    assert (call.stream, call.records, call.record_bytes) == ("s", 2, 350)


def test_an_item_read_once_a_second_per_container_is_cached() -> None:
    reads = [
        _raw("DynamoDB_20120810.GetItem", {"Key": _key(pk, "x"), "ConsistentRead": True}, at=at)
        for second in range(20)
        for pk, at in [("#state", second + 0.0)] + [("/tok/", second + i / 10) for i in range(10)]
    ]
    runs = [{"requests": {"read": 200}, "cpu": {"read": 0.2}, "failures": 0,
             "start": 0.0, "end": 20.0}]  # fmt: skip
    measured = analyse(runs, map(parse, reads))
    per_request, cached = measured["hot"]["item_read"]
    assert (per_request["key"], per_request["cached"]) == ("/tok/ | x", False)
    assert per_request["units_per_request"] == pytest.approx(1.0)
    assert (cached["key"], cached["cached"]) == ("#state | x", True)
    assert cached["units_per_container_second"] == pytest.approx(1.0)


def _demand(**changes: object) -> capacity.Demand:
    base = capacity.Demand(
        duration_s=0.02,
        read_units=2.0,
        write_units=0.0,
        hot_spots=(capacity.HotSpot("item t", "partition_read", 0.05, 0.0, False),),
        streams=(capacity.Stream("s", 1.0, 2.0, 2800.0),),
    )
    return capacity.Demand(**{**base.__dict__, **changes})


def test_ceilings_are_quota_over_demand_and_the_lowest_binds() -> None:
    found = {(limit.key, limit.subject): limit.ceiling for limit in capacity.limits(_demand())}
    assert found[("api", "all requests")] == 10_000
    assert found[("lambda", "all requests")] == pytest.approx(50_000)
    assert found[("table_read", "the table")] == 20_000
    assert found[("partition_read", "item t")] == pytest.approx(60_000)
    assert found[("firehose_calls", "stream s")] == 2_000
    assert found[("firehose_bytes", "stream s")] == pytest.approx(5 * 2**20 / 2800)
    assert capacity.binding(capacity.limits(_demand())).key == "firehose_bytes"


def test_a_cached_item_binds_only_past_the_concurrency_quota() -> None:
    light = capacity.HotSpot("state", "partition_read", 0.0, 1.0, True)
    heavy = capacity.HotSpot("state", "partition_read", 0.0, 4.0, True)
    assert capacity.spot_ceiling(light, 0.02) == math.inf  # 1,000 containers: 1,000 reads/s
    assert capacity.spot_ceiling(heavy, 0.02) == pytest.approx(3_000 / (4.0 * 0.02))


def test_spreading_over_enough_streams_leaves_api_gateway_binding() -> None:
    demand = _demand()
    needed = capacity.streams_needed(demand, 10_000)
    assert needed == math.ceil(10_000 * 2800 / (5 * 2**20))
    assert capacity.binding(capacity.limits(capacity.spread(demand, needed))).key == "api"
    steps = capacity.path_to(demand, 100_000)
    assert any("API Gateway" in step for step in steps)
    assert any("Lambda concurrency: raise to 2,000" in step for step in steps)


def test_the_path_names_the_worst_partition_and_counts_the_others() -> None:
    spots = (
        capacity.HotSpot("pk a", "partition_read", 0.06, 0.0, False),
        capacity.HotSpot("pk b", "partition_read", 0.05, 0.0, False),
    )
    steps = capacity.path_to(_demand(hot_spots=spots), 100_000)
    partitions = [step for step in steps if "partition" in step]
    assert partitions == [
        "pk a: 6,000 read units/s, past one partition's 3,000 (not raisable): the load must "
        "spread over more such keys, or the design must cache or shard this one (1 more of "
        "the keys shown pass it too)"
    ]
