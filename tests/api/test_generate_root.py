"""Root token generation with recovery key shares over HTTP: OpenBao's
sys/generate-root-token endpoints, Vault's unauthenticated sys/generate-root ones, and an
attempt shared by containers that change it at the same time."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support import VaultHTTP

OTP = "abcdefghijklmnopqrstuvwxyz"  # 26 characters: a service token's length
ALREADY = "root generation already in progress for this namespace"
MISMATCH = (
    "root generation aborted: unable to authenticate: recovery key verification failed: "
    "recovery key does not match submitted values"
)


def multierror(message: str) -> str:
    return f"1 error occurred:\n\t* {message}\n\n"


def decode(encoded: str, otp: str) -> str:
    """What `bao operator generate-root -decode` does: unpadded base64, XOR with the OTP."""
    raw = base64.b64decode(encoded + "=" * (-len(encoded) % 4))
    return bytes(a ^ b for a, b in zip(raw, otp.encode(), strict=True)).decode()


def initialised(client: VaultHTTP, shares: int, threshold: int) -> list[str]:
    """Init ``client``'s server, keep its root token, and return the recovery shares (hex)."""
    reply = client.put("sys/init", {"recovery_shares": shares, "recovery_threshold": threshold})
    assert reply.status_code == 200, reply.text
    client.token = reply.json()["root_token"]
    return reply.json()["recovery_keys"]


def answer(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return response.json() if response.content else {}


def error(response: Any) -> str:
    body = answer(response, 400)
    assert len(body["errors"]) == 1
    return body["errors"][0]


def update(client: VaultHTTP, key: str, nonce: str) -> Any:
    return client.put("sys/generate-root-token/update", {"key": key, "nonce": nonce})


def test_threshold_of_distinct_shares_makes_a_working_root_token(fresh: VaultHTTP) -> None:
    keys = initialised(fresh, 3, 2)
    idle = answer(fresh.get("sys/generate-root-token/attempt"))["data"]
    assert idle == {"started": False, "complete": False, "progress": 0, "required": 2,
                    "otp": "", "otp_length": 26}
    assert fresh.get("sys/generate-root-token/attempt", token="").status_code == 403
    started = answer(fresh.put("sys/generate-root-token/attempt", {"otp": OTP}))["data"]
    nonce = started["nonce"]
    assert started == {"started": True, "complete": False, "progress": 0, "required": 2,
                       "otp": "", "otp_length": 26, "nonce": nonce, "pgp_fingerprint": ""}
    assert error(fresh.put("sys/generate-root-token/attempt", {"otp": OTP})) == ALREADY
    assert error(update(fresh, keys[0], "wrong")) == multierror(
        f'incorrect nonce supplied; nonce for this root generation operation is "{nonce}"'
    )
    first = answer(update(fresh, keys[0], nonce))["data"]
    assert first == {"started": True, "complete": False, "progress": 1, "required": 2,
                     "nonce": nonce, "encoded_token": "", "pgp_fingerprint": ""}
    # The same share again, now in base64, is refused and not counted twice.
    same = base64.b64encode(bytes.fromhex(keys[0])).decode()
    assert error(update(fresh, same, nonce)) == multierror(
        "given key has already been provided during this generation operation"
    )
    assert answer(fresh.get("sys/generate-root-token/attempt"))["data"]["progress"] == 1
    done = answer(update(fresh, f" {keys[2]}\n", nonce))["data"]
    assert done["complete"] is True and done["progress"] == 2
    token = decode(done["encoded_token"], OTP)
    assert token.startswith("s.") and token != fresh.token
    looked = answer(fresh.get("auth/token/lookup-self", token=token))["data"]
    assert looked["policies"] == ["root"] and looked["path"] == "auth/token/root"
    assert looked["ttl"] == 0
    assert answer(fresh.get("sys/generate-root-token/attempt"))["data"]["started"] is False


def test_wrong_shares_start_the_progress_over(fresh: VaultHTTP) -> None:
    keys = initialised(fresh, 3, 2)
    nonce = answer(fresh.put("sys/generate-root-token/attempt", {"otp": OTP}))["data"]["nonce"]
    answer(update(fresh, keys[0], nonce))
    assert error(update(fresh, os.urandom(33).hex(), nonce)) == multierror(MISMATCH)
    status = answer(fresh.get("sys/generate-root-token/attempt"))["data"]
    assert (status["started"], status["progress"], status["nonce"]) == (True, 0, nonce)
    answer(update(fresh, keys[0], nonce))
    assert error(update(fresh, os.urandom(20).hex(), nonce)) == multierror(
        "failed to compute root key: all parts must be the same length"
    )
    answer(update(fresh, keys[1], nonce))
    assert answer(update(fresh, keys[2], nonce))["data"]["complete"] is True


UNREADABLE = [
    ("", "key is required"),
    ("zz!", multierror("'key' must be a valid hex or base64 string")),
    ("abcd", multierror("invalid key: key is shorter than minimum 16 bytes")),
    ("ab" * 34, multierror("invalid key: key is longer than maximum 33 bytes")),
]


def test_unreadable_shares_are_refused(fresh: VaultHTTP) -> None:
    initialised(fresh, 1, 1)
    nonce = answer(fresh.put("sys/generate-root-token/attempt", {"otp": OTP}))["data"]["nonce"]
    for key, message in UNREADABLE:
        assert error(update(fresh, key, nonce)) == message
    assert error(fresh.put("sys/generate-root-token/update", {"key": "ab"})) == (
        "nonce is required"
    )


def test_server_made_otp_cancel_and_refusals(fresh: VaultHTTP) -> None:
    keys = initialised(fresh, 1, 1)
    assert error(fresh.put("sys/generate-root-token/attempt", {"otp": "short"})) == (
        "OTP string has incorrect length"
    )
    assert "not supported" in error(
        fresh.put("sys/generate-root-token/attempt", {"pgp_key": "mQENBFXX"})
    )
    started = answer(fresh.post("sys/generate-root-token/attempt"))["data"]
    otp = started["otp"]
    assert len(otp) == 26 and otp.isalnum()
    assert answer(fresh.get("sys/generate-root-token/attempt"))["data"]["otp"] == ""
    assert fresh.delete("sys/generate-root-token/attempt").status_code == 204
    assert fresh.delete("sys/generate-root-token/attempt").status_code == 204
    assert error(update(fresh, keys[0], started["nonce"])) == multierror(
        "no root generation in progress"
    )
    again = answer(fresh.post("sys/generate-root-token/attempt"))["data"]
    done = answer(update(fresh, keys[0], again["nonce"]))["data"]
    token = decode(done["encoded_token"], again["otp"])
    assert answer(fresh.get("auth/token/lookup-self", token=token))["data"]["policies"] == [
        "root"
    ]
    # As OpenBao, the OTP's length is in bytes: with a two-byte character, 25 characters.
    wide = "\u00e9" + OTP[:24]
    assert error(fresh.put("sys/generate-root-token/attempt", {"otp": wide + "z"})) == (
        "OTP string has incorrect length"
    )
    nonce = answer(fresh.put("sys/generate-root-token/attempt", {"otp": wide}))["data"]["nonce"]
    done = answer(update(fresh, keys[0], nonce))["data"]
    token = decode(done["encoded_token"], wide)
    assert answer(fresh.get("auth/token/lookup-self", token=token))["data"]["policies"] == [
        "root"
    ]


DECODE_REFUSALS = [  # what OpenBao 2.7 answers
    ({}, "provided 'encoded_token' or 'otp' is empty"),
    ({"encoded_token": "abc", "otp": "x"},
     "error xoring token: length of byte slices is not equivalent: 2 != 1"),
    ({"encoded_token": "!!!", "otp": "xy"},
     "error decoding base64'd token: illegal base64 data at input byte 0"),
    ({"encoded_token": "AAA=", "otp": "xy"},
     "error decoding base64'd token: illegal base64 data at input byte 3"),
    ({"encoded_token": "AAAAA", "otp": "xy"},
     "error decoding base64'd token: illegal base64 data at input byte 4"),
]


def test_decode_token_reverses_the_encoding_without_a_token(fresh: VaultHTTP) -> None:
    keys = initialised(fresh, 1, 1)
    nonce = answer(fresh.put("sys/generate-root-token/attempt", {"otp": OTP}))["data"]["nonce"]
    encoded = answer(update(fresh, keys[0], nonce))["data"]["encoded_token"]
    anonymous = VaultHTTP(fresh.url)
    body = {"encoded_token": encoded, "otp": OTP}
    token = answer(anonymous.put("sys/decode-token", body))["data"]["token"]
    assert token == decode(encoded, OTP) and token.startswith("s.")
    plain = {"encoded_token": "AAAA", "otp": "abc"}
    assert answer(anonymous.put("sys/decode-token", plain))["data"] == {"token": "abc"}
    for refused, message in DECODE_REFUSALS:
        assert error(anonymous.put("sys/decode-token", refused)) == message


@pytest.fixture
def unauthed_generate_root(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Vault's sys/generate-root endpoints served, as LAMBDAVAULT_UNAUTHED_GENERATE_ROOT asks."""
    from chalicelib.settings import settings

    monkeypatch.setenv("LAMBDAVAULT_UNAUTHED_GENERATE_ROOT", "true")
    settings.cache_clear()
    yield
    monkeypatch.undo()
    settings.cache_clear()


def test_vaults_endpoints_are_unsupported_unless_enabled(fresh: VaultHTTP) -> None:
    """As OpenBao 2 by default (CVE-2026-5807: anyone could cancel an operator's attempt)."""
    initialised(fresh, 1, 1)
    started = answer(fresh.put("sys/generate-root-token/attempt", {"otp": OTP}))["data"]
    anonymous = VaultHTTP(fresh.url)
    for client in (anonymous, fresh):
        for reply in (client.get("sys/generate-root/attempt"),
                      client.put("sys/generate-root/attempt", {"otp": OTP}),
                      client.delete("sys/generate-root/attempt"),
                      client.put("sys/generate-root/update", {"key": "ab" * 16, "nonce": "x"})):
            assert (reply.status_code, reply.json()) == (
                405, {"errors": ["unsupported operation"]}
            )
    status = answer(fresh.get("sys/generate-root-token/attempt"))["data"]
    assert (status["started"], status["nonce"]) == (True, started["nonce"])


@pytest.mark.usefixtures("unauthed_generate_root")
def test_vaults_endpoints_answer_bare_json_without_a_token(fresh: VaultHTTP) -> None:
    keys = initialised(fresh, 3, 2)
    anonymous = VaultHTTP(fresh.url)
    idle = answer(anonymous.get("sys/generate-root/attempt"))
    assert idle == {"nonce": "", "started": False, "progress": 0, "required": 2,
                    "complete": False, "encoded_token": "", "encoded_root_token": "",
                    "pgp_fingerprint": "", "otp": "", "otp_length": 26}
    started = answer(anonymous.put("sys/generate-root/attempt", {"otp": OTP}))
    nonce = started["nonce"]
    assert started["started"] is True and started["otp"] == ""
    assert error(anonymous.put("sys/generate-root/attempt", {"otp": OTP})) == ALREADY
    assert error(anonymous.put("sys/generate-root/update", {"nonce": nonce})) == (
        "'key' must be specified in request body as JSON"
    )
    assert error(anonymous.put("sys/generate-root/update", {"key": keys[0], "nonce": "x"})) == (
        f'incorrect nonce supplied; nonce for this root generation operation is "{nonce}"'
    )
    first = answer(anonymous.put("sys/generate-root/update", {"key": keys[0], "nonce": nonce}))
    assert (first["progress"], first["complete"], first["encoded_token"]) == (1, False, "")
    # Shared with the other endpoints: it is the same attempt.
    assert answer(fresh.get("sys/generate-root-token/attempt"))["data"]["progress"] == 1
    as_base64 = base64.b64encode(bytes.fromhex(keys[1])).decode()
    done = answer(anonymous.put("sys/generate-root/update", {"key": as_base64, "nonce": nonce}))
    assert done["complete"] is True and done["encoded_token"] == done["encoded_root_token"]
    assert (done["otp"], done["otp_length"]) == ("", 0)
    token = decode(done["encoded_token"], OTP)
    assert answer(fresh.get("auth/token/lookup-self", token=token))["data"]["policies"] == [
        "root"
    ]
    assert answer(anonymous.put("sys/generate-root/attempt"))["otp"] != ""
    assert anonymous.delete("sys/generate-root/attempt").status_code == 204
    assert answer(anonymous.get("sys/generate-root/attempt"))["started"] is False


def _meanwhile(monkeypatch: pytest.MonkeyPatch, share: str, nonce: str) -> list[Any]:
    """Have another container submit ``share`` right after this one reads the attempt."""
    from chalicelib.core.errors import VaultError
    from chalicelib.core.runtime import runtime
    from chalicelib.seal import generate_root

    read = generate_root.Attempt.from_bytes
    outcomes: list[Any] = []

    def racing(raw: bytes) -> generate_root.Attempt:
        attempt = read(raw)
        if not outcomes:
            outcomes.append(None)
            try:
                outcomes[0] = generate_root.submit(runtime(), bytes.fromhex(share), nonce)
            except VaultError as refused:
                outcomes[0] = refused
        return attempt

    monkeypatch.setattr(generate_root.Attempt, "from_bytes", racing)
    return outcomes


def test_shares_given_at_once_by_two_containers_both_count(
    fresh: VaultHTTP, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = initialised(fresh, 5, 4)
    nonce = answer(fresh.put("sys/generate-root-token/attempt", {"otp": OTP}))["data"]["nonce"]
    other = _meanwhile(monkeypatch, keys[1], nonce)
    assert answer(update(fresh, keys[0], nonce))["data"]["progress"] == 2
    assert other[0].progress == 1
    monkeypatch.undo()
    answer(update(fresh, keys[2], nonce))
    assert answer(update(fresh, keys[3], nonce))["data"]["complete"] is True


def test_an_attempt_completes_once(fresh: VaultHTTP, monkeypatch: pytest.MonkeyPatch) -> None:
    keys = initialised(fresh, 3, 2)
    nonce = answer(fresh.put("sys/generate-root-token/attempt", {"otp": OTP}))["data"]["nonce"]
    answer(update(fresh, keys[0], nonce))
    other = _meanwhile(monkeypatch, keys[1], nonce)
    # The other container completes first; this one finds the attempt gone.
    assert error(update(fresh, keys[2], nonce)) == multierror("no root generation in progress")
    token = decode(other[0].encoded_token, OTP)
    assert answer(fresh.get("auth/token/lookup-self", token=token))["data"]["policies"] == [
        "root"
    ]
