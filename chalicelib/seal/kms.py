"""The KMS side of auto-unseal: wrap the root key with a KMS key, and unwrap it again.

The ciphertext is bound through the KMS encryption context (authenticated, not secret, recorded
in CloudTrail) to its cluster and to what it holds -- ``{"lambdavault:cluster": <cluster id>,
"lambdavault:purpose": "root-key"}`` -- so a blob copied from one cluster's table to another's,
or from one purpose to another, does not decrypt. Unwrapping is exactly one ``Decrypt`` call.
:func:`wrap` / :func:`unwrap` are the same with a caller-chosen purpose (e.g. ``"unseal"``), for
other small secrets that must be stored while the barrier is closed.

The boto3 client is built on first use and then reused for the life of the process (the Lambda
container); importing this module neither imports boto3 nor touches the network.

Failures surface as :class:`SealError` when KMS refuses (wrong key or context, tampered blob,
access denied, disabled or missing key) and as :class:`~chalicelib.core.errors.Unavailable`
(503, see :mod:`chalicelib.core.awsfaults`) when KMS could not be asked or answer (network,
credentials, throttling, KMS-side faults), after botocore's retries. Both carry fixed
messages; only the operation, error code and request id are logged, never key material,
ciphertext or the AWS error text.
"""

import logging
from collections.abc import Mapping
from functools import cache
from typing import TYPE_CHECKING, Any

from chalicelib.core import awsfaults
from chalicelib.core.errors import InternalError, VaultError
from chalicelib.settings import settings

if TYPE_CHECKING:
    from botocore.client import BaseClient

__all__ = [
    "ROOT_KEY_PURPOSE",
    "SealError",
    "encryption_context",
    "kms_client",
    "unwrap",
    "unwrap_root_key",
    "wrap",
    "wrap_root_key",
]

logger = logging.getLogger(__name__)

#: The encryption-context purpose of the wrapped root key.
ROOT_KEY_PURPOSE = "root-key"
#: KMS Encrypt takes at most 4096 bytes of plaintext.
MAX_PLAINTEXT = 4096
#: KMS ciphertext blobs are at most 6144 bytes.
MAX_CIPHERTEXT = 6144


class SealError(VaultError):
    """KMS refused to wrap or unwrap a blob (500). The message never holds key material."""

    def __init__(self, message: str = "seal operation failed") -> None:
        super().__init__(message)


@cache
def kms_client() -> "BaseClient":
    """The process-wide KMS client, built on first use from :func:`settings`.

    Tests call ``kms_client.cache_clear()`` (with ``settings.cache_clear()``) after changing
    the environment.
    """
    from botocore.config import Config

    from chalicelib.storage.dynamotable import botocore_session

    s = settings()
    # The storage connection's session: its models are already loaded (boto3 is not needed).
    return botocore_session().create_client(
        "kms",
        region_name=s.region,
        endpoint_url=s.endpoint_url,
        config=Config(**awsfaults.CLIENT_CONFIG),
    )


def encryption_context(cluster_id: str, purpose: str = ROOT_KEY_PURPOSE) -> dict[str, str]:
    """The KMS encryption context binding a blob to ``cluster_id`` and to what it holds."""
    if not isinstance(cluster_id, str) or not cluster_id:
        raise ValueError("cluster_id must be a non-empty string")
    if not isinstance(purpose, str) or not purpose:
        raise ValueError("purpose must be a non-empty string")
    return {"lambdavault:cluster": cluster_id, "lambdavault:purpose": purpose}


def wrap_root_key(root_key: bytes, *, key_id: str, cluster_id: str) -> bytes:
    """Encrypt ``root_key`` under the KMS key ``key_id``, bound to ``cluster_id``."""
    return wrap(root_key, key_id=key_id, cluster_id=cluster_id, purpose=ROOT_KEY_PURPOSE)


def unwrap_root_key(blob: bytes, *, cluster_id: str, key_id: str | None = None) -> bytes:
    """Decrypt a blob made by :func:`wrap_root_key` for ``cluster_id`` -- one KMS ``Decrypt``.

    ``key_id`` (optional) pins the KMS key the blob must have been made with, as AWS recommends;
    without it KMS uses whichever key the blob names.
    """
    return unwrap(blob, cluster_id=cluster_id, purpose=ROOT_KEY_PURPOSE, key_id=key_id)


def wrap(plaintext: bytes, *, key_id: str, cluster_id: str, purpose: str) -> bytes:
    """Encrypt up to 4096 bytes under ``key_id`` with the context (``cluster_id``, ``purpose``).

    The general form of :func:`wrap_root_key`, for other small secrets kept while the barrier
    is closed; a blob only unwraps with the same cluster and purpose.
    """
    data = _as_bytes(plaintext, "plaintext")
    if not 1 <= len(data) <= MAX_PLAINTEXT:
        raise ValueError("plaintext must be 1 to 4096 bytes")
    if not isinstance(key_id, str) or not key_id:
        raise ValueError("key_id must be a non-empty string")
    context = encryption_context(cluster_id, purpose)

    response = _call(
        "Encrypt",
        f"failed to wrap the {_describe(purpose)} with KMS",
        KeyId=key_id,
        Plaintext=data,
        EncryptionContext=context,
    )
    blob = response.get("CiphertextBlob")
    if not isinstance(blob, bytes) or not blob:
        logger.error("KMS Encrypt returned no ciphertext")
        raise InternalError()
    return blob


def unwrap(blob: bytes, *, cluster_id: str, purpose: str, key_id: str | None = None) -> bytes:
    """Decrypt a blob made by :func:`wrap` with the same cluster and purpose: one ``Decrypt``."""
    ciphertext = _as_bytes(blob, "blob")
    context = encryption_context(cluster_id, purpose)
    if key_id is not None and (not isinstance(key_id, str) or not key_id):
        raise ValueError("key_id must be a non-empty string")
    refused = f"failed to unwrap the {_describe(purpose)} with KMS"
    if not 1 <= len(ciphertext) <= MAX_CIPHERTEXT:
        # Bad stored data rather than a programming error: nothing KMS could decrypt.
        logger.error("KMS Decrypt not attempted: blob of impossible size %d", len(ciphertext))
        raise SealError(refused)
    params: dict[str, Any] = {"CiphertextBlob": ciphertext, "EncryptionContext": context}
    if key_id is not None:
        params["KeyId"] = key_id

    response = _call("Decrypt", refused, **params)
    data = response.get("Plaintext")
    if not isinstance(data, bytes) or not data:
        logger.error("KMS Decrypt returned no plaintext")
        raise InternalError()
    return data


def _describe(purpose: str) -> str:
    return "root key" if purpose == ROOT_KEY_PURPOSE else f"{purpose} blob"


def _as_bytes(value: Any, what: str) -> bytes:
    # memoryview refuses str and int, so neither can be silently encoded or zero-filled.
    try:
        return memoryview(value).tobytes()
    except TypeError:
        raise TypeError(f"{what} must be bytes-like") from None


def _call(operation: str, refused_message: str, **params: Any) -> Mapping[str, Any]:
    """Make one KMS API call, translating every failure into a message-safe error.

    Exceptions are raised ``from None`` and only their class, code and request id are logged:
    botocore's own messages can echo request parameters (its parameter validation quotes
    values), and the request here carries the plaintext root key.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        response: Mapping[str, Any] = getattr(kms_client(), operation.lower())(**params)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = str(error.get("Code", "Unknown"))
        request_id = exc.response.get("ResponseMetadata", {}).get("RequestId", "")
        unavailable = awsfaults.unavailable(exc)
        if unavailable is not None:
            logger.error("KMS %s unavailable: %s (request %s)", operation, code, request_id)
            raise unavailable from None
        logger.error("KMS %s refused: %s (request %s)", operation, code, request_id)
        raise SealError(refused_message) from None
    except BotoCoreError as exc:
        logger.error("KMS %s could not be called: %s", operation, type(exc).__name__)
        raise awsfaults.unavailable(exc) or InternalError() from None
    return response
