import itertools
import secrets

import pytest

from chalicelib.seal import shamir
from chalicelib.seal.shamir import MAX_PARTS, SHARE_OVERHEAD, combine, split

# --- GF(2^8) arithmetic ------------------------------------------------------------------------


def _reference_mul(a: int, b: int) -> int:
    """Textbook GF(2^8) product, written independently of the module: carry-less multiply to a
    degree <= 14 polynomial, then long division by x^8+x^4+x^3+x+1 (0x11B)."""
    product = 0
    for bit in range(8):
        if b >> bit & 1:
            product ^= a << bit
    for degree in range(14, 7, -1):
        if product >> degree & 1:
            product ^= 0x11B << (degree - 8)
    return product


def test_gf_mul_known_answer_by_hand():
    # 0x57 = x^6+x^4+x^2+x+1, 0x83 = x^7+x+1 (the FIPS-197 section 4.2 example).
    # Product: (x^13+x^11+x^9+x^8+x^7) + (x^7+x^5+x^3+x^2+x) + (x^6+x^4+x^2+x+1)
    #        =  x^13+x^11+x^9+x^8+x^6+x^5+x^4+x^3+1                          (0x2B79)
    # Reduce with x^8 = x^4+x^3+x+1:
    #   x^13 -> x^9+x^8+x^6+x^5, cancelling x^9, x^8 and x^6, x^5:  x^11+x^4+x^3+1
    #   x^11 -> x^7+x^6+x^4+x^3, cancelling x^4, x^3:               x^7+x^6+1
    # = 0xC1.
    assert shamir._mul(0x57, 0x83) == 0xC1
    assert shamir._mul(0x83, 0x57) == 0xC1
    # FIPS-197 4.2.1: 0x57 * 0x13 = 0xFE; Vault's own test: 3 * 7 = 9 ((x+1)(x^2+x+1) = x^3+1).
    assert shamir._mul(0x57, 0x13) == 0xFE
    assert shamir._mul(3, 7) == 9
    # x * x^7 = x^8 = x^4+x^3+x+1: the reduction itself.
    assert shamir._mul(0x02, 0x80) == 0x1B


def test_gf_mul_matches_reference_on_every_pair():
    for a in range(256):
        for b in range(256):
            assert shamir._mul(a, b) == _reference_mul(a, b), (a, b)


def test_gf_inverse():
    assert shamir._inv(0) == 0
    for a in range(1, 256):
        assert shamir._mul(a, shamir._inv(a)) == 1, a
    assert shamir._inv(0x53) == 0xCA  # FIPS-197 / AES S-box derivation example


def test_lane_scaling_matches_scalar_mul_bytewise():
    data = bytes(range(256)) + secrets.token_bytes(64)
    lanes = shamir._Lanes(len(data))
    packed = lanes.pack(data)
    for k in range(256):
        expected = bytes(shamir._mul(b, k) for b in data)
        assert lanes.unpack(lanes.scale(packed, k)) == expected, k


# --- known-answer shares, derived by hand -------------------------------------------------------
# One byte, threshold 2, polynomial f(x) = 0x57 + 0x83*x:
#   f(1) = 0x57 ^ 0x83              = 0xD4
#   f(2) = 0x57 ^ (0x83*2 = 0x1D)   = 0x4A      (0x83 << 1 = 0x106, ^ 0x11B = 0x1D)
#   f(3) = 0x57 ^ (0x1D ^ 0x83)     = 0xC9
_KAT_SHARES = [bytes([0xD4, 1]), bytes([0x4A, 2]), bytes([0xC9, 3])]


def test_combine_known_answer():
    for pair in itertools.permutations(_KAT_SHARES, 2):
        assert combine(pair) == b"\x57"
    assert combine(_KAT_SHARES) == b"\x57"


def test_combine_known_answer_degree_two():
    # f(x) = 1 + x + x^2: f(1) = 1^1^1 = 1, f(2) = 1^2^4 = 7, f(3) = 1^3^(3*3 = 5) = 7.
    assert combine([b"\x01\x01", b"\x07\x02", b"\x07\x03"]) == b"\x01"


def test_split_known_answer(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(shamir.secrets, "token_bytes", lambda n: b"\x83" * n)
    monkeypatch.setattr(shamir._sysrand, "sample", lambda population, k: [1, 2, 3][:k])
    assert split(b"\x57", 3, 2) == _KAT_SHARES
    # Two bytes, the same polynomial slope for both: each lane is computed independently.
    assert split(b"\x57\x00", 3, 2) == [
        bytes([0xD4, 0x83, 1]),
        bytes([0x4A, 0x1D, 2]),
        bytes([0xC9, 0x9E, 3]),
    ]


# --- properties ---------------------------------------------------------------------------------

_SHAPES = [(2, 2), (3, 2), (5, 3), (6, 4), (5, 5), (7, 2), (8, 5)]


@pytest.mark.parametrize(("parts", "threshold"), _SHAPES)
@pytest.mark.parametrize("length", [1, 16, 32, 33])
def test_every_threshold_subset_recombines(parts: int, threshold: int, length: int):
    secret = secrets.token_bytes(length)
    shares = split(secret, parts, threshold)
    assert len(shares) == parts
    for subset in itertools.combinations(shares, threshold):
        assert combine(subset) == secret
        assert combine(list(reversed(subset))) == secret
    assert combine(shares) == secret  # more than the threshold is fine too


@pytest.mark.parametrize(("parts", "threshold"), [(s, t) for s, t in _SHAPES if t > 2])
def test_fewer_than_threshold_shares_give_another_value(parts: int, threshold: int):
    # With threshold - 1 shares the result is uniform and independent of the secret, so for a
    # 32-byte secret a match would be a 2^-256 fluke.
    secret = secrets.token_bytes(32)
    shares = split(secret, parts, threshold)
    for subset in itertools.combinations(shares, threshold - 1):
        assert combine(subset) != secret


def test_share_format():
    secret = secrets.token_bytes(32)
    shares = split(secret, 5, 3)
    assert all(isinstance(share, bytes) for share in shares)
    assert all(len(share) == len(secret) + SHARE_OVERHEAD == 33 for share in shares)
    xs = [share[-1] for share in shares]
    assert len(set(xs)) == 5
    assert 0 not in xs
    assert all(share[:-1] != secret for share in shares)


def test_x_coordinates_are_random_distinct_and_non_zero():
    first_xs = set()
    for _ in range(200):
        xs = [share[-1] for share in split(b"k", 5, 2)]
        assert len(set(xs)) == 5
        assert 0 not in xs
        first_xs.add(xs[0])
    # 200 uniform draws from 1..255 hit ~139 values; a fixed or sequential scheme hits 1.
    assert len(first_xs) > 50


def test_maximum_shape():
    secret = secrets.token_bytes(32)
    shares = split(secret, MAX_PARTS, MAX_PARTS)
    assert sorted(share[-1] for share in shares) == list(range(1, 256))
    assert combine(shares) == secret
    assert combine(shares[:-1]) != secret


def test_accepts_bytes_like_and_returns_bytes():
    secret = bytearray(b"root key material")
    shares = split(memoryview(secret), 3, 2)
    recovered = combine([bytearray(shares[0]), memoryview(shares[2])])
    assert type(recovered) is bytes
    assert recovered == secret


def test_combine_with_threshold_checks_count():
    secret = secrets.token_bytes(32)
    shares = split(secret, 5, 3)
    assert combine(shares[:3], threshold=3) == secret
    assert combine(shares, threshold=3) == secret
    with pytest.raises(ValueError, match="fewer shares than the threshold"):
        combine(shares[:2], threshold=3)


# --- 1-of-1, as OpenBao's init / seal manager -----------------------------------------------------


def test_one_of_one_share_is_the_secret_itself():
    secret = secrets.token_bytes(32)
    assert split(secret, 1, 1) == [secret]
    assert combine([secret], threshold=1) == secret


def test_one_of_one_needs_the_threshold_to_combine():
    # Like Vault's shamir.Combine: a lone share is ambiguous (whole key, or one piece?).
    secret = secrets.token_bytes(32)
    with pytest.raises(ValueError, match="less than two parts"):
        combine(split(secret, 1, 1))
    with pytest.raises(ValueError, match="exactly one"):
        combine([secret, secret], threshold=1)
    with pytest.raises(ValueError, match="exactly one"):
        combine([b""], threshold=1)


# --- validation ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("parts", "threshold", "message"),
    [
        (0, 0, "threshold must be at least 2"),
        (2, 3, "parts cannot be less than threshold"),
        (1000, 3, "parts cannot exceed 255"),
        (256, 2, "parts cannot exceed 255"),
        (256, 256, "parts cannot exceed 255"),
        (10, 1, "threshold must be at least 2"),
        (2, 1, "threshold must be at least 2"),
        (1, 0, "threshold must be at least 2"),
        (-1, -1, "threshold must be at least 2"),
        (1, 2, "parts cannot be less than threshold"),
    ],
)
def test_split_rejects_bad_shapes(parts: int, threshold: int, message: str):
    with pytest.raises(ValueError, match=message):
        split(b"test", parts, threshold)


@pytest.mark.parametrize(("parts", "threshold"), [(3, 2), (1, 1)])
def test_split_rejects_empty_secret(parts: int, threshold: int):
    with pytest.raises(ValueError, match="empty secret"):
        split(b"", parts, threshold)


@pytest.mark.parametrize("secret", [32, "a string", None])
def test_split_rejects_non_bytes(secret: object):
    with pytest.raises(TypeError, match="bytes-like"):
        split(secret, 3, 2)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("shares", "message"),
    [
        ([], "less than two parts"),
        ([b"foo\x01"], "less than two parts"),
        ([b"foo", b"ba"], "same length"),
        ([b"f", b"b"], "at least two bytes"),
        ([b"foo", b"foo"], "duplicate part"),
        ([b"abc\x07", b"xyz\x09", b"def\x07"], "duplicate part"),
    ],
)
def test_combine_rejects_bad_shares(shares: list[bytes], message: str):
    with pytest.raises(ValueError, match=message):
        combine(shares)


@pytest.mark.parametrize("threshold", [0, -1, 256])
def test_combine_rejects_bad_threshold(threshold: int):
    with pytest.raises(ValueError, match="threshold must be between"):
        combine([b"ab", b"cd"], threshold=threshold)


def test_combine_rejects_a_bare_share():
    # A bytes object is a Sequence (of ints); don't let it through as one.
    with pytest.raises(TypeError, match="sequence of shares"):
        combine(b"\xd4\x01")  # type: ignore[arg-type]


def test_error_messages_carry_no_share_or_secret_bytes():
    secret = b"\xaa" * 32
    shares = split(secret, 3, 2)
    bad_inputs = [[shares[0], shares[0]], [shares[0], shares[1][:-1]], [shares[0]]]
    for bad in bad_inputs:
        with pytest.raises(ValueError) as info:
            combine(bad)
        text = str(info.value)
        for material in (secret, shares[0], shares[1]):
            assert material.hex() not in text
            assert repr(material) not in text
