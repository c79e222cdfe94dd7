"""datakey/plaintext|wrapped/:name: a fresh random key, returned encrypted by the named key."""

from __future__ import annotations

import os

from chalicelib.core.errors import BadRequest
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.engines.transit.cipher import NoncePool, encrypt
from chalicelib.engines.transit.encoding import DecodeError, b64decode, b64encode
from chalicelib.engines.transit.path_keys import decode_context
from chalicelib.engines.transit.store import KeyStore
from chalicelib.framework import Field, FieldData, FieldType, Path

_BITS = {128: 16, 256: 32, 512: 64}


def path_datakey_write(request: Request, data: FieldData) -> Response:
    kind = data["plaintext"]
    if kind not in ("plaintext", "wrapped"):
        raise BadRequest("Invalid path, must be 'plaintext' or 'wrapped'")
    context = decode_context(data["context"])
    policy = KeyStore.of(request).load(data["name"])
    if policy is None:
        raise BadRequest("encryption key not found")
    size = _BITS.get(data["bits"])
    if size is None:
        raise BadRequest("invalid bit length")
    aad = None
    if data["associated_data"]:
        if not policy.type.symmetric:
            raise BadRequest(
                f"'associated_data' provided for non-AEAD cipher suite {policy.type.name}"
            )
        try:
            aad = b64decode(data["associated_data"])
        except DecodeError as error:
            raise BadRequest(str(error)) from None
    if not policy.type.encryption:
        raise BadRequest(f"message encryption not supported for key type {policy.type.name}")
    number = policy.encryption_version(data["key_version"])
    key = os.urandom(size)
    result = {
        "ciphertext": encrypt(policy, number, key, context, aad, NoncePool(1)),
        "key_version": number,
    }
    if kind == "plaintext":
        result["plaintext"] = b64encode(key)
    return Response(data=result)


def paths() -> list[Path]:
    return [
        Path(
            "datakey/{plaintext}/{name}",
            {Operation.UPDATE: path_datakey_write},
            fields={
                "context": Field(FieldType.STRING, "", "Base64 context for derived keys."),
                "bits": Field(FieldType.INT, 256, "Data key size: 128, 256 or 512."),
                "key_version": Field(FieldType.INT, 0, "Key version to use (0: latest)."),
                "associated_data": Field(FieldType.STRING, "", "Base64 associated data."),
                "nonce": Field(FieldType.STRING, "", "Ignored, as in current Vault."),
            },
            synopsis="Generate a data key.",
            computes=True,
        )
    ]
