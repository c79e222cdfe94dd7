"""decrypt/:name and rewrap/:name: one ciphertext or a batch, errors per item."""

from __future__ import annotations

from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305

from chalicelib.core.errors import BadRequest
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.core.runtime import collector_paused
from chalicelib.engines.transit import batch
from chalicelib.engines.transit.cipher import NONCE_BYTES, PREFIX, NoncePool, decrypt
from chalicelib.engines.transit.encoding import DecodeError, b64decode, b64encode
from chalicelib.engines.transit.path_encrypt import (
    ENCRYPT_FIELDS,
    ITEM_STRINGS,
    associated_data,
    check_contexts,
    encrypt_item,
    single_item,
)
from chalicelib.engines.transit.policy import KeyPolicy
from chalicelib.engines.transit.store import KeyStore
from chalicelib.framework import Field, FieldData, FieldType, Path


def _plaintext(policy: KeyPolicy, item: dict[str, Any], index: int) -> bytes:
    if not item.get("ciphertext"):
        raise BadRequest("missing ciphertext to decrypt")
    context = b64decode(item["context"]) if item.get("context") else b""
    return decrypt(policy, item["ciphertext"], context, associated_data(policy, item, index))


def _decrypt_item(policy: KeyPolicy, item: dict[str, Any], index: int) -> dict[str, Any]:
    reference = item.get("reference", "")
    try:
        plaintext = b64encode(_plaintext(policy, item, index))
    except (BadRequest, DecodeError) as error:
        return {"plaintext": "", "error": str(error), "reference": reference}
    return {"plaintext": plaintext, "reference": reference}


def _plain_ciphers(policy: KeyPolicy) -> dict[str, AESGCM | ChaCha20Poly1305]:
    """For the inlined path: the AEAD of each version a ciphertext may name, by its text.
    Empty for keys whose ciphertexts need more than that (derived, convergent, RSA)."""
    if not policy.type.symmetric or policy.derived:
        return {}
    return {
        str(number): version.aead(policy.type)
        for number, version in policy.versions.items()
        if number >= policy.min_decryption_version
    }


def decrypt_items(policy: KeyPolicy, inputs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The per-item path; a plain ``{"ciphertext": ...}`` item of a non-derived AEAD key
    is inlined (it runs once per batch item), anything else or any failure takes the
    general path, which also words the error."""
    ciphers = _plain_ciphers(policy)
    results: list[dict[str, Any]] = []
    append = results.append
    # The loop's thousands of small acyclic objects would trigger collections of the
    # whole process for nothing to collect.
    with collector_paused():
        for index, item in enumerate(inputs):
            text = item.get("ciphertext")
            if ciphers and len(item) == 1 and text and text.startswith(PREFIX):
                number, _, body = text[len(PREFIX):].partition(":")
                cipher = ciphers.get(number)
                try:
                    raw = b64decode(body) if cipher is not None else b""
                    if len(raw) >= NONCE_BYTES and cipher is not None:
                        view = memoryview(raw)
                        opened = cipher.decrypt(view[:NONCE_BYTES], view[NONCE_BYTES:], None)
                        plain = b64encode(opened)
                        append({"plaintext": plain, "reference": ""})
                        continue
                except (DecodeError, InvalidTag):
                    pass
            append(_decrypt_item(policy, item, index))
    return results


def _inputs(data: FieldData, *single: str) -> tuple[list[dict[str, Any]], bool]:
    inputs = batch.items(data, ITEM_STRINGS)
    if inputs is not None:
        return inputs, True
    if not data["ciphertext"]:
        raise BadRequest("missing ciphertext to decrypt")
    return [single_item(data, *single)], False


def _policy(request: Request, data: FieldData) -> KeyPolicy:
    policy = KeyStore.of(request).load(data["name"])
    if policy is None:
        raise BadRequest("encryption key not found")
    if not policy.type.encryption:
        raise BadRequest(f"message decryption not supported for key type {policy.type.name}")
    return policy


def path_decrypt_write(request: Request, data: FieldData) -> Response:
    inputs, is_batch = _inputs(data, "ciphertext", "context", "associated_data")
    check_contexts(inputs)
    results = decrypt_items(_policy(request, data), inputs)
    return batch.respond(data, results, batch=is_batch, single=("plaintext",))


def path_rewrap_write(request: Request, data: FieldData) -> Response:
    """Decrypt under whichever version each ciphertext names, re-encrypt under the latest
    (or key_version)."""
    inputs, is_batch = _inputs(data, "ciphertext", "context", "key_version")
    check_contexts(inputs)
    policy = _policy(request, data)
    nonces = NoncePool(len(inputs))
    results: list[dict[str, Any]] = []
    for index, item in enumerate(inputs):
        reference = item.get("reference", "")
        try:
            plaintext = _plaintext(policy, {**item, "associated_data": ""}, index)
        except (BadRequest, DecodeError) as error:
            results.append({"error": str(error), "reference": reference})
            continue
        again = {**item, "plaintext": b64encode(plaintext)}
        again.pop("associated_data", None)
        results.append(encrypt_item(policy, again, index, nonces))
    return batch.respond(data, results, batch=is_batch, single=("ciphertext", "key_version"),
                         failures_are_400=False)


def paths() -> list[Path]:
    fields = {name: spec for name, spec in ENCRYPT_FIELDS.items() if name != "plaintext"}
    fields["ciphertext"] = Field(FieldType.STRING, "", "The ciphertext, vault:v<N>:...")
    return [
        Path("decrypt/{name}", {Operation.UPDATE: path_decrypt_write}, fields=fields,
             synopsis="Decrypt ciphertext with the named key.", computes=True),
        Path("rewrap/{name}", {Operation.UPDATE: path_rewrap_write}, fields=fields,
             synopsis="Re-encrypt ciphertext under the latest version of the named key.",
             computes=True),
    ]
