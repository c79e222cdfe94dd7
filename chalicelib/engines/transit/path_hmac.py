"""hmac/:name[/:algorithm] and the HMAC half of verify/:name, with Vault's per-version key."""

from __future__ import annotations

import hmac
from typing import Any

from chalicelib.core.errors import BadRequest
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.engines.transit import batch
from chalicelib.engines.transit.cipher import PREFIX, split_versioned
from chalicelib.engines.transit.encoding import DecodeError, b64decode, b64encode
from chalicelib.engines.transit.policy import KeyPolicy
from chalicelib.engines.transit.signing import HASHES
from chalicelib.engines.transit.store import KeyStore
from chalicelib.framework import Field, FieldData, FieldType, Path


def load_key(request: Request, data: FieldData, missing: str) -> KeyPolicy:
    policy = KeyStore.of(request).load(data["name"])
    if policy is None:
        raise BadRequest(missing)
    return policy


def hmac_key(policy: KeyPolicy, number: int) -> bytes:
    if number < 0:
        raise BadRequest("key version does not exist (cannot be negative)")
    if number > policy.latest_version:
        raise BadRequest(
            f"key version does not exist; latest key version is {policy.latest_version}"
        )
    version = policy.version(number)
    return version.key if policy.type.family == "hmac" else version.hmac_key


def hash_name(data: FieldData, *fields: str) -> str:
    """The algorithm from the URL, else the first body field given, else sha2-256."""
    for name in ("urlalgorithm", *fields):
        value = data.raw.get(name)
        if value:
            return str(value)
    return "sha2-256"


def input_bytes(item: dict[str, Any], missing: str) -> bytes:
    """An item's base64 ``input`` (hmac, sign and verify word its errors alike)."""
    if item.get("input") is None:
        raise BadRequest(missing)
    try:
        return b64decode(item["input"])
    except DecodeError as error:
        raise BadRequest(f"unable to decode input as base64: {error}") from None


def _digestmod(algorithm: str, error: str) -> str:
    spec = HASHES.get(algorithm)
    if spec is None:
        raise BadRequest(error)
    return spec[0]


def path_hmac_write(request: Request, data: FieldData) -> Response:
    policy = load_key(request, data, "encryption key not found")
    number = data["key_version"] or policy.latest_version
    if number != policy.latest_version and 0 < number < policy.min_encryption_version:
        raise BadRequest("cannot generate HMAC: version is too old (disallowed by policy)")
    key = hmac_key(policy, number)
    algorithm = hash_name(data, "algorithm")
    digestmod = _digestmod(algorithm, f'unsupported algorithm "{algorithm}"')
    inputs = batch.items(data, ("input", "reference"))
    is_batch = inputs is not None
    if inputs is None:
        if not data.is_set("input"):
            raise BadRequest("missing input for HMAC")
        inputs = [{"input": data["input"]}]
    results: list[dict[str, Any]] = []
    for item in inputs:
        reference = item.get("reference", "")
        try:
            mac = hmac.new(key, input_bytes(item, "missing input for HMAC"), digestmod).digest()
        except BadRequest as error:
            results.append({"error": error.message, "reference": reference})
            continue
        results.append({"hmac": f"{PREFIX}{number}:{b64encode(mac)}", "reference": reference})
    return batch.respond(data, results, batch=is_batch, single=("hmac",),
                         failures_are_400=False)


def _verify_one(policy: KeyPolicy, item: dict[str, Any], digestmod: str) -> bool:
    data = input_bytes(item, "missing input")
    if item.get("hmac") is None:
        raise BadRequest("missing hmac")
    text = str(item["hmac"])
    if not text.startswith(PREFIX):
        raise BadRequest("invalid HMAC to verify: no prefix")  # Vault's wording differs here
    number, body = split_versioned(text, "HMAC")
    try:
        expected = b64decode(body)
    except DecodeError as error:
        raise BadRequest(f"unable to decode verification HMAC as base64: {error}") from None
    if number > policy.latest_version:
        raise BadRequest("invalid HMAC: version is too new")
    if policy.min_decryption_version > 0 and number < policy.min_decryption_version:
        raise BadRequest("cannot verify HMAC: version is too old (disallowed by policy)")
    mac = hmac.new(hmac_key(policy, number), data, digestmod).digest()
    return hmac.compare_digest(mac, expected)


def verify_hmacs(
    request: Request, data: FieldData, inputs: list[dict[str, Any]], is_batch: bool
) -> Response:
    policy = load_key(request, data, "encryption key not found")
    algorithm = hash_name(data, "hash_algorithm", "algorithm")
    digestmod = _digestmod(algorithm, f'invalid hash algorithm "{algorithm}"')
    results: list[dict[str, Any]] = []
    for item in inputs:
        reference = item.get("reference", "")
        try:
            results.append({"valid": _verify_one(policy, item, digestmod),
                            "reference": reference})
        except BadRequest as error:
            results.append({"valid": False, "error": error.message, "reference": reference})
    return batch.respond(data, results, batch=is_batch, single=("valid",),
                         failures_are_400=False)


def paths() -> list[Path]:
    fields = {
        "input": Field(FieldType.STRING, "", "Base64 input."),
        "key_version": Field(FieldType.INT, 0, "Key version (0: latest)."),
        "algorithm": Field(FieldType.STRING, "sha2-256", "Hash algorithm."),
        "batch_input": Field(FieldType.ANY, None, "Items to HMAC."),
    }
    handlers = {Operation.UPDATE: path_hmac_write}
    return [
        Path("hmac/{name}", handlers, fields=fields, synopsis="HMAC input data.", computes=True),
        Path(
            "hmac/{name}/{urlalgorithm}",
            handlers,
            fields=fields,
            synopsis="HMAC input data with the hash algorithm in the path.",
            computes=True,
        ),
    ]
