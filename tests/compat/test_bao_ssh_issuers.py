"""The ssh engine's issuer endpoints through the real `bao` CLI, side by side with
OpenBao 2.7.2's `bao server -dev`: issuers, issuers/import, issuer/<ref> (read, rename,
delete), issuer/<ref>/public_key and config/issuers.

Issuer ids are random per server: each server's ids are named by the order in which
they first appear (<issuer-0>, <issuer-1>…), and ``{0}``, ``{1}``… in a command stand
for that server's own ids. Generated keys are compared by their type."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import requests

from tests.api.test_ssh_ca import key_pair
from tests.compat.conftest import Server
from tests.compat.test_bao_ssh_ca import MOUNT, USER_KEY, both  # noqa: F401 (fixture)
from tests.compat.test_bao_userpass import same_words

pytestmark = pytest.mark.compat

_UUID = re.compile(r"[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}")
_KEY = re.compile(r"(ssh-ed25519|ecdsa-sha2-nistp\d+|ssh-rsa) AAAA[\w+/=]+")


class Issuers:
    """Both servers, with each one's issuer ids in the order they first appeared."""

    def __init__(self, servers: list[Server]) -> None:
        self.servers = servers
        self.ids: list[list[str]] = [[] for _ in servers]

    def scrub(self, index: int, text: str) -> str:
        ids = self.ids[index]

        def alias(match: re.Match[str]) -> str:
            if match.group(0) not in ids:
                ids.append(match.group(0))
            return f"<issuer-{ids.index(match.group(0))}>"

        return _KEY.sub(r"\1 <key>", _UUID.sub(alias, text))

    def same(self, *args: str) -> Any:
        """``bao args`` on both: equal exit codes and answers, ids and keys named; the
        JSON answer (without its request id, a list's keys sorted) when it succeeded."""
        answers = []
        for index, server in enumerate(self.servers):
            result = server.bao(*(arg.format(*self.ids[index]) for arg in args), check=False)
            out = result.out
            if result.code == 0 and "-format=json" in args:
                answer = json.loads(out)
                answer.pop("request_id", None)
                out = json.dumps(answer, sort_keys=True)
            answers.append((result.code, self.scrub(index, out),
                            self.scrub(index, result.err.replace(server.address, "ADDR"))))
        ours, theirs = answers
        if ours[0] == 0 and "-format=json" in args and "list" in args:
            ours, theirs = (_sorted_keys(answer) for answer in answers)
        assert ours == theirs, answers
        return json.loads(answers[0][1]) if "-format=json" in args and ours[0] == 0 else None

    def public_keys(self, reference: str) -> None:
        """issuer/<reference>/public_key without a token: the same status and body."""
        replies = []
        for index, server in enumerate(self.servers):
            reply = requests.get(
                f"{server.address}/v1/{MOUNT}/issuer/"
                f"{reference.format(*self.ids[index])}/public_key", timeout=10)
            # A refusal is JSON (Go's encoder ends it with a line break, ours does not).
            body = reply.json() if reply.status_code != 200 else self.scrub(index, reply.text)
            replies.append((reply.status_code, reply.headers["Content-Type"], body))
        assert replies[0] == replies[1]


@pytest.fixture
def issuers(both: list[Server]) -> Issuers:  # noqa: F811 (the fixture imported above)
    return Issuers(both)


def _sorted_keys(answer: tuple[int, str, str]) -> tuple[int, str, str]:
    data = json.loads(answer[1])
    data["data"]["keys"].sort()
    return answer[0], json.dumps(data, sort_keys=True), answer[2]


def test_imports_lists_and_reads_match_openbao(issuers: Issuers) -> None:
    issuers.same("list", f"{MOUNT}/issuers")
    issuers.same("read", f"{MOUNT}/config/issuers")
    issuers.same("read", f"{MOUNT}/issuer/default")
    issuers.same("write", "-format=json", f"{MOUNT}/issuers/import", "key_type=ed25519",
                 "issuer_name=ignored")
    issuers.same("write", "-format=json", f"{MOUNT}/issuers/import/second", "key_type=ec")
    issuers.same("write", "-format=json", f"{MOUNT}/issuers/import/third",
                 "key_type=ecdsa-sha2-nistp384", "set_default=true")
    public, private = key_pair("rsa")
    imported = [f"public_key={public}", f"private_key={private}"]
    issuers.same("write", "-format=json", f"{MOUNT}/issuers/import/mine", *imported)
    for path in ("issuers/import/other", "issuers/import", "config/ca"):
        issuers.same("write", "-format=json", f"{MOUNT}/{path}", *imported, "set_default=true")
    issuers.same("list", "-format=json", "-detailed", f"{MOUNT}/issuers")
    for reference in ("default", "DEFAULT", "second", "{1}", "mine"):
        issuers.same("read", "-format=json", f"{MOUNT}/issuer/{reference}")
        issuers.public_keys(reference)
    issuers.same("read", "-format=json", f"{MOUNT}/config/issuers")
    issuers.same("read", "-format=json", f"{MOUNT}/config/ca")
    for args in (["issuers/import/second", "key_type=ec"],
                 ["issuers/import/Default", "key_type=ec"],
                 ["issuers/import/a@b", "key_type=ec"],
                 ["issuers/import/x", "generate_signing_key=false"],
                 ["issuers/import/x", "public_key=x", "private_key=y"]):
        issuers.same("write", f"{MOUNT}/{args[0]}", *args[1:])
    issuers.same("read", f"{MOUNT}/issuer/nope")
    issuers.public_keys("nope")
    for bad in (["key_type=foo"], ["key_bits=1024"]):
        same_words(issuers.servers, "write", f"{MOUNT}/issuers/import/default", *bad)


def test_renames_deletes_and_the_default_match_openbao(issuers: Issuers) -> None:
    for path in ("issuers/import", "issuers/import/second"):
        issuers.same("write", "-format=json", f"{MOUNT}/{path}", "key_type=ed25519")
    issuers.same("write", f"{MOUNT}/roles/otp", "key_type=otp", "default_user=u",
                 "cidr_list=10.0.0.0/8")
    issuers.same("write", "-format=json", f"{MOUNT}/issuer/{{0}}", "issuer_name=first")
    for role, reference in (("a", "first"), ("b", "first"), ("c", "{0}"), ("d", "default")):
        issuers.same("write", f"{MOUNT}/roles/{role}", "key_type=ca",
                     "allow_user_certificates=true", "allowed_users=*",
                     f"issuer_ref={reference}")
    for name in ("first", "second", "", " ", "default", "a b", "-x", "{1}"):
        issuers.same("write", f"{MOUNT}/issuer/first", f"issuer_name={name}")
    issuers.same("write", "-format=json", f"{MOUNT}/issuer/first", "issuer_name= renamed ")
    issuers.same("write", "-format=json", f"{MOUNT}/issuer/renamed", "issuer_name=first",
                 "issuer_ref=second")
    for role in ("a", "c", "d"):
        issuers.same("write", "-field=issuer_id", f"{MOUNT}/sign/{role}",
                     f"public_key={USER_KEY}", "valid_principals=x")
    for default in ("", "Default", "second", "{1}", "first", " {0} "):
        issuers.same("write", f"{MOUNT}/config/issuers", f"default={default}")
    same_words(issuers.servers, "write", f"{MOUNT}/config/issuers", "default=nope")
    issuers.same("delete", f"{MOUNT}/issuer/first")
    issuers.same("read", f"{MOUNT}/config/issuers")
    issuers.same("read", f"{MOUNT}/public_key")
    for reference in ("default", "first", "nope", "second"):
        issuers.same("delete", f"{MOUNT}/issuer/{reference}")
    issuers.same("list", f"{MOUNT}/issuers")
    issuers.same("write", "-format=json", f"{MOUNT}/issuers/import", "key_type=ed25519",
                 "set_default=false")
    issuers.same("read", "-format=json", f"{MOUNT}/config/issuers")
