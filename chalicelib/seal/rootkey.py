"""Sealing the keyring under the root key (the only thing the root key ever encrypts)."""

from __future__ import annotations

import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_NONCE = 12


def seal_with_root(root_key: bytes, key: str, plaintext: bytes) -> bytes:
    nonce = os.urandom(_NONCE)
    return nonce + AESGCM(root_key).encrypt(nonce, plaintext, key.encode())


def open_with_root(root_key: bytes, key: str, blob: bytes) -> bytes:
    return AESGCM(root_key).decrypt(blob[:_NONCE], blob[_NONCE:], key.encode())
