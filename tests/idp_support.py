"""A loopback OpenID Connect provider for the jwt/oidc tests.

It serves discovery, a JWKS (an RSA and an EC key), an authorize endpoint that approves
at once and redirects with a code and the state, and a token endpoint that checks the
client secret, the redirect URI and the PKCE verifier before answering with an ID token.
It also signs arbitrary JWTs (GitHub Actions and Kubernetes look-alikes), counts the
requests it serves per path, and can stall to play a dead provider.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import socket
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Iterator
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

CLIENT_ID = "lambdavault"
CLIENT_SECRET = "idp-client-secret"


@cache
def rsa_key(name: str = "rsa-1") -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@cache
def ec_key(name: str = "ec-1") -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def public_pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def sign(claims: dict[str, Any], key: Any, alg: str = "RS256", kid: str | None = None) -> str:
    headers = {"kid": kid} if kid else None
    return jwt.encode(claims, key, algorithm=alg, headers=headers)


def forge_hs256(claims: dict[str, Any], secret: bytes) -> str:
    """An HS256 token whose HMAC secret is ``secret``: with a public key's PEM, the
    algorithm-confusion attack (PyJWT itself refuses to make one)."""

    def part(data: bytes) -> bytes:
        return base64.urlsafe_b64encode(data).rstrip(b"=")

    head = part(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = part(json.dumps(claims).encode())
    mac = hmac.new(secret, head + b"." + body, hashlib.sha256).digest()
    return (head + b"." + body + b"." + part(mac)).decode()


def times(lifetime: int = 300) -> dict[str, int]:
    now = int(time.time())
    return {"iat": now, "nbf": now, "exp": now + lifetime}


class IdP:
    """The provider, on a free loopback port until closed."""

    def __init__(self) -> None:
        self.keys: dict[str, tuple[Any, str]] = {
            "rsa-1": (rsa_key(), "RS256"), "ec-1": (ec_key(), "ES256"),
        }  # fmt: skip
        self.hits: Counter[str] = Counter()
        self.user: dict[str, Any] = {"sub": "alice", "email": "alice@example.com"}
        # Claims forced into the next ID tokens (a wrong nonce, audience ...).
        self.id_token_overrides: dict[str, Any] = {}
        self.auth_methods: list[str] = ["client_secret_basic", "client_secret_post"]
        self.stall = 0.0
        self.last_authorize: dict[str, str] = {}
        self._codes: dict[str, dict[str, str]] = {}
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> IdP:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def token(self, claims: dict[str, Any], kid: str = "rsa-1") -> str:
        """A JWT from this issuer: its iss, fresh times, then ``claims``."""
        key, alg = self.keys[kid]
        return sign({"iss": self.url, **times(), **claims}, key, alg, kid)

    def rotate(self, kid: str) -> None:
        """Publish a new RSA key (the old ones stay), as a provider rotating keys."""
        self.keys[kid] = (rsa_key(kid), "RS256")

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.url,
            "authorization_endpoint": f"{self.url}/authorize",
            "token_endpoint": f"{self.url}/token",
            "jwks_uri": f"{self.url}/jwks",
            "response_types_supported": ["code", "id_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256", "ES256"],
            "token_endpoint_auth_methods_supported": self.auth_methods,
        }

    def jwks(self) -> dict[str, Any]:
        keys = []
        for kid, (key, alg) in self.keys.items():
            algorithm = jwt.algorithms.get_default_algorithms()[alg]
            jwk = json.loads(algorithm.to_jwk(key.public_key()))
            keys.append({**jwk, "kid": kid, "alg": alg, "use": "sig"})
        return {"keys": keys}

    def authorize(self, query: dict[str, str]) -> str:
        """Approve at once: a redirect to the client's redirect_uri with code and state."""
        self.last_authorize = query
        code = secrets.token_urlsafe(16)
        self._codes[code] = query
        target = {"code": code, "state": query.get("state", "")}
        return query["redirect_uri"] + "?" + urllib.parse.urlencode(target)

    def exchange(
        self, form: dict[str, str], basic: tuple[str, str] | None
    ) -> tuple[int, dict[str, Any]]:
        client = basic or (form.get("client_id"), form.get("client_secret"))
        if client != (CLIENT_ID, CLIENT_SECRET):
            return 401, {"error": "invalid_client"}
        asked = self._codes.pop(form.get("code", ""), None)
        if asked is None or asked.get("redirect_uri") != form.get("redirect_uri"):
            return 400, {"error": "invalid_grant"}
        verifier = form.get("code_verifier", "").encode()
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier).digest()).rstrip(b"=")
        if challenge.decode() != asked.get("code_challenge"):
            return 400, {"error": "invalid_grant"}
        claims = {"aud": CLIENT_ID, "nonce": asked.get("nonce"), **self.user,
                  **self.id_token_overrides}  # fmt: skip
        return 200, {"access_token": secrets.token_urlsafe(16), "token_type": "Bearer",
                     "id_token": self.token(claims)}  # fmt: skip


def _handler(idp: IdP) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # quiet
            return

        def do_GET(self) -> None:
            path, _, query = self.path.partition("?")
            idp.hits[path] += 1
            if idp.stall:
                time.sleep(idp.stall)
            if path == "/.well-known/openid-configuration":
                self._json(200, idp.discovery())
            elif path == "/jwks":
                self._json(200, idp.jwks())
            elif path == "/authorize":
                location = idp.authorize(dict(urllib.parse.parse_qsl(query)))
                self.send_response(302)
                self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()
            else:
                self._json(404, {"error": "not_found"})

        def do_POST(self) -> None:
            idp.hits[self.path] += 1
            length = int(self.headers.get("Content-Length", "0"))
            form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
            auth = self.headers.get("Authorization", "")
            basic = None
            if auth.startswith("Basic "):
                user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
                basic = (urllib.parse.unquote(user), urllib.parse.unquote(password))
            self._json(*idp.exchange(form, basic))

        def _json(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


def dead_url() -> tuple[str, socket.socket]:
    """A URL whose server accepts connections and never answers (keep the socket open)."""
    sink = socket.socket()
    sink.bind(("127.0.0.1", 0))
    sink.listen(8)
    return f"http://127.0.0.1:{sink.getsockname()[1]}", sink


@pytest.fixture
def idp() -> Iterator[IdP]:
    from chalicelib.auth.jwt.keys import forget_providers

    forget_providers()
    with IdP() as provider:
        yield provider
    forget_providers()
