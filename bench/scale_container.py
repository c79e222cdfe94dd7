"""One simulated Lambda container of the scale benchmark: its own Python process, driving
app.py's Lambda handler with API Gateway proxy events, as Lambda runs one container.

It speaks bench.worker's protocol (one JSON command per stdin line) with three more
commands: ``scale_seed`` (the data every container reads), ``scale_warm`` and ``scale_run``.
"""

from __future__ import annotations

import json
import os
import random
import time
from collections import Counter
from dataclasses import replace
from typing import Any

from bench.common import (
    AUDIT_BUCKET,
    AUDIT_STREAM,
    KMS_ALIAS,
    LOOPBACK,
    REGION,
    ROOT_TOKEN,
    TABLE,
    BenchError,
)
from bench.worker import COMMANDS, Reply, main

POLICY = "scale-app"
SECRETS_FOLDER = "secret/data/app"  # every secret in ONE KV folder
KINDS = ("read", "lookup", "write")


def _secret(index: int) -> str:
    return f"{SECRETS_FOLDER}/s{index:03d}"


def _payload(index: int) -> dict[str, Any]:
    """A ~1 KB secret, as the issue's write target."""
    return {"data": {"username": f"app-{index}", "password": "p" * 32, "notes": "n" * 960}}


def _invoke(method: str, path: str, token: str, body: dict[str, Any] | None = None) -> Reply:
    """One request through the Chalice app on the proxy event API Gateway sends; the
    handler's thread CPU alongside its answer."""
    import app
    from chalicelib.transports.devserver import HttpRequest, LocalLambdaContext, build_event

    headers = [("Host", "lambdavault"), ("X-Vault-Token", token), ("User-Agent", "bench")]
    payload = json.dumps(body).encode() if body is not None else b""
    event = build_event(HttpRequest(method, f"/v1/{path}", headers, payload, LOOPBACK))
    context = LocalLambdaContext("scale", time.monotonic() + 3600)
    started = time.thread_time()
    answer = app.app(event, context)
    return {"status": int(answer["statusCode"]), "body": answer.get("body") or "",
            "cpu": time.thread_time() - started}  # fmt: skip


def _ok(method: str, path: str, token: str, body: dict[str, Any] | None = None) -> Reply:
    answer = _invoke(method, path, token, body)
    if not 200 <= answer["status"] < 300:
        raise BenchError(f"{method} {path} answered {answer['status']}: {answer['body'][:300]}")
    return answer


def seed(secrets: int, tokens: int, streams: int, audit: dict[str, Any]) -> Reply:
    """The s3 audit device over ``streams`` streams, ``secrets`` secrets in one folder, and
    ``tokens`` service tokens of a policy that may read and write them (root-created)."""
    _create_streams(streams)
    _ok("PUT", "sys/audit/s3", ROOT_TOKEN, {"type": "s3", "options": audit})
    rules = f'path "{SECRETS_FOLDER}/*" {{ capabilities = ["create", "read", "update"] }}'
    _ok("PUT", f"sys/policies/acl/{POLICY}", ROOT_TOKEN, {"policy": rules})
    for index in range(secrets):
        _ok("POST", _secret(index), ROOT_TOKEN, _payload(index))
    created = []
    for _ in range(tokens):
        body = {"policies": [POLICY], "ttl": "2h", "no_default_policy": False}
        answer = _ok("POST", "auth/token/create", ROOT_TOKEN, body)
        created.append(json.loads(answer["body"])["auth"]["client_token"])
    return {"tokens": created}


def _create_streams(streams: int) -> None:
    """Streams <stream>-2 ... <stream>-n beside the dev stream, same destination, where the
    dev setup has not created them."""
    import boto3

    from chalicelib.cli.devenv import DevResources, _create_audit_stream

    resources = DevResources(TABLE, KMS_ALIAS, AUDIT_BUCKET, AUDIT_STREAM, REGION)
    role = boto3.client("iam").get_role(RoleName=f"{AUDIT_STREAM}-firehose")["Role"]["Arn"]
    firehose = boto3.client("firehose")
    existing = set(firehose.list_delivery_streams(Limit=100)["DeliveryStreamNames"])
    for index in range(2, streams + 1):
        named = replace(resources, audit_stream=f"{AUDIT_STREAM}-{index}")
        if named.audit_stream not in existing:
            _create_audit_stream(firehose, named, role)


def _request(kind: str, rng: random.Random, tokens: list[str], secrets: int) -> Reply:
    token, index = rng.choice(tokens), rng.randrange(secrets)
    if kind == "read":
        return _invoke("GET", _secret(index), token)
    if kind == "lookup":
        return _invoke("GET", "auth/token/lookup-self", token)
    return _invoke("POST", _secret(index), token, _payload(index))


def warm(tokens: list[str], secrets: int) -> Reply:
    """The cold start, then each token once (a warm container has compiled its ACLs)."""
    for token in tokens:
        _ok("GET", _secret(0), token)
        _ok("GET", "auth/token/lookup-self", token)
    return {"pid": os.getpid()}


def run(
    tokens: list[str], secrets: int, mix: dict[str, float], seconds: float, rng_seed: int
) -> Reply:
    """Requests drawn from ``mix`` (kind -> share) for ``seconds``: how many of each kind,
    their handler CPU, and the time window the proxy attributes calls to."""
    rng = random.Random(rng_seed)
    kinds, weights = zip(*mix.items(), strict=True)
    done: Counter[str] = Counter()
    cpu: Counter[str] = Counter()
    failures = 0
    started = time.monotonic()
    end = started + seconds
    while time.monotonic() < end:
        kind = rng.choices(kinds, weights)[0]
        answer = _request(kind, rng, tokens, secrets)
        done[kind] += 1
        cpu[kind] += answer["cpu"]
        failures += not 200 <= answer["status"] < 300
    return {"requests": dict(done), "cpu": dict(cpu), "failures": failures,
            "start": started, "end": time.monotonic()}  # fmt: skip


if __name__ == "__main__":
    COMMANDS.update({"scale_seed": seed, "scale_warm": warm, "scale_run": run})
    main()
