"""jwt login: signature sources, the security checks, claims, and external groups."""

from __future__ import annotations

import time
from collections import Counter

import pytest

from chalicelib.auth.jwt import keys
from tests.idp_support import IdP, ec_key, forge_hs256, idp, public_pem, rsa_key, sign, times
from tests.support import VaultHTTP


@pytest.fixture(scope="module", name="vault")
def module_cluster(module_vault: VaultHTTP) -> VaultHTTP:
    """One cluster for the module's tests (each mounts its engine afresh)."""
    return module_vault


__all__ = ["idp"]  # a fixture the tests below take


def _setup(vault: VaultHTTP, config: dict, role: dict | None = None, name: str = "ci") -> None:
    vault.delete("sys/auth/jwt")  # the module's tests share a cluster
    assert vault.post("sys/auth/jwt", {"type": "jwt"}).status_code == 204
    reply = vault.post("auth/jwt/config", config)
    assert reply.status_code == 204, reply.text
    if role is not None:
        body = {"role_type": "jwt", "user_claim": "sub", **role}
        reply = vault.post(f"auth/jwt/role/{name}", body)
        assert reply.status_code in (200, 204), reply.text


def _login(vault: VaultHTTP, token: str, role: str = "ci") -> tuple[int, dict]:
    reply = vault.post("auth/jwt/login", {"role": role, "jwt": token}, token="")
    return reply.status_code, reply.json()


def test_pubkey_login_gives_a_token_with_role_metadata(vault: VaultHTTP) -> None:
    _setup(vault, {"jwt_validation_pubkeys": [public_pem(rsa_key())], "bound_issuer": "k8s"},
           {"bound_audiences": "vault", "token_policies": "app", "token_ttl": "1h",
            "claim_mappings": {"email": "mail"}})  # fmt: skip
    token = sign({"iss": "k8s", "aud": "vault", "sub": "svc", "email": "s@x", **times()},
                 rsa_key())  # fmt: skip
    status, body = _login(vault, token)
    assert status == 200, body
    auth = body["auth"]
    assert auth["policies"] == ["app", "default"]
    assert auth["metadata"] == {"role": "ci", "mail": "s@x"}
    assert auth["lease_duration"] == 3600
    looked = vault.get("auth/token/lookup-self", token=auth["client_token"]).json()["data"]
    assert looked["display_name"] == "jwt-svc"
    alias = vault.get(f"identity/entity/id/{auth['entity_id']}").json()["data"]["aliases"][0]
    assert alias["name"] == "svc" and alias["metadata"] == {"role": "ci", "mail": "s@x"}


def test_unset_algorithms_accept_every_asymmetric_one(vault: VaultHTTP) -> None:
    """As OpenBao's login: no jwt_supported_algs means RS*, PS*, ES* and EdDSA alike; a
    configured list narrows it."""
    key = ec_key()
    _setup(vault, {"jwt_validation_pubkeys": public_pem(key), "bound_issuer": "iss"},
           {"bound_audiences": "vault"})  # fmt: skip
    assert _login(vault, sign(_claims(), key, "ES256"))[0] == 200
    narrowed = {"jwt_validation_pubkeys": public_pem(key), "jwt_supported_algs": "RS256"}
    assert vault.post("auth/jwt/config", narrowed).status_code == 204
    status, body = _login(vault, sign(_claims(iss=None), key, "ES256"))
    assert status == 400 and "no known key successfully validated" in body["errors"][0]


def test_jwks_url_with_es256_and_key_rotation(
    vault: VaultHTTP, idp: IdP, monkeypatch: pytest.MonkeyPatch
) -> None:
    _setup(vault, {"jwks_url": f"{idp.url}/jwks", "jwt_supported_algs": "RS256,ES256"},
           {"bound_audiences": "vault"})  # fmt: skip
    assert _login(vault, idp.token({"sub": "a", "aud": "vault"}, kid="ec-1"))[0] == 200
    assert _login(vault, idp.token({"sub": "a", "aud": "vault"}))[0] == 200
    fetched = idp.hits["/jwks"]
    idp.rotate("rsa-2")
    # A new kid refetches the JWKS once the refetch interval has passed.
    monkeypatch.setattr(keys, "REFETCH_INTERVAL", 0)
    status, body = _login(vault, idp.token({"sub": "a", "aud": "vault"}, kid="rsa-2"))
    assert status == 200, body
    assert idp.hits["/jwks"] == fetched + 1


def test_unknown_kids_refetch_at_most_once_per_interval(vault: VaultHTTP, idp: IdP) -> None:
    _setup(vault, {"jwks_url": f"{idp.url}/jwks"}, {"bound_audiences": "vault"})
    assert _login(vault, idp.token({"sub": "a", "aud": "vault"}))[0] == 200
    fetched = idp.hits["/jwks"]
    for n in range(5):
        forged = sign({"iss": idp.url, "sub": "a", "aud": "vault", **times()},
                      rsa_key("forged"), kid=f"forged-{n}")  # fmt: skip
        status, body = _login(vault, forged)
        assert status == 400
        assert "failed to verify id token signature" in body["errors"][0]
    assert idp.hits["/jwks"] == fetched


def test_outbound_calls_per_login(vault: VaultHTTP, idp: IdP) -> None:
    _setup(vault, {"oidc_discovery_url": idp.url}, {"bound_audiences": "vault"})
    assert sum(idp.hits.values()) == 1  # the config write checked discovery
    token = idp.token({"sub": "a", "aud": "vault"})
    assert _login(vault, token)[0] == 200
    assert sum(idp.hits.values()) == 3  # a cold container: discovery, then the JWKS
    for _ in range(3):
        assert _login(vault, token)[0] == 200
    assert sum(idp.hits.values()) == 3  # warm: none


def test_a_config_write_drops_cached_keys(vault: VaultHTTP, idp: IdP) -> None:
    _setup(vault, {"jwks_url": f"{idp.url}/jwks"}, {"bound_audiences": "vault"})
    token = idp.token({"sub": "a", "aud": "vault"})
    assert _login(vault, token)[0] == 200
    assert _login(vault, token)[0] == 200
    fetched = idp.hits["/jwks"]
    assert vault.post("auth/jwt/config", {"jwks_url": f"{idp.url}/jwks"}).status_code == 204
    assert _login(vault, token)[0] == 200
    assert idp.hits["/jwks"] == fetched + 2  # the write's own check, then the new config's


@pytest.fixture
def pubkey_role(vault: VaultHTTP) -> None:
    _setup(vault, {"jwt_validation_pubkeys": public_pem(rsa_key()), "bound_issuer": "iss"},
           {"bound_audiences": "vault", "bound_subject": "svc"})  # fmt: skip


def _claims(**changes: object) -> dict:
    claims = {"iss": "iss", "aud": "vault", "sub": "svc", **times(), **changes}
    return {k: v for k, v in claims.items() if v is not None}


@pytest.mark.parametrize(
    ("token", "error"),
    [
        pytest.param(lambda: "not.a.jwt", "malformed token", id="malformed"),
        pytest.param(lambda: sign(_claims(), None, "none"), "no known key successfully validated",
                     id="alg-none"),
        # HS256 "signed" with the RSA public key as the secret: algorithm confusion.
        pytest.param(lambda: forge_hs256(_claims(), public_pem(rsa_key()).encode()),
                     "no known key successfully validated", id="hs256-with-public-key"),
        pytest.param(lambda: sign(_claims(), rsa_key("other")),
                     "no known key successfully validated", id="other-key"),
        pytest.param(lambda: sign(_claims(), ec_key(), "ES256"), "no known key",
                     id="es256-not-allowed"),
        pytest.param(lambda: sign(_claims(exp=int(time.time()) - 400), rsa_key()),
                     "token is expired", id="expired"),
        pytest.param(lambda: sign(_claims(nbf=int(time.time()) + 400,
                                          iat=int(time.time()) + 400), rsa_key()),
                     "token not yet valid", id="not-yet-valid"),
        pytest.param(lambda: sign(_claims(iss="evil"), rsa_key()), "invalid issuer",
                     id="issuer"),
        pytest.param(lambda: sign(_claims(aud="other"), rsa_key()), "invalid audience",
                     id="audience"),
        pytest.param(lambda: sign(_claims(sub="intruder"), rsa_key()), "invalid subject",
                     id="subject"),
        pytest.param(lambda: sign(_claims(iat=None, nbf=None, exp=None), rsa_key()),
                     "no issued at (iat)", id="no-times"),
    ],
)  # fmt: skip
def test_bad_tokens_are_refused(vault: VaultHTTP, pubkey_role: None, token, error) -> None:
    status, body = _login(vault, token())
    assert status == 400, body
    assert body["errors"][0].startswith("error validating token: ")
    assert error in body["errors"][0]


def test_leeways(vault: VaultHTTP, pubkey_role: None) -> None:
    late = _claims(exp=int(time.time()) - 30)
    assert _login(vault, sign(late, rsa_key()))[0] == 200  # within the default 60 s skew
    vault.post("auth/jwt/role/ci", {"role_type": "jwt", "user_claim": "sub",
                                    "bound_audiences": "vault", "clock_skew_leeway": -1})
    assert _login(vault, sign(late, rsa_key()))[0] == 400
    no_exp = _claims(exp=None, nbf=None, iat=int(time.time()) - 30)
    vault.post("auth/jwt/role/ci", {"role_type": "jwt", "user_claim": "sub",
                                    "bound_audiences": "vault", "expiration_leeway": 10,
                                    "clock_skew_leeway": 0})
    assert _login(vault, sign(no_exp, rsa_key()))[0] == 200  # exp = iat + 10 s, 60 s skew
    older = _claims(exp=None, nbf=None, iat=int(time.time()) - 100)
    assert _login(vault, sign(older, rsa_key()))[0] == 400


def test_audience_without_bound_audiences_is_refused(vault: VaultHTTP) -> None:
    _setup(vault, {"jwt_validation_pubkeys": public_pem(rsa_key())}, {"bound_subject": "svc"})
    status, body = _login(vault, sign(_claims(), rsa_key()))
    assert (status, body["errors"]) == (
        400, ["audience claim found in JWT but no audiences bound to the role"])
    assert _login(vault, sign(_claims(aud=None), rsa_key()))[0] == 200


def test_role_and_token_errors(vault: VaultHTTP, pubkey_role: None) -> None:
    assert _login(vault, "x", role="nope") == (400, {"errors": ['role "nope" could not be found']})
    assert _login(vault, "", role="ci") == (400, {"errors": ["missing token"]})
    assert _login(vault, "x", role="") == (400, {"errors": ["missing role"]})
    vault.post("auth/jwt/role/web", {"user_claim": "sub",
                                     "allowed_redirect_uris": "http://localhost:8250/x"})
    assert _login(vault, "x", role="web") == (
        400, {"errors": ["role with oidc role_type is not allowed"]})


def test_login_counts(vault: VaultHTTP, pubkey_role: None, calls: Counter[str]) -> None:
    token = sign(_claims(), rsa_key())
    assert _login(vault, token)[0] == 200
    calls.clear()
    assert _login(vault, token)[0] == 200
    # The config and the role ride in the first read; then the alias index and entity.
    # The token's transaction, then the markers of its accessor and lease folders (token
    # IDs are unlisted: no marker).
    assert calls == {"BatchGetItem": 1, "GetItem": 2, "TransactWriteItems": 1, "UpdateItem": 2}
