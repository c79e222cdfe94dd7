"""ACME on the pki mount over HTTP, step by step with a small JWS client built on PyJWT:
directory, nonces, account, order, http-01 and tls-alpn-01 validation against responders
on loopback (dev mode), finalize, certificate download, key change and revocation."""

from __future__ import annotations

import base64
import datetime
import http.server
import json
import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from jwt.algorithms import ECAlgorithm

from tests.support import VaultHTTP, free_port

PEM_CHAIN = "application/pem-certificate-chain"


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def flattened(payload: bytes, key: Any, algorithm: str, header: dict[str, Any]) -> dict:
    """A flattened JWS (RFC 7515 section 7.2.2) from PyJWT's compact one."""
    compact = jwt.PyJWS().encode(payload, key, algorithm=algorithm,
                                 headers={**header, "typ": None})
    protected, body, signature = compact.split(".")
    return {"protected": protected, "payload": body, "signature": signature}


class AcmeClient:
    """Just enough of RFC 8555 to drive the server: every POST signed, nonces reused
    from each answer, errors returned (not raised) so tests can look at them."""

    def __init__(self, directory_url: str, key: ec.EllipticCurvePrivateKey | None = None) -> None:
        self.session = requests.Session()
        self.directory_url = directory_url
        self.directory = self.session.get(directory_url, timeout=30).json()
        self.key = key or ec.generate_private_key(ec.SECP256R1())
        self.kid = ""
        self.nonce = ""

    @property
    def jwk(self) -> dict[str, str]:
        return json.loads(ECAlgorithm.to_jwk(self.key.public_key()))

    @property
    def thumbprint(self) -> str:
        jwk = self.jwk
        canonical = json.dumps({k: jwk[k] for k in ("crv", "kty", "x", "y")},
                               separators=(",", ":"), sort_keys=True)
        digest = hashes.Hash(hashes.SHA256())
        digest.update(canonical.encode())
        return b64(digest.finalize())

    def new_nonce(self) -> str:
        reply = self.session.head(self.directory["newNonce"], timeout=30)
        assert reply.status_code == 200
        return reply.headers["Replay-Nonce"]

    def signed(self, url: str, payload: Any, *, jwk: bool = False,
               nonce: str | None = None) -> dict:
        header: dict[str, Any] = {"nonce": nonce or self.nonce or self.new_nonce(), "url": url}
        if jwk or not self.kid:
            header["jwk"] = self.jwk
        else:
            header["kid"] = self.kid
        raw = b"" if payload is None else json.dumps(payload).encode()
        self.nonce = ""
        return flattened(raw, self.key, "ES256", header)

    def post(self, url: str, payload: Any = None, **options: Any) -> requests.Response:
        """POST ``payload``; None is POST-as-GET."""
        reply = self.session.post(url, data=json.dumps(self.signed(url, payload, **options)),
                                  headers={"Content-Type": "application/jose+json"},
                                  timeout=60)
        self.nonce = reply.headers.get("Replay-Nonce", "")
        return reply

    def register(self, **payload: Any) -> requests.Response:
        reply = self.post(self.directory["newAccount"],
                          {"termsOfServiceAgreed": True, **payload}, jwk=True)
        if reply.status_code in (200, 201):
            self.kid = reply.headers["Location"]
        return reply

    def order(self, *names: str) -> requests.Response:
        return self.post(self.directory["newOrder"],
                         {"identifiers": [{"type": "dns", "value": n} for n in names]})

    def key_authorization(self, token: str) -> str:
        return f"{token}.{self.thumbprint}"


def csr_der(names: list[str], key: ec.EllipticCurvePrivateKey | None = None) -> str:
    key = key or ec.generate_private_key(ec.SECP256R1())
    csr = (x509.CertificateSigningRequestBuilder()
           .subject_name(x509.Name([]))
           .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]),
                          critical=False)
           .sign(key, hashes.SHA256()))
    return b64(csr.public_bytes(serialization.Encoding.DER))


class Http01Responder:
    """An http-01 responder on a loopback port: token -> key authorization, or token ->
    where to redirect; the Host headers it saw."""

    def __init__(self, port: int) -> None:
        self.answers: dict[str, str] = {}
        self.redirects: dict[str, str] = {}
        self.hosts: list[str] = []
        answers, redirects, hosts = self.answers, self.redirects, self.hosts

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                token = self.path.rsplit("/", 1)[-1]
                hosts.append(self.headers["Host"])
                if token in redirects:
                    self.send_response(302)
                    self.send_header("Location", redirects[token])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = answers.get(token, "").encode()
                self.send_response(200 if body else 404)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: Any) -> None:
                return

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def tls_alpn_certificate(name: str, key_authorization: str, tmp: Path) -> ssl.SSLContext:
    """RFC 8737's self-signed validation certificate, in a server context speaking only
    acme-tls/1."""
    key = ec.generate_private_key(ec.SECP256R1())
    digest = hashes.Hash(hashes.SHA256())
    digest.update(key_authorization.encode())
    now = datetime.datetime.now(datetime.UTC)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "acme")])
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=1))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .add_extension(x509.UnrecognizedExtension(
                x509.ObjectIdentifier("1.3.6.1.5.5.7.1.31"), b"\x04\x20" + digest.finalize()),
                critical=True)
            .sign(key, hashes.SHA256()))
    (tmp / "alpn.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp / "alpn.key").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.set_alpn_protocols(["acme-tls/1"])
    context.load_cert_chain(tmp / "alpn.pem", tmp / "alpn.key")
    return context


def serve_tls_once(context: ssl.SSLContext, port: int) -> threading.Thread:
    listener = socket.create_server(("127.0.0.1", port))

    def run() -> None:
        with listener:
            connection, _ = listener.accept()
            try:
                with context.wrap_socket(connection, server_side=True):
                    pass
            except (ssl.SSLError, OSError):
                pass

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


@pytest.fixture
def dev_acme(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, int]]:
    """Dev mode with the validator's ports moved to the test's responders."""
    from chalicelib.settings import settings

    ports = {"http": free_port(), "tls": free_port()}
    monkeypatch.setenv("LAMBDAVAULT_DEV", "true")
    monkeypatch.setenv("LAMBDAVAULT_ACME_HTTP01_PORT", str(ports["http"]))
    monkeypatch.setenv("LAMBDAVAULT_ACME_TLS_ALPN01_PORT", str(ports["tls"]))
    settings.cache_clear()
    yield ports
    settings.cache_clear()


def enable_acme(vault: VaultHTTP, server: str, **acme: Any) -> str:
    """A pki mount with a root CA, config/cluster and ACME on; its base URL."""
    assert vault.post("sys/mounts/pki", {"type": "pki"}).status_code == 204
    reply = vault.post("pki/root/generate/internal", {"common_name": "ACME Root",
                                                       "key_type": "ec", "ttl": "8760h"})
    assert reply.status_code == 200, reply.text
    reply = vault.post("pki/roles/web", {"allowed_domains": "localhost,example.test",
                                         "allow_subdomains": True, "allow_bare_domains": True,
                                         "key_type": "any", "ttl": "24h"})
    assert reply.status_code == 200, reply.text
    base = f"{server}/v1/pki"
    assert vault.post("pki/config/cluster", {"path": base}).status_code == 200
    reply = vault.post("pki/config/acme", {"enabled": True, **acme})
    assert reply.status_code == 200, reply.text
    return base


@pytest.fixture
def acme_base(vault: VaultHTTP, server: str, dev_acme: dict[str, int]) -> str:
    return enable_acme(vault, server)


def test_directory_nonce_and_disabled(vault: VaultHTTP, server: str, dev_acme: dict) -> None:
    assert vault.post("sys/mounts/pki", {"type": "pki"}).status_code == 204
    # Disabled (the default): a bare 404, as OpenBao.
    assert requests.get(f"{server}/v1/pki/acme/directory", timeout=30).status_code == 404
    reply = vault.post("pki/config/acme", {"enabled": True})
    assert reply.status_code == 400
    assert "requires local cluster 'path'" in reply.json()["errors"][0]
    base = enable_acme_on_existing(vault, server)
    for prefix in ("acme/", "roles/web/acme/", "issuer/default/acme/",
                   "issuer/default/roles/web/acme/"):
        directory = requests.get(f"{base}/{prefix}directory", timeout=30)
        assert directory.status_code == 200
        assert directory.headers["Content-Type"] == "application/json"
        assert directory.json() == {
            "newNonce": f"{base}/{prefix}new-nonce",
            "newAccount": f"{base}/{prefix}new-account",
            "newOrder": f"{base}/{prefix}new-order",
            "revokeCert": f"{base}/{prefix}revoke-cert",
            "keyChange": f"{base}/{prefix}key-change",
            "meta": {"externalAccountRequired": False},
        }
        for method in ("HEAD", "GET"):
            nonce = requests.request(method, f"{base}/{prefix}new-nonce", timeout=30)
            assert nonce.status_code == 200
            assert nonce.headers["Cache-Control"] == "no-store"
            assert nonce.headers["Link"] == f'<{base}/{prefix}directory>;rel="index"'
            assert len(nonce.headers["Replay-Nonce"]) > 16
    # No token needed for any of it; new-eab still needs one.
    assert requests.post(f"{base}/acme/new-eab", timeout=30).status_code == 403


def enable_acme_on_existing(vault: VaultHTTP, server: str) -> str:
    reply = vault.post("pki/root/generate/internal", {"common_name": "ACME Root",
                                                       "key_type": "ec"})
    assert reply.status_code == 200, reply.text
    assert vault.post("pki/roles/web", {"allow_any_name": True}).status_code == 200
    base = f"{server}/v1/pki"
    assert vault.post("pki/config/cluster", {"path": base}).status_code == 200
    assert vault.post("pki/config/acme", {"enabled": True}).status_code == 200
    return base


def test_http01_order_to_certificate(vault: VaultHTTP, acme_base: str,
                                     dev_acme: dict[str, int], tmp_path: Path) -> None:
    client = AcmeClient(f"{acme_base}/roles/web/acme/directory")
    created = client.register(contact=["mailto:ops@example.test"])
    assert created.status_code == 201, created.text
    assert created.headers["Location"].startswith(f"{acme_base}/roles/web/acme/account/")
    assert created.json() == {"status": "valid", "contact": ["mailto:ops@example.test"],
                              "orders": created.headers["Location"] + "/orders"}
    assert client.register().status_code == 200  # the same key finds the same account

    order = client.order("localhost")
    assert order.status_code == 201, order.text
    body = order.json()
    assert body["status"] == "pending"
    assert body["identifiers"] == [{"type": "dns", "value": "localhost"}]
    authz = client.post(body["authorizations"][0]).json()
    assert authz["status"] == "pending"
    assert [c["type"] for c in authz["challenges"]] == ["http-01", "dns-01", "tls-alpn-01"]
    assert authz["wildcard"] is False
    challenge = next(c for c in authz["challenges"] if c["type"] == "http-01")

    responder = Http01Responder(dev_acme["http"])
    try:
        responder.answers[challenge["token"]] = client.key_authorization(challenge["token"])
        answered = client.post(challenge["url"], {})
    finally:
        responder.close()
    assert answered.status_code == 200, answered.text
    assert answered.json()["status"] == "valid"
    assert f'<{body["authorizations"][0]}>;rel="up"' in answered.headers["Link"]
    assert client.post(body["authorizations"][0]).json()["status"] == "valid"
    order_url = order.headers["Location"]
    assert client.post(order_url).json()["status"] == "ready"

    finalized = client.post(body["finalize"], {"csr": csr_der(["localhost"])})
    assert finalized.status_code == 200, finalized.text
    assert finalized.json()["status"] == "valid"
    chain = client.post(finalized.json()["certificate"])
    assert chain.status_code == 200
    assert chain.headers["Content-Type"] == PEM_CHAIN
    leaf, root = x509.load_pem_x509_certificates(chain.content)
    leaf.verify_directly_issued_by(root)
    sans = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == ["localhost"]
    eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]
    assert leaf.not_valid_after_utc - leaf.not_valid_before_utc <= datetime.timedelta(hours=25)
    assert client.post(client.kid + "/orders").json() == {"orders": [order_url]}
    assert responder.hosts == ["localhost"]
    stored = vault.list("pki/certs").json()["data"]["keys"]
    assert leaf.serial_number in {int(k.replace(":", ""), 16) for k in stored}


def problem_of(reply: requests.Response) -> tuple[int, str, str]:
    assert reply.headers["Content-Type"] == "application/problem+json", reply.text
    body = reply.json()
    return reply.status_code, body["type"].removeprefix("urn:ietf:params:acme:error:"), \
        body["detail"]


def ready_order(client: AcmeClient, name: str, port: int) -> dict:
    """An order for ``name`` made ready through http-01; its body with its url."""
    order = client.order(name)
    assert order.status_code == 201, order.text
    body = {**order.json(), "url": order.headers["Location"]}
    authz = client.post(body["authorizations"][0]).json()
    challenge = next(c for c in authz["challenges"] if c["type"] == "http-01")
    responder = Http01Responder(port)
    try:
        responder.answers[challenge["token"]] = client.key_authorization(challenge["token"])
        assert client.post(challenge["url"], {}).json()["status"] == "valid"
    finally:
        responder.close()
    return body


def test_tls_alpn01_then_revocation(acme_base: str, dev_acme: dict[str, int],
                                    tmp_path: Path) -> None:
    client = AcmeClient(f"{acme_base}/acme/directory")  # sign-verbatim default directory
    assert client.register().status_code == 201
    order = client.order("svc.localhost").json()
    authz = client.post(order["authorizations"][0]).json()
    challenge = next(c for c in authz["challenges"] if c["type"] == "tls-alpn-01")
    context = tls_alpn_certificate("svc.localhost",
                                   client.key_authorization(challenge["token"]), tmp_path)
    responder = serve_tls_once(context, dev_acme["tls"])
    answered = client.post(challenge["url"], {})
    responder.join(timeout=10)
    assert answered.json()["status"] == "valid", answered.text
    cert_key = ec.generate_private_key(ec.SECP256R1())
    done = client.post(order["finalize"], {"csr": csr_der(["svc.localhost"], cert_key)})
    assert done.json()["status"] == "valid", done.text
    leaf = x509.load_pem_x509_certificates(client.post(done.json()["certificate"]).content)[0]
    der = b64(leaf.public_bytes(serialization.Encoding.DER))

    other = AcmeClient(f"{acme_base}/acme/directory")
    assert other.register().status_code == 201
    assert problem_of(other.post(client.directory["revokeCert"], {"certificate": der}))[:2] \
        == (401, "unauthorized")
    assert problem_of(client.post(client.directory["revokeCert"],
                                  {"certificate": der, "reason": 4}))[:2] == \
        (400, "badRevocationReason")
    # Signed with the certificate's own key (a jwk, no account), as RFC 8555 allows.
    holder = AcmeClient(f"{acme_base}/acme/directory", key=cert_key)
    revoked = holder.post(holder.directory["revokeCert"], {"certificate": der}, jwk=True)
    assert revoked.status_code == 200, revoked.text
    crl = x509.load_pem_x509_crl(requests.get(f"{acme_base}/crl/pem", timeout=30).content)
    assert crl.get_revoked_certificate_by_serial_number(leaf.serial_number) is not None
    assert problem_of(client.post(client.directory["revokeCert"], {"certificate": der}))[:2] \
        == (400, "alreadyRevoked")


def test_account_update_key_change_and_deactivation(acme_base: str) -> None:
    client = AcmeClient(f"{acme_base}/acme/directory")
    assert client.register().status_code == 201
    updated = client.post(client.kid, {"contact": ["mailto:new@example.test"]})
    assert updated.json()["contact"] == ["mailto:new@example.test"]
    assert client.post(client.kid).json()["status"] == "valid"  # POST-as-GET

    new_key = ec.generate_private_key(ec.SECP256R1())
    url = client.directory["keyChange"]
    inner = flattened(json.dumps({"account": client.kid, "oldKey": client.jwk}).encode(),
                      new_key, "ES256",
                      {"jwk": json.loads(ECAlgorithm.to_jwk(new_key.public_key())),
                       "url": url})
    assert client.post(url, inner).status_code == 200
    status, kind, _ = problem_of(client.post(client.kid))  # the old key no longer signs
    assert (status, kind) == (400, "malformed")
    client.key = new_key
    assert client.post(client.kid).json()["status"] == "valid"

    gone = client.post(client.kid, {"status": "deactivated"})
    assert gone.json()["status"] == "deactivated"
    assert problem_of(client.order("a.localhost"))[:2] == (401, "unauthorized")


def test_nonces_single_use_across_containers(acme_base: str, server: str) -> None:
    """Two dev-server adapters on one table stand in for two Lambda containers: a nonce
    from one is good once at the other, then refused everywhere."""
    import app
    from chalicelib.transports.devserver import serve

    other = serve(app.app)
    try:
        here = AcmeClient(f"{acme_base}/acme/directory")
        there_base = acme_base.replace(server.rstrip("/"), other.url.rstrip("/"))
        nonce = requests.head(f"{there_base}/acme/new-nonce", timeout=30) \
            .headers["Replay-Nonce"]
        # The url signed must be the configured one (config/cluster), whichever container
        # answers: post to the second adapter with the first's URLs.
        url = here.directory["newAccount"]
        body = json.dumps(here.signed(url, {"termsOfServiceAgreed": True}, nonce=nonce))
        target = url.replace(server.rstrip("/"), other.url.rstrip("/"))
        first = requests.post(target, data=body, timeout=30)
        assert first.status_code == 201, first.text
        replay = requests.post(url, data=body, timeout=30)
        assert problem_of(replay)[:2] == (400, "badNonce")
        assert replay.headers["Replay-Nonce"]  # a fresh one to retry with, as RFC 8555
    finally:
        other.close()


class TxtResponder:
    """A DNS server on a loopback UDP port answering TXT queries from ``records``
    (config/acme's dns_resolver points the validator at it)."""

    def __init__(self) -> None:
        import dns.message
        import dns.rrset

        self.records: dict[str, str] = {}
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.bind(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self.socket.getsockname()[1]}"

        def run() -> None:
            while True:
                try:
                    wire, peer = self.socket.recvfrom(4096)
                except OSError:
                    return
                query = dns.message.from_wire(wire)
                reply = dns.message.make_response(query)
                for question in query.question:
                    name = question.name.to_text().rstrip(".")
                    if name in self.records:
                        reply.answer.append(dns.rrset.from_text(
                            question.name, 60, "IN", "TXT", f'"{self.records[name]}"'))
                self.socket.sendto(reply.to_wire(), peer)

        threading.Thread(target=run, daemon=True).start()

    def close(self) -> None:
        self.socket.close()


def test_dns01_wildcard_through_configured_resolver(vault: VaultHTTP, acme_base: str) -> None:
    resolver = TxtResponder()
    try:
        assert vault.post("pki/config/acme", {"dns_resolver": resolver.address}).ok
        client = AcmeClient(f"{acme_base}/roles/web/acme/directory")
        assert client.register().status_code == 201
        order = client.order("*.example.test").json()
        assert order["identifiers"] == [{"type": "dns", "value": "*.example.test"}]
        authz = client.post(order["authorizations"][0]).json()
        assert authz["identifier"] == {"type": "dns", "value": "example.test"}
        assert authz["wildcard"] is True
        assert [c["type"] for c in authz["challenges"]] == ["dns-01"]
        challenge = authz["challenges"][0]
        digest = hashes.Hash(hashes.SHA256())
        digest.update(client.key_authorization(challenge["token"]).encode())
        resolver.records["_acme-challenge.example.test"] = b64(digest.finalize())
        assert client.post(challenge["url"], {}).json()["status"] == "valid"
        done = client.post(order["finalize"], {"csr": csr_der(["*.example.test"])})
        assert done.status_code == 200, done.text
        leaf = x509.load_pem_x509_certificates(client.post(done.json()["certificate"])
                                               .content)[0]
        names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert names.get_values_for_type(x509.DNSName) == ["*.example.test"]

        # A wrong record fails the challenge, the authorization and so the order.
        failing = client.order("*.other.example.test").json()
        authz = client.post(failing["authorizations"][0]).json()
        resolver.records["_acme-challenge.other.example.test"] = "wrong"
        answered = client.post(authz["challenges"][0]["url"], {}).json()
        assert answered["status"] == "invalid"
        assert answered["error"]["type"] == "urn:ietf:params:acme:error:incorrectResponse"
        assert client.post(failing["finalize"].removesuffix("/finalize")).json()["status"] \
            == "invalid"
    finally:
        resolver.close()


def test_thumbprint_is_rfc7638s() -> None:
    """RFC 7638 section 3.1's example key and thumbprint."""
    from chalicelib.engines.pki.acme.jws import thumbprint

    key = {"kty": "RSA", "e": "AQAB", "alg": "RS256", "kid": "2011-04-29", "n": (
        "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tS"
        "oc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65Y"
        "GjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdk"
        "t-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqD"
        "Kgw")}
    assert thumbprint(key) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


@pytest.mark.usefixtures("atomic_calls")  # moto's transactions are not thread-safe
def test_racing_requests_spend_a_nonce_once(acme_base: str, server: str) -> None:
    """The same signed request sent at once from eight threads through two adapters:
    exactly one is served, the others get badNonce."""
    from concurrent.futures import ThreadPoolExecutor

    import app
    from chalicelib.transports.devserver import serve

    other = serve(app.app)
    try:
        client = AcmeClient(f"{acme_base}/acme/directory")
        url = client.directory["newAccount"]
        body = json.dumps(client.signed(url, {"termsOfServiceAgreed": True}))
        targets = [url, url.replace(server.rstrip("/"), other.url.rstrip("/"))] * 4
        barrier = threading.Barrier(len(targets))

        def send(target: str) -> int:
            barrier.wait()
            return requests.post(target, data=body, timeout=60).status_code

        with ThreadPoolExecutor(len(targets)) as pool:
            statuses = sorted(pool.map(send, targets))
        assert statuses == [201] + [400] * 7
    finally:
        other.close()


def test_racing_finalizes_issue_once(vault: VaultHTTP, acme_base: str,
                                     dev_acme: dict[str, int]) -> None:
    """Four finalizes of one order at once: the order is claimed by one, which issues the
    only certificate; the others are told the order is not ready."""
    from concurrent.futures import ThreadPoolExecutor

    client = AcmeClient(f"{acme_base}/acme/directory")
    assert client.register().status_code == 201
    order = ready_order(client, "race.localhost", dev_acme["http"])
    bodies = [json.dumps(client.signed(order["finalize"], {"csr": csr_der(["race.localhost"])},
                                       nonce=client.new_nonce())) for _ in range(4)]
    barrier = threading.Barrier(len(bodies))

    def send(body: str) -> requests.Response:
        barrier.wait()
        return requests.post(order["finalize"], data=body, timeout=60)

    issued_before = len(vault.list("pki/certs").json()["data"]["keys"])
    with ThreadPoolExecutor(len(bodies)) as pool:
        replies = list(pool.map(send, bodies))
    assert sorted(r.status_code for r in replies) == [200, 403, 403, 403]
    assert all(problem_of(r)[:2] == (403, "orderNotReady") for r in replies
               if r.status_code != 200)
    assert len(vault.list("pki/certs").json()["data"]["keys"]) == issued_before + 1


def test_http01_follows_redirects(acme_base: str, dev_acme: dict[str, int]) -> None:
    """A redirect to another name and port (any port in dev mode; 80 or 443 otherwise) is
    followed, the new name resolved and checked like the identifier."""
    client = AcmeClient(f"{acme_base}/acme/directory")
    assert client.register().status_code == 201
    order = client.order("moved.localhost").json()
    authz = client.post(order["authorizations"][0]).json()
    challenge = next(c for c in authz["challenges"] if c["type"] == "http-01")
    token = challenge["token"]
    first, second = Http01Responder(dev_acme["http"]), Http01Responder(free_port())
    second_port = second.server.server_address[1]
    try:
        first.redirects[token] = f"http://elsewhere.localhost:{second_port}/acme/{token}"
        second.answers[token] = client.key_authorization(token)
        answered = client.post(challenge["url"], {})
    finally:
        first.close()
        second.close()
    assert answered.json()["status"] == "valid", answered.text
    assert first.hosts == ["moved.localhost"]
    assert second.hosts == [f"elsewhere.localhost:{second_port}"]


def ip_csr(address: str) -> str:
    import ipaddress

    csr = (x509.CertificateSigningRequestBuilder().subject_name(x509.Name([]))
           .add_extension(x509.SubjectAlternativeName(
               [x509.IPAddress(ipaddress.ip_address(address))]), critical=False)
           .sign(ec.generate_private_key(ec.SECP256R1()), hashes.SHA256()))
    return b64(csr.public_bytes(serialization.Encoding.DER))


@pytest.mark.parametrize("directory", ["acme", "roles/web/acme"])
def test_ip_identifier(acme_base: str, dev_acme: dict[str, int], directory: str) -> None:
    """An IP identifier gets http-01 only. The sign-verbatim directory issues a certificate
    with that IP SAN; a role requiring a CN refuses it at finalize, as OpenBao (the CN it
    fills in from the IP is no name the role allows)."""
    import ipaddress

    client = AcmeClient(f"{acme_base}/{directory}/directory")
    assert client.register().status_code == 201
    order = client.post(client.directory["newOrder"], {
        "identifiers": [{"type": "ip", "value": "127.0.0.1"}]})
    assert order.status_code == 201, order.text
    body = order.json()
    authz = client.post(body["authorizations"][0]).json()
    assert [c["type"] for c in authz["challenges"]] == ["http-01"]
    responder = Http01Responder(dev_acme["http"])
    try:
        token = authz["challenges"][0]["token"]
        responder.answers[token] = client.key_authorization(token)
        assert client.post(authz["challenges"][0]["url"], {}).json()["status"] == "valid"
    finally:
        responder.close()
    done = client.post(body["finalize"], {"csr": ip_csr("127.0.0.1")})
    if directory != "acme":
        assert problem_of(done) == (400, "badCSR", "the CSR is unacceptable: refusing to sign "
                                    "CSR: common name 127.0.0.1 not allowed by this role")
        return
    assert done.status_code == 200, done.text
    leaf = x509.load_pem_x509_certificates(client.post(done.json()["certificate"]).content)[0]
    names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]
