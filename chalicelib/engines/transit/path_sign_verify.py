"""sign/:name[/:algorithm] and verify/:name[/:algorithm] (signatures or HMACs)."""

from __future__ import annotations

from typing import Any

from chalicelib.core.errors import BadRequest
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.engines.transit import batch
from chalicelib.engines.transit.encoding import b64encode
from chalicelib.engines.transit.path_hmac import hash_name, input_bytes, load_key, verify_hmacs
from chalicelib.engines.transit.path_keys import decode_context
from chalicelib.engines.transit.policy import KeyPolicy
from chalicelib.engines.transit.signing import SignOptions, check_options, sign, verify
from chalicelib.framework import Field, FieldData, FieldType, Path

_ITEM_STRINGS = ("input", "context", "signature", "hmac", "reference")


def _options(data: FieldData) -> SignOptions:
    return SignOptions(
        hash_algorithm=hash_name(data, "hash_algorithm", "algorithm"),
        signature_algorithm=data["signature_algorithm"] or "pss",
        marshaling=data["marshaling_algorithm"], salt_length=data["salt_length"],
        prehashed=data["prehashed"],
    )  # fmt: skip


def _signing_key(request: Request, data: FieldData, missing: str, verb: str) -> KeyPolicy:
    policy = load_key(request, data, missing)
    if not policy.type.signing:
        raise BadRequest(f"key type {policy.type.name} does not support {verb}")
    return policy


def _item_bytes(item: dict[str, Any]) -> tuple[bytes, bytes]:
    return input_bytes(item, "missing input"), decode_context(item.get("context") or "")


def path_sign_write(request: Request, data: FieldData) -> Response:
    options = _options(data)
    policy = _signing_key(request, data, "signing key not found", "signing")
    check_options(policy, options)
    inputs = batch.items(data, _ITEM_STRINGS)
    is_batch = inputs is not None
    if inputs is None:
        inputs = [{"input": data["input"], "context": data["context"]}]
    number = policy.encryption_version(data["key_version"], "signing")
    results: list[dict[str, Any]] = []
    for item in inputs:
        reference = item.get("reference", "")
        try:
            message, context = _item_bytes(item)
            signature, public = sign(policy, number, message, context, options)
        except BadRequest as error:
            results.append({"error": error.message, "reference": reference})
            continue
        result: dict[str, Any] = {"signature": signature, "key_version": number,
                                  "reference": reference}
        if public:
            result["public_key"] = b64encode(public)
        results.append(result)
    return batch.respond(data, results, batch=is_batch,
                         single=("signature", "key_version", "public_key"),
                         failures_are_400=False)


def _verify_kind(inputs: list[dict[str, Any]], is_batch: bool) -> str:
    """"signature" or "hmac", with Vault's complaints about mixing or missing them."""
    signatures = sum(1 for item in inputs if "signature" in item)
    hmacs = sum(1 for item in inputs if "signature" not in item and "hmac" in item)
    missing = len(inputs) - signatures - hmacs
    if not is_batch and "signature" in inputs[0] and "hmac" in inputs[0]:
        raise BadRequest("provide one of 'signature' or 'hmac'")
    if not is_batch and not signatures and not hmacs:
        raise BadRequest("neither a 'signature' nor an 'hmac' were given to verify")
    if signatures and hmacs:
        raise BadRequest(
            "elements of batch_input must all provide 'signature' or all provide 'hmac'"
        )
    if missing:
        raise BadRequest(
            "some elements of batch_input are missing 'signature'" if signatures
            else "some elements of batch_input are missing 'hmac'" if hmacs
            else "no batch_input elements have 'signature' or 'hmac'"
        )  # fmt: skip
    return "signature" if signatures else "hmac"


def path_verify_write(request: Request, data: FieldData) -> Response:
    inputs = batch.items(data, _ITEM_STRINGS)
    is_batch = inputs is not None
    if inputs is None:
        single = {"input": data["input"], "context": data["context"]}
        inputs = [single | {name: data[name] for name in ("signature", "hmac")
                            if data.is_set(name)}]
    if _verify_kind(inputs, is_batch) == "hmac":
        return verify_hmacs(request, data, inputs, is_batch)
    options = _options(data)
    policy = _signing_key(request, data, "signature verification key not found",
                          "verification")
    check_options(policy, options)
    results: list[dict[str, Any]] = []
    for item in inputs:
        reference = item.get("reference", "")
        try:
            message, context = _item_bytes(item)
            valid = verify(policy, item.get("signature") or "", message, context, options)
        except BadRequest as error:
            results.append({"valid": False, "error": error.message, "reference": reference})
            continue
        results.append({"valid": valid, "reference": reference})
    return batch.respond(data, results, batch=is_batch, single=("valid",),
                         failures_are_400=False)


def paths() -> list[Path]:
    common = {
        "input": Field(FieldType.STRING, "", "Base64 input."),
        "context": Field(FieldType.STRING, "", "Base64 context (derived ed25519)."),
        "hash_algorithm": Field(FieldType.STRING, "", "Hash of the input."),
        "algorithm": Field(FieldType.STRING, "", "Deprecated alias of hash_algorithm."),
        "signature_algorithm": Field(FieldType.STRING, "", "RSA: pss or pkcs1v15."),
        "marshaling_algorithm": Field(FieldType.STRING, "asn1", "ECDSA: asn1 or jws."),
        "salt_length": Field(FieldType.STRING, "auto", "RSA-PSS salt: auto, hash or bytes."),
        "prehashed": Field(FieldType.BOOL, False, "The input is already a digest."),
        "batch_input": Field(FieldType.ANY, None, "Items."),
    }
    sign_fields = {**common, "key_version": Field(FieldType.INT, 0, "Version (0: latest).")}
    verify_fields = {
        **common,
        "signature": Field(FieldType.STRING, "", "The signature to verify."),
        "hmac": Field(FieldType.STRING, "", "The HMAC to verify."),
    }
    signing = {Operation.UPDATE: path_sign_write}
    verifying = {Operation.UPDATE: path_verify_write}
    return [
        Path("sign/{name}", signing, fields=sign_fields, synopsis="Sign input data.",
             computes=True),
        Path(
            "sign/{name}/{urlalgorithm}",
            signing,
            fields=sign_fields,
            synopsis="Sign input data with the hash algorithm in the path.",
            computes=True,
        ),
        Path("verify/{name}", verifying, fields=verify_fields, synopsis="Verify a signature.",
             computes=True),
        Path(
            "verify/{name}/{urlalgorithm}",
            verifying,
            fields=verify_fields,
            synopsis="Verify a signature with the hash algorithm in the path.",
            computes=True,
        ),
    ]
