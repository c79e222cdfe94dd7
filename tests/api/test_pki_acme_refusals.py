"""ACME refusals as RFC 8555 problem documents with OpenBao's types and statuses, failed
validations, the three EAB policies with keys from new-eab, and config/acme's checks."""
# The fixtures acme_base and dev_acme come from test_pki_acme, imported by name:
# ruff: noqa: F811

from __future__ import annotations

import base64
import json

import pytest
import requests

from tests.api.test_pki_acme import (  # noqa: F401
    AcmeClient,
    Http01Responder,
    acme_base,
    csr_der,
    dev_acme,
    flattened,
    problem_of,
    ready_order,
)
from tests.support import VaultHTTP


def eab_binding(client: AcmeClient, eab: dict) -> dict:
    key = base64.urlsafe_b64decode(eab["key"] + "=" * (-len(eab["key"]) % 4))
    return flattened(json.dumps(client.jwk).encode(), key, "HS256",
                     {"kid": eab["id"], "url": client.directory["newAccount"]})


def new_eab(vault: VaultHTTP, prefix: str = "acme/") -> dict:
    reply = vault.post(f"pki/{prefix}new-eab")
    assert reply.status_code == 200, reply.text
    return reply.json()["data"]


def test_request_refusals(acme_base: str,
                          dev_acme: dict[str, int]) -> None:
    client = AcmeClient(f"{acme_base}/roles/web/acme/directory")
    url = client.directory["newAccount"]

    def raw_post(target: str, body: dict) -> requests.Response:
        return requests.post(target, data=json.dumps(body), timeout=30)

    assert problem_of(raw_post(url, client.signed(url, {}, nonce="bm9wZQ")))[:2] == \
        (400, "badNonce")
    wrong_url = client.signed(client.directory["newOrder"], {})
    assert problem_of(raw_post(url, wrong_url))[:2] == (401, "unauthorized")
    tampered = {**client.signed(url, {}), "payload": "eyJhIjoxfQ"}
    assert problem_of(raw_post(url, tampered))[:2] == (400, "malformed")
    stranger = client.signed(url, {})
    stranger["protected"] = client.signed(url, {}, jwk=True)["protected"]  # fresh nonce
    assert problem_of(raw_post(url, {**stranger, "signature": "AAAA"}))[:2] == \
        (400, "malformed")
    assert problem_of(client.post(url, {"onlyReturnExisting": True}, jwk=True))[:2] == \
        (400, "accountDoesNotExist")
    client.kid = f"{acme_base}/roles/web/acme/account/00000000-0000-0000-0000-000000000000"
    assert problem_of(client.order("localhost"))[:2] == (400, "accountDoesNotExist")
    client.kid = ""
    assert client.register().status_code == 201

    status, kind, detail = problem_of(client.order("www.example.com"))
    assert (status, kind) == (400, "rejectedIdentifier")
    assert detail == ("the server will not issue certificates for the identifier: role (web) "
                      "will not issue certificate for name www.example.com")
    assert problem_of(client.post(client.directory["newOrder"], {"identifiers": [
        {"type": "email", "value": "a@localhost"}]}))[:2] == (400, "unsupportedIdentifier")

    pending = client.order("localhost").json()
    assert problem_of(client.post(pending["finalize"], {"csr": csr_der(["localhost"])}))[:2] \
        == (403, "orderNotReady")
    order = ready_order(client, "localhost", dev_acme["http"])
    assert problem_of(client.post(order["finalize"], {"csr": csr_der(["other.localhost"])})) \
        [:2] == (400, "badCSR")
    assert problem_of(client.post(order["finalize"], {"csr": csr_der(["localhost"],
                                                                      client.key)}))[:2] == \
        (400, "badCSR")
    assert problem_of(client.post(order["url"] + "/cert"))[:2] == (403, "orderNotReady")
    # A refused CSR leaves the order ready for a good one.
    assert client.post(order["finalize"], {"csr": csr_der(["localhost"])}).json()["status"] \
        == "valid"
    other = AcmeClient(client.directory_url)
    assert other.register().status_code == 201
    assert problem_of(other.post(order["url"]))[:2] == (400, "malformed")  # not its order


def test_directory_policies(vault: VaultHTTP, server: str, acme_base: str) -> None:
    reply = vault.post("pki/config/acme", {"allowed_roles": "other"})
    assert reply.status_code == 400
    assert reply.json()["errors"] == ["role other is not a valid ACME role: role does not "
                                      "exist"]
    assert vault.post("pki/roles/other", {"allow_any_name": True}).status_code == 200
    assert vault.post("pki/config/acme", {"allowed_roles": "other"}).status_code == 200
    refused = requests.get(f"{acme_base}/roles/web/acme/directory", timeout=30)
    assert problem_of(refused) == (500, "serverInternal", "the server experienced an internal "
                                   "error: specified role not allowed by ACME policy")
    assert requests.get(f"{acme_base}/roles/other/acme/directory", timeout=30).ok
    assert requests.get(f"{acme_base}/acme/directory", timeout=30).ok  # sign-verbatim
    assert vault.post("pki/config/acme", {"default_directory_policy": "forbid"}).ok
    assert problem_of(requests.get(f"{acme_base}/acme/directory", timeout=30))[:2] == \
        (500, "serverInternal")
    reply = vault.post("pki/config/acme", {"default_directory_policy": "role:web"})
    assert reply.json()["errors"] == ["default directory policy role:web was not specified "
                                      "in allowed_roles: ['other']"]
    assert vault.post("pki/config/acme", {"default_directory_policy": "role:other"}).ok
    assert requests.get(f"{acme_base}/acme/directory", timeout=30).ok
    assert requests.get(f"{acme_base}/roles/nope/acme/directory", timeout=30) \
        .status_code == 400
    for body, error in (
        ({"eab_policy": "sometimes"}, "invalid eab policy name provided, valid values are "
         "'not-required', 'new-account-required', 'always-required'"),
        ({"dns_resolver": "dns.example:53"}, "failed to parse DNS resolver address: expected "
         "IPv4/IPv6 address, likely got hostname"),
        ({"allowed_issuers": "missing"}, "failed validating allowed_issuers: unable to fetch "
         "issuer: missing: unable to find PKI issuer for reference: missing"),
    ):
        reply = vault.post("pki/config/acme", body)
        assert reply.json()["errors"] == [error], body
    data = vault.get("pki/config/acme").json()["data"]
    assert data == {"enabled": True, "allowed_issuers": ["*"], "allowed_roles": ["other"],
                    "allow_role_ext_key_usage": False,
                    "default_directory_policy": "role:other", "dns_resolver": "",
                    "eab_policy": "not-required", "max_ttl": 7776000}


def test_eab_policies(vault: VaultHTTP, server: str, acme_base: str) -> None:
    directory = f"{acme_base}/acme/directory"
    early = AcmeClient(directory)
    assert early.register().status_code == 201  # before EAB was required
    assert vault.post("pki/config/acme", {"eab_policy": "new-account-required"}).ok
    client = AcmeClient(directory)
    assert client.directory["meta"] == {"externalAccountRequired": True}
    assert problem_of(client.register())[:2] == (401, "externalAccountRequired")

    eab = new_eab(vault)
    assert set(eab) == {"id", "key_type", "key", "acme_directory", "created_on"}
    assert eab["key_type"] == "hs" and eab["acme_directory"] == "acme/directory"
    assert eab["key"].startswith("vault-eab-0-")
    listed = vault.list("pki/eab").json()["data"]
    assert listed["keys"] == [eab["id"]]
    assert "key" not in listed["key_info"][eab["id"]]  # the HMAC key is shown once only
    wrong_directory = new_eab(vault, "roles/web/acme/")
    assert problem_of(client.register(externalAccountBinding=eab_binding(
        client, wrong_directory)))[:2] == (401, "unauthorized")
    forged = {**eab, "key": base64.urlsafe_b64encode(b"x" * 44).decode()}
    assert problem_of(client.register(externalAccountBinding=eab_binding(client, forged)))[:2] \
        == (400, "malformed")

    bound = client.register(externalAccountBinding=eab_binding(client, eab))
    assert bound.status_code == 201, bound.text
    assert bound.json()["externalAccountBinding"]["protected"]
    again = AcmeClient(directory)
    assert problem_of(again.register(externalAccountBinding=eab_binding(again, eab)))[:2] == \
        (401, "unauthorized")  # consumed
    assert early.order("a.localhost").status_code == 201  # existing accounts keep working

    assert vault.post("pki/config/acme", {"eab_policy": "always-required"}).ok
    assert problem_of(early.order("a.localhost"))[:2] == (401, "externalAccountRequired")
    assert client.order("a.localhost").status_code == 201

    assert vault.list("pki/eab").json()["data"]["keys"] == [wrong_directory["id"]]
    assert vault.delete(f"pki/eab/{wrong_directory['id']}").status_code == 204
    missing = vault.delete(f"pki/eab/{wrong_directory['id']}")
    assert missing.json()["warnings"] == [f"No key id found with id: {wrong_directory['id']}"]
    assert vault.list("pki/eab").status_code == 404
    assert vault.delete("pki/eab/not-a-uuid").json()["errors"] == ["badly formatted key_id "
                                                                   "field"]


def test_symmetric_account_signature_refused(acme_base: str) -> None:
    client = AcmeClient(f"{acme_base}/acme/directory")
    url = client.directory["newAccount"]
    body = client.signed(url, {})
    body["protected"] = base64.urlsafe_b64encode(json.dumps(
        {"alg": "HS256", "jwk": client.jwk, "nonce": client.new_nonce(), "url": url})
        .encode()).rstrip(b"=").decode()
    reply = requests.post(url, data=json.dumps(body), timeout=30)
    assert problem_of(reply)[:2] == (400, "badSignatureAlgorithm")


def challenge_answer(client: AcmeClient, name: str, kind: str = "http-01") -> dict:
    """Order ``name`` and answer its ``kind`` challenge: the challenge's answer."""
    order = client.order(name).json()
    authz = client.post(order["authorizations"][0]).json()
    challenge = next(c for c in authz["challenges"] if c["type"] == kind)
    return client.post(challenge["url"], {}).json()


def test_failed_validations(acme_base: str, dev_acme: dict[str, int],
                            monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib.settings import settings

    client = AcmeClient(f"{acme_base}/acme/directory")
    assert client.register().status_code == 201
    responder = Http01Responder(dev_acme["http"])
    try:
        answer = challenge_answer(client, "wrong.localhost")  # the responder knows no token
        assert answer["status"] == "invalid"
        assert answer["error"] == {
            "type": "urn:ietf:params:acme:error:incorrectResponse",
            "detail": "http-01 challenge for wrong.localhost answered HTTP 404: response "
                      "received didn't match the challenge's requirements"}
    finally:
        responder.close()
    answer = challenge_answer(client, "nobody.localhost")  # nothing listens any more
    assert answer["error"]["type"] == "urn:ietf:params:acme:error:connection"
    assert "could not connect to nobody.localhost (127.0.0.1)" in answer["error"]["detail"]
    # Outside dev mode loopback is never dialled (a Lambda's runtime API listens there).
    monkeypatch.setenv("LAMBDAVAULT_DEV", "false")
    settings.cache_clear()
    answer = challenge_answer(client, "localhost", "tls-alpn-01")
    assert answer["error"] == {
        "type": "urn:ietf:params:acme:error:connection",
        "detail": "localhost resolves to no address the server may validate against: the "
                  "server could not connect to validation target"}
