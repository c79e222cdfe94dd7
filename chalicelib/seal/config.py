"""The seal configuration: what a cold container needs to unseal itself.

Stored without the barrier (it is what opens the barrier) and holds nothing secret: the
root key only as a KMS ciphertext, and the recovery key only as a verifier.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import NamedTuple

from chalicelib.core import jsonio

SEAL_CONFIG_KEY = "core/seal-config"
KEYRING_KEY = "core/keyring"
UNSEAL_PROGRESS_KEY = "core/unseal-progress"
_VERIFIER_CONTEXT = b"lambdavault recovery key verifier"


# A NamedTuple: defined on every cold start, where a frozen dataclass costs ~7x more.
class SealConfig(NamedTuple):
    cluster_id: str
    cluster_name: str
    kms_key_id: str
    wrapped_root_key: str  # base64 KMS ciphertext
    recovery_shares: int
    recovery_threshold: int
    recovery_verifier: str  # base64 HMAC of a fixed context under the recovery key

    def to_bytes(self) -> bytes:
        return jsonio.dumpb(self._asdict())

    @classmethod
    def from_bytes(cls, raw: bytes) -> SealConfig:
        return cls(**jsonio.loads(raw))

    @property
    def wrapped_root_key_bytes(self) -> bytes:
        return base64.b64decode(self.wrapped_root_key)


def recovery_verifier(recovery_key: bytes) -> str:
    digest = hmac.new(recovery_key, _VERIFIER_CONTEXT, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def verify_recovery_key(config: SealConfig, candidate: bytes) -> bool:
    return hmac.compare_digest(recovery_verifier(candidate), config.recovery_verifier)
