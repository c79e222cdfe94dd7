"""sys/tools/random and sys/tools/hash over HTTP, and transit's random and hash, which share
their handlers: every algorithm and format, the URL forms, and OpenBao's error texts."""

from __future__ import annotations

import base64
import hashlib

import pytest

from tests.support import VaultHTTP


@pytest.fixture(scope="module", name="vault")
def module_cluster(module_vault: VaultHTTP) -> VaultHTTP:
    """One cluster for the module's tests (each mounts its engine afresh)."""
    return module_vault


HASHES = {
    "sha2-224": "sha224", "sha2-256": "sha256", "sha2-384": "sha384", "sha2-512": "sha512",
    "sha3-224": "sha3_224", "sha3-256": "sha3_256", "sha3-384": "sha3_384",
    "sha3-512": "sha3_512",
}
INPUT = b"the quick brown fox"

# (path under the mount, body, OpenBao's error) for sys/tools and transit alike.
RANDOM_ERRORS = [
    ("random", {"bytes": -1}, "'bytes' cannot be less than 1"),
    ("random", {"bytes": 0}, "'bytes' cannot be less than 1"),
    ("random", {"bytes": None}, "'bytes' cannot be less than 1"),
    ("random", {"bytes": 131073}, "'bytes' should be less than 131072"),
    ("random/131073", None, "'bytes' should be less than 131072"),
    ("random/seal/0", None, "'bytes' cannot be less than 1"),
    ("random/seal/-5", None, "'bytes' cannot be less than 1"),
    ("random", {"bytes": "many"}, "Field validation failed: error converting input for field "
     "\"bytes\": '' cannot parse value as 'int': strconv.ParseInt: invalid syntax"),
    ("random", {"bytes": 4.5}, "Field validation failed: error converting input for field "
     "\"bytes\": '' cannot parse value as 'int': strconv.ParseInt: invalid syntax"),
    ("random", {"bytes": [1]}, "Field validation failed: error converting input for field "
     "\"bytes\": '' expected type 'int', got unconvertible type '[]interface {}'"),
    ("random", {"format": "raw"}, 'unsupported encoding format "raw"; must be "hex" or "base64"'),
    ("random/bogus", None,
     'error parsing url-set byte count: strconv.Atoi: parsing "bogus": invalid syntax'),
    ("random/seal/x", None,
     'error parsing url-set byte count: strconv.Atoi: parsing "x": invalid syntax'),
    ("random/seal/99999999999999999999", None, "error parsing url-set byte count: "
     'strconv.Atoi: parsing "99999999999999999999": value out of range'),
    ("random/a/b/c", None,
     'error parsing url-set byte count: strconv.Atoi: parsing "b/c": invalid syntax'),
    ("random/bogus/3", None,
     'unsupported entropy source "bogus"; must be "platform" or "seal", or "all"'),
]
HASH_ERRORS = [
    ("hash", {"input": "aGVsbG8"}, "unable to decode input as base64: illegal base64 data at "
     "input byte 4"),
    ("hash", {"input": "a b"}, "unable to decode input as base64: illegal base64 data at "
     "input byte 1"),
    ("hash", {"input": "aGk=", "format": "raw"},
     'unsupported encoding format raw; must be "hex" or "base64"'),
    ("hash", {"input": "aGk=", "algorithm": "md5"}, "unsupported algorithm md5"),
    ("hash/bogus", {"input": "aGk="}, "unsupported algorithm bogus"),
    ("hash/a/b", {"input": "aGk="}, "unsupported algorithm a/b"),
]


@pytest.fixture(name="tools")
def tools_and_transit(vault: VaultHTTP) -> VaultHTTP:
    vault.delete("sys/mounts/transit")  # the module's tests share a cluster
    assert vault.post("sys/mounts/transit", {"type": "transit"}).status_code == 204
    return vault


def data_of(response) -> dict:
    assert response.status_code == 200, response.text
    return response.json()


def random_bytes(reply: dict, format_name: str = "base64") -> bytes:
    text = reply["data"]["random_bytes"]
    return bytes.fromhex(text) if format_name == "hex" else base64.b64decode(text)


def test_hash_every_algorithm_and_format(tools: VaultHTTP) -> None:
    encoded = base64.b64encode(INPUT).decode()
    for mount in ("sys/tools/", "transit/"):
        for name, python_name in HASHES.items():
            digest = hashlib.new(python_name, INPUT).digest()
            in_url = data_of(tools.post(f"{mount}hash/{name}", {"input": encoded}))
            assert in_url["data"] == {"sum": digest.hex()}
            in_body = data_of(tools.post(f"{mount}hash", {"input": encoded, "algorithm": name,
                                                          "format": "base64"}))
            assert in_body["data"] == {"sum": base64.b64encode(digest).decode()}
        plain = data_of(tools.post(f"{mount}hash", {"input": encoded}))
        assert plain["data"]["sum"] == hashlib.sha256(INPUT).hexdigest()
        # The URL's algorithm wins over the body's.
        both = data_of(tools.post(f"{mount}hash/sha2-512", {"input": encoded,
                                                             "algorithm": "md5"}))
        assert both["data"]["sum"] == hashlib.sha512(INPUT).hexdigest()
    empty = data_of(tools.post("sys/tools/hash"))
    assert empty["data"]["sum"] == hashlib.sha256(b"").hexdigest()
    missing = tools.post("transit/hash")
    assert (missing.status_code, missing.json()) == (400, {"errors": ["input missing"]})


def test_random_sources_counts_and_formats(tools: VaultHTTP) -> None:
    for mount in ("sys/tools/", "transit/"):
        default = data_of(tools.post(f"{mount}random"))
        assert len(random_bytes(default)) == 32 and default["warnings"] is None
        assert len(random_bytes(data_of(tools.post(f"{mount}random", {"bytes": 7})))) == 7
        assert len(random_bytes(data_of(tools.post(f"{mount}random/12")))) == 12
        assert len(random_bytes(data_of(tools.post(f"{mount}random/all/3")))) == 3
        as_hex = data_of(tools.post(f"{mount}random/platform/5", {"format": "hex"}))
        assert len(random_bytes(as_hex, "hex")) == 5
        sealed = data_of(tools.post(f"{mount}random/seal", {"bytes": "0x10"}))
        assert len(random_bytes(sealed)) == 16
        assert sealed["warnings"] == [
            "no seal/entropy augmentation available, using platform entropy source"
        ]
        largest = data_of(tools.post(f"{mount}random/131072"))
        assert len(random_bytes(largest)) == 131072
        # As OpenBao: a URL tail that is no name is ignored, the body's count is used.
        assert len(random_bytes(data_of(tools.post(f"{mount}random/-3", {"bytes": 2})))) == 2
        replaced = data_of(tools.post(f"{mount}random", {"source": "seal", "bytes": 4}))
        assert replaced["warnings"] == [
            "Endpoint replaced the value of these parameters with the values captured from "
            "the endpoint's path: [source]"
        ]
        assert tools.get(f"{mount}random").status_code == 405


def test_bad_random_and_hash_requests_get_openbaos_errors(tools: VaultHTTP) -> None:
    for mount in ("sys/tools/", "transit/"):
        for path, body, message in RANDOM_ERRORS + HASH_ERRORS:
            reply = tools.post(mount + path, body)
            assert (reply.status_code, reply.json()) == (400, {"errors": [message]}), path


def test_tools_need_a_token_with_the_path(tools: VaultHTTP) -> None:
    assert tools.post("sys/tools/random", token="").status_code == 403
    policy = 'path "sys/tools/hash" { capabilities = ["update"] }'
    assert tools.put("sys/policies/acl/hasher", {"policy": policy}).status_code == 204
    made = data_of(tools.post("auth/token/create", {"policies": ["hasher"]}))
    token = made["auth"]["client_token"]
    assert tools.post("sys/tools/hash", {"input": "aGk="}, token=token).status_code == 200
    assert tools.post("sys/tools/random", token=token).status_code == 403
