"""ACME side by side with OpenBao 2.7.2's `bao server -dev`: config/cluster and config/acme
through the real `bao` CLI, then one JWS client walking both servers' ACME directories
(directory, account, order, authorization, refusals as problem documents, EAB keys) and
the answers compared with each server's own URLs taken out.

OpenBao filters response headers unless the mount allows them, so its mount is tuned as
its ACME guide says (Replay-Nonce, Link, Location); Lambdavault sends them untuned. Its
http-01 validator only dials port 80, so validation itself is compared in the API tests."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from tests.api.test_pki_acme import AcmeClient, csr_der
from tests.compat.conftest import Server

pytestmark = pytest.mark.compat


@pytest.fixture
def both(module_dev_server: Server, openbao_dev: Server) -> list[Server]:
    for server in (module_dev_server, openbao_dev):
        server.bao("secrets", "disable", "pki")  # both servers serve the whole module
        server.bao("secrets", "enable", "pki")
        server.bao("write", "pki/root/generate/internal", "common_name=ACME Root",
                   "key_type=ec")
        server.bao("write", "pki/roles/web", "allowed_domains=localhost",
                   "allow_bare_domains=true", "allow_subdomains=true", "key_type=any")
    openbao_dev.bao("secrets", "tune", "-allowed-response-headers=Replay-Nonce",
                    "-allowed-response-headers=Link", "-allowed-response-headers=Location",
                    "pki")
    return [module_dev_server, openbao_dev]


def each(servers: list[Server], *args: str) -> list[Any]:
    return [server.bao(*args[:1], "-format=json", *args[1:]).json() for server in servers]


def unbased(server: Server, value: Any) -> Any:
    """``value`` with the server's address and the ids it chose made neutral."""
    text = json.dumps(value).replace(server.address, "<server>")
    return json.loads(text)


def walk(server: Server) -> dict[str, Any]:
    """One client's ACME conversation with ``server``: what each step answered."""
    seen: dict[str, Any] = {}
    base = f"{server.address}/v1/pki/roles/web/acme/"
    client = AcmeClient(base + "directory")
    seen["directory"] = client.directory
    nonce = requests.head(client.directory["newNonce"], timeout=30)
    seen["nonce"] = (nonce.status_code, nonce.headers["Cache-Control"], nonce.headers["Link"])

    def problem(reply: requests.Response) -> tuple[int, str, dict]:
        return reply.status_code, reply.headers["Content-Type"], reply.json()

    seen["unknown key"] = problem(client.post(client.directory["newAccount"],
                                              {"onlyReturnExisting": True}, jwk=True))
    created = client.register(contact=["mailto:ops@localhost"])
    account = created.json()
    location = created.headers["Location"]
    seen["account"] = (created.status_code, location.startswith(base + "account/"),
                       account.pop("orders") == location + "/orders", account)
    seen["account again"] = client.register().status_code
    url = client.directory["newAccount"]
    seen["bad nonce"] = problem(requests.post(url, data=json.dumps(
        client.signed(url, {}, nonce="AAAAAAAA")), timeout=30))
    seen["wrong url"] = problem(requests.post(url, data=json.dumps(
        client.signed(client.directory["newOrder"], {})), timeout=30))
    seen["forbidden"] = problem(client.order("www.example.com"))
    seen["email"] = problem(client.post(client.directory["newOrder"], {"identifiers": [
        {"type": "email", "value": "ops@localhost"}]}))
    order = client.order("localhost")
    body = order.json()
    seen["order"] = (order.status_code, sorted(body), body["status"], body["identifiers"])
    authz = client.post(body["authorizations"][0]).json()
    seen["authorization"] = (authz["status"], authz["identifier"], authz["wildcard"],
                             sorted((c["type"], c["status"]) for c in authz["challenges"]))
    seen["early finalize"] = problem(client.post(body["finalize"],
                                                 {"csr": csr_der(["localhost"])}))
    seen["early cert"] = problem(client.post(order.headers["Location"] + "/cert"))
    seen["orders"] = unbased(server, client.post(base + "orders").json())["orders"] == [
        f"<server>/v1/pki/roles/web/acme/order/{order.headers['Location'].rsplit('/', 1)[1]}"]
    missing = requests.get(f"{server.address}/v1/pki/roles/nope/acme/directory", timeout=30)
    seen["missing role"] = problem(missing)
    return unbased(server, seen)


def test_acme_conversation_matches_openbao(both: list[Server]) -> None:
    ours, theirs = each(both, "write", "pki/config/cluster",
                        "path=http://127.0.0.1/v1/pki")
    assert ours["data"] == theirs["data"]
    for server in both:
        server.bao("write", "pki/config/cluster", f"path={server.address}/v1/pki")
    ours, theirs = each(both, "read", "pki/config/acme")
    assert ours["data"].pop("max_ttl") == 90 * 24 * 3600  # ours alone: the ACME TTL cap
    assert ours["data"] == theirs["data"]
    ours, theirs = each(both, "write", "pki/config/acme", "enabled=true")
    ours["data"].pop("max_ttl")
    assert ours["data"] == theirs["data"]
    refused = [server.bao("write", "pki/config/acme", "eab_policy=sometimes", check=False)
               for server in both]
    words = ("invalid eab policy name provided, valid values are 'not-required', "
             "'new-account-required', 'always-required'")
    assert all(result.code == 2 and words in result.err for result in refused), refused

    ours, theirs = (walk(server) for server in both)
    assert ours == theirs


def test_eab_keys_match_openbao(both: list[Server]) -> None:
    for server in both:
        server.bao("write", "pki/config/cluster", f"path={server.address}/v1/pki")
        server.bao("write", "pki/config/acme", "enabled=true",
                   "eab_policy=new-account-required")
    created = each(both, "write", "-f", "pki/roles/web/acme/new-eab")
    for answer in created:
        data = answer["data"]
        assert sorted(data) == ["acme_directory", "created_on", "id", "key", "key_type"]
        assert data["acme_directory"] == "roles/web/acme/directory"
        assert data["key_type"] == "hs" and data["key"].startswith("vault-eab-0-")
    listed = each(both, "list", "-detailed", "pki/eab")
    assert [sorted(x) for x in listed] == [sorted(listed[1])] * 2
    for server, answer in zip(both, created, strict=True):
        client = AcmeClient(f"{server.address}/v1/pki/roles/web/acme/directory")
        assert client.directory["meta"] == {"externalAccountRequired": True}
        refused = client.register()
        assert (refused.status_code, refused.json()) == (401, {
            "type": "urn:ietf:params:acme:error:externalAccountRequired",
            "detail": "the request must include a value for the 'externalAccountBinding' "
                      "field"})
        deleted = server.bao("delete", f"pki/eab/{answer['data']['id']}")
        assert deleted.code == 0
