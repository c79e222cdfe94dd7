"""Shamir secret sharing over GF(2^8), share-compatible with Vault/OpenBao's ``shamir`` package.

pycryptodome's ``Shamir`` only splits 16-byte secrets over GF(2^128) in a different share layout,
so this one small module is hand-written instead.

Layout (identical to ``sdk/helper/shamir`` in OpenBao): each share is ``len(secret)`` y-bytes
followed by ONE trailing byte, the share's x-coordinate. Every byte of the secret is the
constant term of its own random polynomial of degree ``threshold - 1``; all of a share's
y-bytes are those polynomials evaluated at the share's x. The x-coordinates are distinct,
non-zero (x = 0 would be the secret itself) and drawn uniformly at random. The field is GF(2^8)
with the AES polynomial x^8 + x^4 + x^3 + x + 1 (0x11B), so shares from ``bao operator init``
combine here and vice versa.

1-of-1 follows OpenBao's ``vault/init.go`` and ``seal_manager.go`` rather than its ``shamir``
package (which rejects a threshold below 2): ``split(secret, 1, 1)`` returns ``[secret]`` -- the
secret itself, no x-byte -- and ``combine([share], threshold=1)`` returns it unchanged. Without
``threshold=1``, ``combine`` needs at least two shares, as Vault's does: a lone share cannot say
whether it is a whole 1-of-1 key or one piece of a larger split.

Timing: everything that touches secret material (the secret, the random coefficients, the
y-bytes) is computed with shifts, masks and XOR on fixed-width integers -- no branches and no
table lookups indexed by secret bytes, hence no log/exp tables. The only data-dependent work is
on x-coordinates, which are public (each share stores its own in clear). The bytes of a secret
are processed as lanes of one Python int, all at once (SWAR), which is what keeps a 255-share
split fast. CPython gives no constant-time guarantee, so this is best effort, as is the fact
that Python cannot wipe the intermediate ints and bytes from memory.
"""

import secrets
from collections.abc import Sequence
from typing import Any

__all__ = ["MAX_PARTS", "SHARE_OVERHEAD", "combine", "split"]

#: Bytes a share adds to the secret: the trailing x-coordinate (Vault's ``ShareOverhead``).
SHARE_OVERHEAD = 1
#: x-coordinates are the 255 non-zero field elements, so at most 255 shares / threshold.
MAX_PARTS = 255

_REDUCE = 0x1B  # x^8 = x^4 + x^3 + x + 1 in GF(2^8)/0x11B

_sysrand = secrets.SystemRandom()


# --- scalar field arithmetic (used on public values and as the reference in tests) ---------


def _mul(a: int, b: int) -> int:
    """``a * b`` in GF(2^8): shift-and-add over b's bits, MSB first, branch-free (Vault's mult)."""
    r = 0
    for i in range(7, -1, -1):
        # -(bit) is 0 or -1 (all ones), so "& mask" selects without branching.
        r = ((r << 1) & 0xFF) ^ (-(r >> 7) & _REDUCE) ^ (-((b >> i) & 1) & a)
    return r


def _inv(a: int) -> int:
    """``a^-1`` as ``a^254`` (the multiplicative group has order 255); maps 0 to 0."""
    result, square = 1, a
    for _ in range(7):  # a^254 = a^2 * a^4 * ... * a^128
        square = _mul(square, square)
        result = _mul(result, square)
    return result


# --- the same arithmetic on every byte of a secret at once ----------------------------------


class _Lanes:
    """``n`` independent GF(2^8) elements packed into one int: lane i is byte i (big-endian)."""

    __slots__ = ("_low7", "_ones", "n")

    def __init__(self, n: int) -> None:
        self.n = n
        self._low7 = int.from_bytes(b"\x7f" * n, "big")
        self._ones = int.from_bytes(b"\x01" * n, "big")

    def pack(self, data: bytes) -> int:
        return int.from_bytes(data, "big")

    def unpack(self, v: int) -> bytes:
        return v.to_bytes(self.n, "big")

    def scale(self, v: int, k: int) -> int:
        """Multiply every lane of ``v`` by the scalar ``k`` -- ``_mul`` applied lane-wise."""
        r = 0
        for i in range(7, -1, -1):
            # Lane-wise "r * x": shift within each lane and reduce lanes whose top bit fell out.
            # (0x1B < 0x100, so the per-lane multiply by _REDUCE cannot carry into a neighbour.)
            r = ((r & self._low7) << 1) ^ (((r >> 7) & self._ones) * _REDUCE)
            r ^= v & -((k >> i) & 1)
        return r


# --- public API -------------------------------------------------------------------------------


def _as_bytes(value: Any, what: str) -> bytes:
    # memoryview refuses ints, so bytes(32) can't silently become 32 zero bytes.
    try:
        return memoryview(value).tobytes()
    except TypeError:
        raise TypeError(f"{what} must be bytes-like") from None


def split(secret: bytes, parts: int, threshold: int) -> list[bytes]:
    """Split ``secret`` into ``parts`` shares, any ``threshold`` of which rebuild it.

    Rules as Vault's ``shamir.Split``: 2 <= threshold <= parts <= 255, non-empty secret; plus
    OpenBao's 1-of-1 special case (``parts == threshold == 1`` returns ``[secret]``). Each share
    is ``len(secret) + SHARE_OVERHEAD`` bytes, the last being its random non-zero x-coordinate.
    """
    data = _as_bytes(secret, "secret")
    if parts < threshold:
        raise ValueError("parts cannot be less than threshold")
    if parts > MAX_PARTS:
        raise ValueError("parts cannot exceed 255")
    if threshold < 2 and not (parts == threshold == 1):
        raise ValueError("threshold must be at least 2 (or parts and threshold both 1)")
    if threshold > MAX_PARTS:
        raise ValueError("threshold cannot exceed 255")
    if not data:
        raise ValueError("cannot split an empty secret")
    if parts == 1:
        return [data]

    lanes = _Lanes(len(data))
    # coefficients[d] holds the x^d coefficient of every byte's polynomial: d = 0 is the
    # secret, the rest are uniformly random (the top one may be 0, as in Vault -- still uniform).
    coefficients = [lanes.pack(data)]
    coefficients += [lanes.pack(secrets.token_bytes(len(data))) for _ in range(threshold - 1)]
    xs = _sysrand.sample(range(1, 256), parts)  # distinct, non-zero, uniformly random

    shares = []
    for x in xs:
        y = coefficients[-1]
        for c in reversed(coefficients[:-1]):  # Horner's rule
            y = lanes.scale(y, x) ^ c
        shares.append(lanes.unpack(y) + bytes((x,)))
    return shares


def combine(shares: Sequence[bytes], *, threshold: int | None = None) -> bytes:
    """Rebuild the secret from shares made by :func:`split` (or by Vault/OpenBao).

    Rules as Vault's ``shamir.Combine``: at least two shares, all the same length (>= 2 bytes),
    no x-coordinate twice. Given shares that don't belong together (or too few of them), the
    result is a wrong secret, not an error -- callers verify the key, as Vault does.

    ``threshold`` is optional and comes from the seal configuration. With ``threshold=1`` the
    single share is the secret itself (OpenBao's 1-of-1) and is returned as is; with a larger
    value, fewer than ``threshold`` shares is an error rather than a silently wrong result.
    """
    if isinstance(shares, (bytes, bytearray, memoryview, str)):
        raise TypeError("shares must be a sequence of shares, not a single share")
    parts = [_as_bytes(share, "share") for share in shares]

    if threshold is not None:
        if not 1 <= threshold <= MAX_PARTS:
            raise ValueError("threshold must be between 1 and 255")
        if threshold == 1:
            if len(parts) != 1 or not parts[0]:
                raise ValueError("a threshold of 1 takes exactly one non-empty share")
            return parts[0]
        if len(parts) < threshold:
            raise ValueError("fewer shares than the threshold")

    if len(parts) < 2:
        raise ValueError("less than two parts cannot be used to reconstruct the secret")
    size = len(parts[0])
    if size < 2:
        raise ValueError("parts must be at least two bytes")
    if any(len(part) != size for part in parts):
        raise ValueError("all parts must be the same length")
    xs = [part[-1] for part in parts]
    if len(set(xs)) != len(xs):
        raise ValueError("duplicate part detected")

    # Lagrange interpolation at 0: secret = sum_i y_i * prod_{j != i} x_j / (x_i - x_j).
    # The basis weights depend only on the (public) x-coordinates, so they are computed once
    # and every byte of every share is then scaled with the branch-free lane arithmetic.
    lanes = _Lanes(size - SHARE_OVERHEAD)
    secret = 0
    for i, xi in enumerate(xs):
        numerator, denominator = 1, 1
        for j, xj in enumerate(xs):
            if i != j:
                numerator = _mul(numerator, xj)
                denominator = _mul(denominator, xi ^ xj)  # subtraction is XOR
        weight = _mul(numerator, _inv(denominator))
        secret ^= lanes.scale(lanes.pack(parts[i][:-1]), weight)
    return lanes.unpack(secret)
