"""The ssh engine's OTP mode through the real `bao` CLI, side by side with OpenBao
2.7.2's `bao server -dev`: the same roles and requests give the same exit codes, texts
and fields (the OTPs and lease IDs themselves differ), and `bao write ssh/verify` works
without a token on both."""

from __future__ import annotations

from typing import Any

import pytest

from tests.compat.conftest import Server
from tests.compat.test_bao_userpass import same, same_words

pytestmark = pytest.mark.compat

ROLES = {
    "web": ["default_user=ubuntu", "cidr_list=10.0.0.0/8,192.168.1.0/24",
            "exclude_cidr_list=10.9.0.0/16", "allowed_users=alice,bob"],
    "anyone": ["default_user=ubuntu", "cidr_list=172.16.0.0/12", "allowed_users=*"],
}


@pytest.fixture
def both(module_dev_server: Server, openbao_dev: Server) -> list[Server]:
    servers = [module_dev_server, openbao_dev]
    for server in servers:
        server.bao("secrets", "disable", "ssh")  # both servers serve the whole module
        server.bao("secrets", "enable", "ssh")
        for name, fields in ROLES.items():
            server.bao("write", f"ssh/roles/{name}", "key_type=otp", *fields)
    return servers


def issued(both: list[Server], *args: str) -> list[dict[str, Any]]:
    """`bao write -format=json ssh/creds/...` on both: the same answer but for the OTP
    and the lease ID's random part."""
    bodies = [server.bao("write", "-format=json", *args).json() for server in both]
    shapes = []
    for body in bodies:
        assert isinstance(body, dict)
        prefix, _, ident = body["lease_id"].rpartition("/")
        assert len(ident) == 24 and len(body["data"]["key"]) == 36
        shapes.append({**body, "request_id": "", "lease_id": prefix,
                       "data": {**body["data"], "key": "OTP"}})
    assert shapes[0] == shapes[1]
    return bodies


def test_creds_and_their_refusals_match_openbao(both: list[Server]) -> None:
    for args in (["ip=10.1.2.3"], ["ip=10.1.2.3", "username=alice"],
                 ["ip=::ffff:192.168.1.4"]):
        issued(both, "ssh/creds/web", *args)
    issued(both, "ssh/creds/anyone", "ip=172.20.0.1", "username=zed")
    for args in ([], ["ip=bad"], ["ip=fe80::1%eth0"], ["ip=11.0.0.1"], ["ip=10.9.0.1"],
                 ["ip=2001:db8::1"], ["ip=10.0.0.1", "username=mallory"]):
        same(both, "write", "ssh/creds/web", *args)
    same(both, "write", "ssh/creds/nope", "ip=10.0.0.1")
    same(both, "read", "ssh/creds/web")


def test_verify_without_a_token_consumes_the_otp_once(both: list[Server]) -> None:
    bodies = issued(both, "ssh/creds/web", "ip=192.168.1.8", "username=bob")
    answers = [server.bao("write", "-format=json", "ssh/verify", f"otp={body['data']['key']}",
                          token=None).json() for server, body in zip(both, bodies, strict=True)]
    datas = [answer["data"] for answer in answers if isinstance(answer, dict)]
    assert datas == [{"username": "bob", "ip": "192.168.1.8", "role_name": "web"}] * 2
    for server, body in zip(both, bodies, strict=True):
        again = server.bao("write", "ssh/verify", f"otp={body['data']['key']}", token=None,
                           check=False)
        assert again.code == 2 and "* OTP not found" in again.err
    same(both, "write", "ssh/verify", "otp=00000000-0000-0000-0000-000000000000", token=None)
    same(both, "write", "-format=json", "ssh/verify", "otp=verify-echo-request", token=None)


def test_a_revoked_otp_is_refused(both: list[Server]) -> None:
    bodies = issued(both, "ssh/creds/web", "ip=10.0.0.7")
    for server, body in zip(both, bodies, strict=True):
        server.bao("lease", "revoke", "-sync", body["lease_id"])
        refused = server.bao("write", "ssh/verify", f"otp={body['data']['key']}", token=None,
                             check=False)
        assert refused.code == 2 and "* OTP not found" in refused.err
        renewed = server.bao("lease", "renew", body["lease_id"], check=False)
        assert renewed.code == 2 and "lease not found" in renewed.err


def test_zeroaddress_and_lookup_match_openbao(both: list[Server]) -> None:
    same(both, "read", "ssh/config/zeroaddress")
    same(both, "write", "ssh/config/zeroaddress", "roles=")
    same(both, "write", "ssh/config/zeroaddress", "roles=web,ghost")
    same(both, "write", "ssh/lookup", "ip=8.8.8.8")
    same(both, "write", "-format=json", "ssh/lookup", "ip=10.1.0.1")
    same(both, "write", "ssh/lookup", "ip=nope")
    same(both, "write", "ssh/lookup")
    same(both, "write", "ssh/creds/anyone", "ip=8.8.8.8")
    same(both, "write", "ssh/config/zeroaddress", "roles=anyone,web")
    same(both, "read", "-format=json", "ssh/config/zeroaddress")
    same(both, "write", "-format=json", "ssh/lookup", "ip=10.1.0.1")
    issued(both, "ssh/creds/anyone", "ip=8.8.8.8")
    same(both, "delete", "ssh/config/zeroaddress")
    same(both, "read", "ssh/config/zeroaddress")


def test_deleting_a_role_takes_it_off_the_zero_address_list(both: list[Server]) -> None:
    same(both, "write", "ssh/config/zeroaddress", "roles=anyone")
    same(both, "delete", "ssh/roles/anyone")
    same(both, "read", "-format=json", "ssh/config/zeroaddress")  # an empty list remains
    same(both, "write", "-format=json", "ssh/lookup", "ip=8.8.8.8")


def test_creds_under_a_ca_role_fail_with_openbao_s_words(both: list[Server]) -> None:
    for server in both:
        server.bao("write", "ssh/roles/certs", "key_type=ca", "default_user=ubuntu",
                   "allow_user_certificates=true")
    same(both, "write", "ssh/creds/certs", "ip=10.0.0.1")  # no cidr_list: not its IP
    same(both, "write", "ssh/config/zeroaddress", "roles=certs")
    # Then "key type unknown": OpenBao's 500, our 400.
    same_words(both, "write", "ssh/creds/certs", "ip=10.0.0.1")
