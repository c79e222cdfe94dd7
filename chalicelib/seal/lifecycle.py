"""Initialising, sealing, unsealing and rotating: the life of the barrier's keys."""

from __future__ import annotations

import base64
import binascii
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from chalicelib.core import jsonio
from chalicelib.core.errors import BadRequest
from chalicelib.core.mounts import AUTH_KEY, MOUNTS_KEY, MountTable
from chalicelib.core.runtime import TABLE_KEYS, KeyringRecord, Runtime, now_iso
from chalicelib.seal import kms, shamir
from chalicelib.seal.config import (
    KEYRING_KEY,
    SEAL_CONFIG_KEY,
    UNSEAL_PROGRESS_KEY,
    SealConfig,
    recovery_verifier,
    verify_recovery_key,
)
from chalicelib.seal.rootkey import seal_with_root
from chalicelib.settings import settings
from chalicelib.storage.barrier import Keyring
from chalicelib.storage.physical import ConditionFailed, Put
from chalicelib.tokens.entry import root_entry
from chalicelib.tokens.ids import BATCH_KEY, SALT_KEY, new_token_id
from chalicelib.tokens.store import service_token_writes

_KEY_BYTES = 32
_MIN_SHARE_BYTES = 16


@dataclass(frozen=True, slots=True)
class InitResult:
    root_token: str
    recovery_keys: list[bytes]


@dataclass(frozen=True, slots=True)
class UnsealProgress:
    nonce: str
    shares: list[str]  # base64; held only until the threshold is reached

    def to_bytes(self) -> bytes:
        return jsonio.dumpb({"nonce": self.nonce, "shares": self.shares})

    @classmethod
    def from_bytes(cls, raw: bytes) -> UnsealProgress:
        return cls(**jsonio.loads(raw))


def initialize(
    runtime: Runtime,
    shares: int,
    threshold: int,
    default_tables: dict[str, MountTable],
    root_token_id: str | None = None,
) -> InitResult:
    """sys/init: every initial item is written in one transaction, so init is all or nothing."""
    if runtime.initialized or runtime.physical.get(SEAL_CONFIG_KEY) is not None:
        raise BadRequest("Vault is already initialized")
    _validate_shares(shares, threshold)
    cluster_id = str(uuid.uuid4())
    root_key, recovery_key = secrets.token_bytes(_KEY_BYTES), secrets.token_bytes(_KEY_BYTES)
    config = SealConfig(
        cluster_id=cluster_id,
        cluster_name=f"{settings().cluster_name}-{cluster_id[:8]}",
        kms_key_id=settings().kms_key_id,
        wrapped_root_key=base64.b64encode(
            kms.wrap_root_key(root_key, key_id=settings().kms_key_id, cluster_id=cluster_id)
        ).decode(),
        recovery_shares=shares,
        recovery_threshold=threshold,
        recovery_verifier=recovery_verifier(recovery_key),
    )
    keyring = Keyring.generate()
    record = KeyringRecord(keyring, {keyring.active_term: now_iso()})
    salt, batch_key = secrets.token_bytes(_KEY_BYTES), secrets.token_bytes(_KEY_BYTES)
    token_id = root_token_id or new_token_id()
    root_token = service_token_writes(salt, token_id, root_entry())

    def sealed(key: str, obj: object) -> Put:
        plaintext = obj if isinstance(obj, bytes) else jsonio.dumpb(obj)
        return Put(key, keyring.encrypt(key, plaintext), expected_version=0)

    ops = [
        Put(SEAL_CONFIG_KEY, config.to_bytes(), expected_version=0),
        Put(KEYRING_KEY, seal_with_root(root_key, KEYRING_KEY, record.to_bytes()), 0),
        sealed(MOUNTS_KEY, default_tables["mounts"].to_storage()),
        sealed(AUTH_KEY, default_tables["auth"].to_storage()),
        sealed(SALT_KEY, salt),
        sealed(BATCH_KEY, batch_key),
        # As written for any token (unlisted ID entry, due mark), only sealed here.
        *(put._replace(value=keyring.encrypt(put.key, put.value)) for put in root_token),
        _default_policy(sealed),
    ]
    try:
        runtime.physical.transact(ops)
    except ConditionFailed:
        raise BadRequest("Vault is already initialized") from None
    # Bumping the table generations here creates the generations map once, at init, so
    # the first mount or policy change later pays one UpdateItem like every other.
    state = runtime.update_state(
        sealed=False, term=keyring.active_term, bump=tuple(TABLE_KEYS)
    )
    runtime.install_initial(config, root_key, state)
    return InitResult(token_id, _split(recovery_key, shares, threshold))


def _default_policy(sealed: Callable[[str, object], Put]) -> Put:
    """The built-in ``default`` policy every new cluster starts with, as Vault's init.

    Imported here: the policy engine is not needed on the request path until a
    non-root token shows up.
    """
    from chalicelib.policy.defaults import DEFAULT_POLICY, DEFAULT_POLICY_NAME
    from chalicelib.system.path_policy import policy_record
    from chalicelib.tokens.acl_cache import policy_storage_key

    record = policy_record(DEFAULT_POLICY_NAME, DEFAULT_POLICY, 1, False)
    return sealed(policy_storage_key(DEFAULT_POLICY_NAME), record)


def _validate_shares(shares: int, threshold: int) -> None:
    if shares < 1:
        raise BadRequest("shares must be at least one")
    if threshold > shares:
        raise BadRequest("threshold cannot be larger than shares")
    if shares > 1 and threshold < 2:
        raise BadRequest("threshold must be greater than one for multiple shares")
    if shares > 255:
        raise BadRequest("shares must be at most 255")
    if threshold < 1:
        raise BadRequest("threshold must be at least one")


def _split(key: bytes, shares: int, threshold: int) -> list[bytes]:
    return [key] if shares == 1 else shamir.split(key, shares, threshold)


def decode_key(text: str) -> bytes:
    """Unseal keys arrive hex or base64 encoded, as the CLI accepts both."""
    try:
        return bytes.fromhex(text)
    except ValueError:
        pass
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest("'key' must be a valid hex or base64 string") from None


def submit_unseal_key(runtime: Runtime, key: str | None, reset: bool) -> None:
    """sys/unseal after a sys/seal: collect recovery shares until the threshold is met.

    Progress lives in storage (any container may receive the next share), wrapped by KMS
    because the barrier is closed; it is deleted once the key is recovered or reset.
    """
    assert runtime.seal_config is not None
    config = runtime.seal_config
    physical = runtime.physical
    if reset:
        physical.delete(UNSEAL_PROGRESS_KEY)
        return
    if not key:
        raise BadRequest("'key' must be specified in request body as JSON, or 'reset' set to true")
    share = decode_key(key)
    if len(share) < _MIN_SHARE_BYTES:
        raise BadRequest(f"key is shorter than minimum {_MIN_SHARE_BYTES} bytes")
    progress = _load_progress(runtime)
    shares = [*progress.shares, base64.b64encode(share).decode()]
    if len(set(shares)) != len(shares):
        return  # Vault ignores a share it has already been given
    if len(shares) < config.recovery_threshold:
        _save_progress(runtime, UnsealProgress(progress.nonce, shares))
        return
    physical.delete(UNSEAL_PROGRESS_KEY)
    recovered = _combine([base64.b64decode(s) for s in shares], config.recovery_threshold)
    if recovered is None or not verify_recovery_key(config, recovered):
        # As Vault: wrong shares are only noticed at the threshold, and progress starts over.
        raise BadRequest(
            "unable to recover the key from the given shares: message authentication failed"
        )
    runtime.mark_sealed(False)


def _combine(shares: list[bytes], threshold: int) -> bytes | None:
    if threshold == 1:
        return shares[0]
    try:
        return shamir.combine(shares)
    except ValueError:
        return None


def unseal_progress(runtime: Runtime) -> UnsealProgress:
    return _load_progress(runtime) if runtime.initialized else UnsealProgress("", [])


def _load_progress(runtime: Runtime) -> UnsealProgress:
    assert runtime.seal_config is not None
    entry = runtime.physical.get(UNSEAL_PROGRESS_KEY)
    if entry is None:
        return UnsealProgress(str(uuid.uuid4()), [])
    raw = kms.unwrap(entry.value, cluster_id=runtime.seal_config.cluster_id, purpose="unseal")
    return UnsealProgress.from_bytes(raw)


def _save_progress(runtime: Runtime, progress: UnsealProgress) -> None:
    assert runtime.seal_config is not None
    config = runtime.seal_config
    blob = kms.wrap(
        progress.to_bytes(), key_id=config.kms_key_id, cluster_id=config.cluster_id,
        purpose="unseal",
    )
    runtime.physical.put(UNSEAL_PROGRESS_KEY, blob)
