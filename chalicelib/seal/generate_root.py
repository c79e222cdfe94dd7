"""Root token generation with the recovery key, as OpenBao's ``vault/generate_root.go``.

An auto-unsealed cluster has no unseal key: as OpenBao with an auto seal, the attempt
collects shares of the recovery key that sys/init returned. The attempt lives in barrier
storage (any container may receive the next share) and every change to it is a write
conditional on the version read, so shares sent at once by two containers are never lost;
the last share deletes the attempt and creates the token in one transaction, so one
attempt yields one token. Shares are kept (sealed by the barrier) only until then.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import re
import uuid
from typing import NamedTuple

from chalicelib.core import jsonio
from chalicelib.core.errors import BadRequest, PreconditionFailed
from chalicelib.core.runtime import Runtime
from chalicelib.seal import shamir
from chalicelib.seal.config import SealConfig, verify_recovery_key
from chalicelib.storage.physical import ConditionFailed, Delete
from chalicelib.tokens.entry import root_entry
from chalicelib.tokens.ids import RANDOM_LENGTH, SERVICE_PREFIX, new_token_id, random_base62
from chalicelib.tokens.store import service_token_writes

ATTEMPT_KEY = "sys/generate-root/attempt"
# The OTP is XORed with the token, so it has the token's length, as OpenBao's otp_length.
OTP_LENGTH = len(SERVICE_PREFIX) + RANDOM_LENGTH
# OpenBao's bounds for a key share: an AES block up to a 256-bit key plus the x byte.
MIN_SHARE_BYTES = 16
MAX_SHARE_BYTES = 32 + shamir.SHARE_OVERHEAD
_HEX = re.compile(r"(?:[0-9A-Fa-f]{2})*")
_RETRIES = 8


class Attempt(NamedTuple):
    nonce: str
    otp: str
    shares: tuple[str, ...] = ()  # base64 of each distinct share given so far

    def to_bytes(self) -> bytes:
        return jsonio.dumpb({"nonce": self.nonce, "otp": self.otp, "shares": self.shares})

    @classmethod
    def from_bytes(cls, raw: bytes) -> Attempt:
        stored = jsonio.loads(raw)
        return cls(stored["nonce"], stored["otp"], tuple(stored["shares"]))


class Progress(NamedTuple):
    progress: int
    required: int
    encoded_token: str = ""  # set once the threshold is met


def current(rt: Runtime) -> Attempt | None:
    entry = rt.barrier.get(ATTEMPT_KEY)
    return None if entry is None else Attempt.from_bytes(entry.value)


def required(rt: Runtime) -> int:
    return _config(rt).recovery_threshold


def start(rt: Runtime, otp: str, pgp_key: str) -> Attempt:
    """Begin an attempt; without ``otp`` or ``pgp_key`` the server makes the OTP (OpenBao 2)."""
    if otp:
        # Bytes, as Go's len(): the OTP is XORed byte for byte with the token.
        if len(otp.encode()) != OTP_LENGTH:
            raise BadRequest("OTP string has incorrect length")
    elif pgp_key:
        raise BadRequest("pgp_key is not supported: encode the root token with an OTP instead")
    else:
        otp = random_base62(OTP_LENGTH)
    attempt = Attempt(str(uuid.uuid4()), otp)
    try:
        rt.barrier.put(ATTEMPT_KEY, attempt.to_bytes(), expected_version=0)
    except ConditionFailed:
        raise BadRequest("root generation already in progress for this namespace") from None
    return attempt


def cancel(rt: Runtime) -> None:
    rt.barrier.delete(ATTEMPT_KEY)


def decode_share(text: str, *, bounded_hex: bool = False) -> bytes:
    """A share as hex or standard base64 (Go's strict decoders). ``bounded_hex``: hex
    only within the share bounds, as the unauthenticated endpoint reads it, so base64
    text that happens to be hex is read as base64."""
    if _HEX.fullmatch(text):
        share = bytes.fromhex(text)
        if not bounded_hex or MIN_SHARE_BYTES <= len(share) <= MAX_SHARE_BYTES:
            return share
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest("'key' must be a valid hex or base64 string") from None


def submit(rt: Runtime, share: bytes, nonce: str) -> Progress:
    """Add one recovery key share; at the threshold, check the key and mint a root token."""
    if len(share) < MIN_SHARE_BYTES:
        raise BadRequest(f"invalid key: key is shorter than minimum {MIN_SHARE_BYTES} bytes")
    if len(share) > MAX_SHARE_BYTES:
        raise BadRequest(f"invalid key: key is longer than maximum {MAX_SHARE_BYTES} bytes")
    threshold = required(rt)
    encoded_share = base64.b64encode(share).decode()
    for _ in range(_RETRIES):
        entry = rt.barrier.get(ATTEMPT_KEY)
        if entry is None:
            raise BadRequest("no root generation in progress")
        attempt = Attempt.from_bytes(entry.value)
        if nonce != attempt.nonce:
            raise BadRequest(
                "incorrect nonce supplied; nonce for this root generation operation is "
                f'"{attempt.nonce}"'
            )
        if any(hmac.compare_digest(encoded_share, given) for given in attempt.shares):
            raise BadRequest("given key has already been provided during this generation operation")
        shares = (*attempt.shares, encoded_share)
        try:
            if len(shares) < threshold:
                updated = attempt._replace(shares=shares).to_bytes()
                rt.barrier.put(ATTEMPT_KEY, updated, expected_version=entry.version)
                return Progress(len(shares), threshold)
            return Progress(len(shares), threshold, _finish(rt, attempt, shares, entry.version))
        except ConditionFailed:
            continue  # another share, a cancel or a restart got there first: read again
    raise PreconditionFailed("root generation is being changed concurrently; retry")


def _finish(rt: Runtime, attempt: Attempt, shares: tuple[str, ...], version: int) -> str:
    failure = _check_key(_config(rt), [base64.b64decode(share) for share in shares])
    if failure:
        # As OpenBao: the attempt stays, its progress starts over.
        reset = attempt._replace(shares=()).to_bytes()
        rt.barrier.put(ATTEMPT_KEY, reset, expected_version=version)
        raise BadRequest(failure)
    assert rt.token_salt is not None  # unsealed: the pipeline refuses a sealed request
    token_id = new_token_id()
    encoded = encode_token(token_id, attempt.otp)  # before the write: no token without it
    writes = service_token_writes(rt.token_salt, token_id, root_entry())
    rt.barrier.transact([Delete(ATTEMPT_KEY, expected_version=version), *writes])
    return encoded


def _check_key(config: SealConfig, shares: list[bytes]) -> str:
    """The error text when ``shares`` do not rebuild the recovery key, else ""."""
    try:
        key = shamir.combine(shares, threshold=config.recovery_threshold)
    except ValueError as error:
        return f"failed to compute root key: {error}"
    if not verify_recovery_key(config, key):
        return (
            "root generation aborted: unable to authenticate: recovery key verification "
            "failed: recovery key does not match submitted values"
        )
    return ""


def encode_token(token: str, otp: str) -> str:
    """OpenBao's roottoken.EncodeToken: unpadded base64 of token XOR OTP, which
    ``bao operator generate-root -decode`` reverses."""
    mixed = bytes(a ^ b for a, b in zip(token.encode(), otp.encode(), strict=True))
    return base64.b64encode(mixed).decode().rstrip("=")


def _config(rt: Runtime) -> SealConfig:
    assert rt.seal_config is not None  # initialised: the pipeline refuses otherwise
    return rt.seal_config
