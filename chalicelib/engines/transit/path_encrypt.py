"""encrypt/:name: one plaintext or a batch; creates the key on first use (Vault's upsert)."""

from __future__ import annotations

from typing import Any

from chalicelib.core.errors import BadRequest
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.core.runtime import collector_paused
from chalicelib.engines.transit import batch
from chalicelib.engines.transit.cipher import NONCE_BYTES, PREFIX, NoncePool, encrypt
from chalicelib.engines.transit.encoding import DecodeError, b64decode, b64encode
from chalicelib.engines.transit.keytypes import key_type
from chalicelib.engines.transit.path_keys import create_key, key_exists
from chalicelib.engines.transit.policy import KeyPolicy, new_policy
from chalicelib.engines.transit.store import KeyStore
from chalicelib.framework import Field, FieldData, FieldType, Path

ITEM_STRINGS = ("plaintext", "ciphertext", "context", "associated_data", "reference")


def single_item(data: FieldData, *names: str) -> dict[str, Any]:
    """The request's own fields as the one item of a non-batch request."""
    return {name: data[name] for name in names if data.is_set(name)}


def check_contexts(inputs: list[dict[str, Any]]) -> bool:
    """Whether items carry a context; Vault wants it on all of them or on none."""
    context_set = bool(inputs[0].get("context"))
    for item in inputs:
        if bool(item.get("context")) != context_set:
            raise BadRequest("context should be set either in all the request blocks or in none")
    return context_set


def associated_data(policy: KeyPolicy, item: dict[str, Any], index: int) -> bytes | None:
    text = item.get("associated_data")
    if not text:
        return None
    if not policy.type.symmetric:
        raise BadRequest(
            f"'[{index}].associated_data' provided for non-AEAD cipher suite {policy.type.name}"
        )
    return b64decode(text)


def encrypt_item(
    policy: KeyPolicy, item: dict[str, Any], index: int, nonces: NoncePool
) -> dict[str, Any]:
    reference = item.get("reference", "")
    try:
        plaintext = b64decode(item["plaintext"])
        context = b64decode(item["context"]) if item.get("context") else b""
        aad = associated_data(policy, item, index)
        number = policy.encryption_version(batch.key_version(item.get("key_version")))
        ciphertext = encrypt(policy, number, plaintext, context, aad, nonces)
    except (BadRequest, DecodeError) as error:
        return {"error": str(error), "reference": reference}  # both: the message alone
    return {"ciphertext": ciphertext, "key_version": number, "reference": reference}


def encrypt_plain_items(policy: KeyPolicy, inputs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The per-item path; the common case (no key_version, context or associated_data on
    a non-derived AEAD key) is inlined, since it runs once per batch item."""
    nonces = NoncePool(len(inputs))
    pool, width = nonces.take_all(), NONCE_BYTES
    results: list[dict[str, Any]] = []
    append = results.append
    number = policy.latest_version
    prefix = f"{PREFIX}{number}:"
    seal = policy.versions[number].aead(policy.type).encrypt if (
        policy.type.symmetric and not policy.derived
    ) else None  # fmt: skip
    # The loop's thousands of small acyclic objects would trigger collections of the
    # whole process for nothing to collect.
    with collector_paused():
        for index, item in enumerate(inputs):
            text = item.get("plaintext")
            if seal is not None and text is not None and (
                len(item) == 1 or (len(item) == 2 and "reference" in item)
            ):
                try:
                    plaintext = b64decode(text)
                except DecodeError as error:
                    append({"error": str(error), "reference": item.get("reference", "")})
                    continue
                nonce = pool[index * width:(index + 1) * width]
                body = b64encode(nonce + seal(nonce, plaintext, None))
                append({"ciphertext": prefix + body, "key_version": number,
                        "reference": item.get("reference", "")})
            else:
                append(encrypt_item(policy, item, index, nonces))
    return results


def _upsert(store: KeyStore, data: FieldData, context_set: bool) -> KeyPolicy:
    """Create the key the request names, as Vault does for an encrypt to a new key."""
    kind = key_type(data["type"])
    if kind.family == "ecdsa":
        raise BadRequest(f"key type {kind.name} not supported for this operation")
    if not kind.symmetric:
        raise BadRequest(f"unknown key type {kind.name}")
    convergent = data["convergent_encryption"]
    if convergent and not context_set:
        raise BadRequest(
            "convergent encryption requires derivation to be enabled, so context is required"
        )
    fresh = new_policy(data["name"], kind, derived=context_set, convergent=convergent)
    return create_key(store, fresh)[0]


def path_encrypt_write(request: Request, data: FieldData) -> Response:
    inputs = batch.items(data, ITEM_STRINGS)
    is_batch = inputs is not None
    if inputs is None:
        if not data.is_set("plaintext"):
            raise BadRequest("missing plaintext to encrypt")
        inputs = [single_item(data, "plaintext", "context", "key_version", "associated_data")]
    for index, item in enumerate(inputs):
        if item.get("plaintext") is None:
            problem = (
                "expected type 'string', got unconvertible type '<nil>'" if "plaintext" in item
                else "missing plaintext to encrypt"
            )  # fmt: skip
            raise BadRequest(f"failed to parse batch input: '[{index}].plaintext' {problem}")
    context_set = check_contexts(inputs)
    store = KeyStore.of(request)
    policy = store.load(data["name"])
    if policy is None:
        if request.operation != Operation.CREATE:
            raise BadRequest("encryption key not found")
        policy = _upsert(store, data, context_set)
    if not policy.type.encryption:
        raise BadRequest(f"message encryption not supported for key type {policy.type.name}")
    results = encrypt_plain_items(policy, inputs)
    return batch.respond(data, results, batch=is_batch, single=("ciphertext", "key_version"))


ENCRYPT_FIELDS = {
    "plaintext": Field(FieldType.STRING, "", "Base64 plaintext."),
    "context": Field(FieldType.STRING, "", "Base64 context for derived keys."),
    "key_version": Field(FieldType.INT, 0, "Key version to use (0: latest)."),
    "associated_data": Field(FieldType.STRING, "", "Base64 associated data (AEAD)."),
    "batch_input": Field(FieldType.ANY, None, "Items to encrypt."),
    "partial_failure_response_code": Field(FieldType.INT, 0, "Status when some items fail."),
}


def paths() -> list[Path]:
    return [
        Path(
            "encrypt/{name}",
            {Operation.CREATE: path_encrypt_write, Operation.UPDATE: path_encrypt_write},
            fields={
                **ENCRYPT_FIELDS,
                "type": Field(FieldType.STRING, "aes256-gcm96", "Type of a key created here."),
                "convergent_encryption": Field(FieldType.BOOL, False, "Convergent new key."),
            },
            exists=key_exists,
            synopsis="Encrypt plaintext with the named key.",
            computes=True,  # a CREATE (the key is missing: an upsert) is still a change
        )
    ]
