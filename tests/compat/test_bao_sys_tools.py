"""sys/tools/random and sys/tools/hash, and transit's random and hash, through the real `bao`
CLI side by side with a real `bao server -dev`: the same sums, sizes, warnings and errors."""

from __future__ import annotations

import base64

import pytest

from tests.compat.conftest import Server
from tests.compat.test_bao_userpass import same

pytestmark = pytest.mark.compat

ALGORITHMS = ["sha2-224", "sha2-256", "sha2-384", "sha2-512",
              "sha3-224", "sha3-256", "sha3-384", "sha3-512"]
INPUT = base64.b64encode(b"lambdavault").decode()


@pytest.fixture(scope="module")
def both(module_dev_server: Server, openbao_dev: Server) -> list[Server]:
    servers = [module_dev_server, openbao_dev]
    for server in servers:
        server.bao("secrets", "enable", "-path=tr", "transit")
    return servers


def test_hash_sums_match_openbao(both: list[Server]) -> None:
    for algorithm in ALGORITHMS:
        for format_name in ("hex", "base64"):
            same(both, "write", "-format=json", f"sys/tools/hash/{algorithm}",
                 f"input={INPUT}", f"format={format_name}")
    for mount in ("sys/tools", "tr"):  # transit's hash is the same handler
        same(both, "write", "-format=json", f"{mount}/hash", f"input={INPUT}",
             "algorithm=sha3-384", "format=base64")
        same(both, "write", "-format=json", f"{mount}/hash", f"input={INPUT}")


def test_random_sizes_formats_and_warnings_match_openbao(both: list[Server]) -> None:
    for mount in ("sys/tools", "tr"):
        for path, args, size in [
            ("random", [], 32), ("random/12", [], 12), ("random/seal/5", ["format=hex"], 5),
            ("random/all", ["bytes=7"], 7), ("random", ["bytes=0x10", "format=hex"], 16),
        ]:
            answers = [server.bao("write", "-force", "-format=json", f"{mount}/{path}", *args)
                       .json()
                       for server in both]
            ours, theirs = answers
            assert ours["warnings"] == theirs["warnings"]
            for answer in answers:
                text = answer["data"]["random_bytes"]
                raw = bytes.fromhex(text) if "format=hex" in args else base64.b64decode(text)
                assert len(raw) == size


ERRORS = [
    ("random", ["bytes=-1"]),
    ("random", ["bytes=131073"]),
    ("random", ["bytes=many"]),
    ("random", ["format=raw"]),
    ("random/bogus", []),
    ("random/bogus/3", []),
    ("random/seal/x", []),
    ("random/seal/0", []),
    ("hash", ["input=aGVsbG8"]),
    ("hash", [f"input={INPUT}", "format=raw"]),
    ("hash/md5", [f"input={INPUT}"]),
]


def test_bad_input_gets_openbaos_error(both: list[Server]) -> None:
    for mount in ("sys/tools", "tr"):
        for path, args in ERRORS:
            same(both, "write", "-force", f"{mount}/{path}", *args)
