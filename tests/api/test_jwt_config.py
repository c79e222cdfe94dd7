"""jwt config and roles: Vault's validation, what is shown, and a dead provider."""

from __future__ import annotations

import time

import pytest

from chalicelib.auth.jwt import fetch
from tests.idp_support import CLIENT_ID, CLIENT_SECRET, IdP, dead_url, idp, public_pem, rsa_key
from tests.support import VaultHTTP


@pytest.fixture(scope="module", name="vault")
def module_cluster(module_vault: VaultHTTP) -> VaultHTTP:
    """One cluster for the module's tests (each mounts its engine afresh)."""
    return module_vault


__all__ = ["idp"]  # a fixture the tests below take


@pytest.fixture
def jwt_mount(vault: VaultHTTP) -> VaultHTTP:
    vault.delete("sys/auth/jwt")  # the module's tests share a cluster
    assert vault.post("sys/auth/jwt", {"type": "jwt"}).status_code == 204
    return vault


def _error(reply) -> tuple[int, str]:
    return reply.status_code, reply.json()["errors"][0]


@pytest.mark.parametrize(
    ("config", "error"),
    [
        ({}, "exactly one of 'jwt_validation_pubkeys', 'jwks_url', 'jwks_pairs', "
             "'oidc_discovery_url', or 'provider_config' must be set"),
        ({"jwks_url": "http://x", "jwt_validation_pubkeys": "k"}, "exactly one of"),
        ({"jwt_validation_pubkeys": "not a key"}, "error parsing public key"),
        ({"jwt_validation_pubkeys": "PEM", "oidc_client_id": "c"},
         "both 'oidc_client_id' and 'oidc_client_secret' must be set for OIDC"),
        ({"jwt_validation_pubkeys": "PEM", "oidc_client_id": "c", "oidc_client_secret": "s"},
         "'oidc_discovery_url' must be set for OIDC"),
        ({"oidc_discovery_url": "http://x/.well-known/openid-configuration"},
         "'oidc_discovery_url' contains '.well-known' component"),
        ({"jwt_validation_pubkeys": "PEM", "jwt_supported_algs": "HS256"},
         'invalid jwt_supported_algs: unsupported signing algorithm "HS256"'),
        ({"jwt_validation_pubkeys": "PEM", "jwt_supported_algs": "none"},
         'invalid jwt_supported_algs: unsupported signing algorithm "none"'),
        ({"jwt_validation_pubkeys": "PEM", "oidc_response_types": "token"},
         "invalid response_types [token]. 'code' and 'id_token' are allowed"),
        ({"jwt_validation_pubkeys": "PEM", "oidc_response_types": "id_token"},
         "query response_mode may not be used with an id_token response_type"),
        ({"jwt_validation_pubkeys": "PEM", "oidc_response_mode": "fragment"},
         'invalid response_mode: "fragment"'),
        ({"jwks_url": "http://127.0.0.1:1/jwks", "jwks_ca_pem": "junk"},
         "error checking jwks_ca_pem"),
        ({"oidc_discovery_url": "http://127.0.0.1:1", "oidc_discovery_ca_pem": "junk"},
         "error checking oidc discovery URL: could not parse CA PEM value successfully"),
    ],
)  # fmt: skip
def test_config_validation(jwt_mount: VaultHTTP, config: dict, error: str) -> None:
    if config.get("jwt_validation_pubkeys") == "PEM":
        config = {**config, "jwt_validation_pubkeys": public_pem(rsa_key())}
    status, message = _error(jwt_mount.post("auth/jwt/config", config))
    assert status == 400
    assert message.startswith(error)


def test_config_read_hides_the_client_secret(jwt_mount: VaultHTTP, idp: IdP) -> None:
    assert jwt_mount.get("auth/jwt/config").status_code == 404
    config = {"oidc_discovery_url": idp.url, "oidc_client_id": CLIENT_ID,
              "oidc_client_secret": CLIENT_SECRET, "bound_issuer": idp.url}  # fmt: skip
    assert jwt_mount.post("auth/jwt/config", config).status_code == 204
    reply = jwt_mount.get("auth/jwt/config")
    assert CLIENT_SECRET not in reply.text
    data = reply.json()["data"]
    assert data["oidc_client_id"] == CLIENT_ID and data["namespace_in_state"] is True
    assert data["jwt_supported_algs"] == [] and data["status"] == "valid"
    assert idp.hits["/.well-known/openid-configuration"] == 1  # fetched to validate


def test_discovery_issuer_must_match(jwt_mount: VaultHTTP, idp: IdP) -> None:
    status, message = _error(jwt_mount.post("auth/jwt/config",
                                            {"oidc_discovery_url": idp.url + "/other"}))
    assert status == 400
    assert message.startswith("error checking oidc discovery URL: ")


def test_a_dead_provider_costs_its_timeout(
    jwt_mount: VaultHTTP, idp: IdP, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fetch, "TIMEOUT", 0.5)
    url, sink = dead_url()
    with sink:
        started = time.monotonic()
        status, message = _error(jwt_mount.post("auth/jwt/config", {"jwks_url": url}))
        assert time.monotonic() - started < 3
    assert (status, message) == (400, "error checking jwks URL")
    # skip_jwks_validation stores it anyway, with a warning (as OpenBao).
    reply = jwt_mount.post("auth/jwt/config", {"jwks_url": url, "skip_jwks_validation": True})
    assert reply.json()["warnings"] == ["error checking jwks URL"]
    # A provider that stalls after the config was stored: a login fails fast and clearly.
    assert jwt_mount.post("auth/jwt/config", {"oidc_discovery_url": idp.url}).status_code == 204
    jwt_mount.post("auth/jwt/role/r", {"role_type": "jwt", "user_claim": "sub",
                                       "bound_subject": "a"})  # fmt: skip
    idp.stall = 2
    started = time.monotonic()
    reply = jwt_mount.post("auth/jwt/login", {"role": "r", "jwt": idp.token({"sub": "a"})})
    assert time.monotonic() - started < 3
    assert reply.status_code == 400
    assert reply.json()["errors"][0].startswith("error contacting http://127.0.0.1:")


def test_role_crud_and_defaults(jwt_mount: VaultHTTP) -> None:
    jwt_mount.post("auth/jwt/config", {"jwt_validation_pubkeys": public_pem(rsa_key())})
    role = {"role_type": "jwt", "user_claim": "sub", "bound_audiences": "a,b",
            "bound_claims": {"/nested/team": ["x", "y"]}, "policies": "old",
            "ttl": "1h", "claim_mappings": "email=mail"}  # fmt: skip
    assert jwt_mount.post("auth/jwt/role/CI", role).status_code == 204
    data = jwt_mount.get("auth/jwt/role/ci").json()["data"]
    assert data["role_type"] == "jwt" and data["bound_audiences"] == ["a", "b"]
    assert data["bound_claims"] == {"/nested/team": ["x", "y"]}
    assert data["claim_mappings"] == {"email": "mail"}
    assert data["token_policies"] == ["old"] and data["policies"] == ["old"]
    assert data["token_ttl"] == 3600 and data["ttl"] == 3600
    assert data["bound_claims_type"] == "string" and data["callback_mode"] == "client"
    assert data["expiration_leeway"] == 0 and data["clock_skew_leeway"] == 0
    assert jwt_mount.list("auth/jwt/role").json()["data"]["keys"] == ["ci"]
    assert jwt_mount.delete("auth/jwt/role/ci").status_code == 204
    assert jwt_mount.get("auth/jwt/role/ci").status_code == 404
    assert jwt_mount.list("auth/jwt/role").status_code == 404


@pytest.mark.parametrize(
    ("role", "error"),
    [
        ({"role_type": "saml"}, "invalid 'role_type': saml"),
        ({}, "a user claim must be defined on the role"),
        ({"user_claim": "sub"},
         "'allowed_redirect_uris' must be set if 'role_type' is 'oidc' or unspecified."),
        ({"user_claim": "sub", "role_type": "jwt"},
         "must have at least one bound constraint when creating/updating a role"),
        ({"user_claim": "sub", "role_type": "jwt", "bound_subject": "s",
          "bound_claims_type": "regex"}, "invalid 'bound_claims_type': regex"),
        ({"user_claim": "sub", "role_type": "jwt", "bound_claims_type": "glob",
          "bound_claims": {"n": 1}}, "claim is not a string: 1"),
        ({"user_claim": "sub", "role_type": "jwt", "bound_claims_type": "glob",
          "bound_claims": {"n": {"a": "b"}}}, "claim is not a string or list: {'a': 'b'}"),
        ({"user_claim": "sub", "role_type": "jwt", "bound_subject": "s",
          "claim_mappings": {"a": "role"}},
         'metadata key "role" is reserved and may not be a mapping destination'),
        ({"user_claim": "sub", "role_type": "jwt", "bound_subject": "s",
          "claim_mappings": {"a": "x", "b": "x"}}, 'multiple keys are mapped to metadata key "x"'),
        ({"user_claim": "sub", "role_type": "jwt", "bound_subject": "s", "token_ttl": "2h",
          "token_max_ttl": "1h"}, "'token_ttl' cannot be greater than 'token_max_ttl'"),
    ],
)  # fmt: skip
def test_role_validation(jwt_mount: VaultHTTP, role: dict, error: str) -> None:
    assert _error(jwt_mount.post("auth/jwt/role/r", role)) == (400, error)


def test_verbose_logging_warns(jwt_mount: VaultHTTP) -> None:
    role = {"user_claim": "sub", "role_type": "jwt", "bound_subject": "s",
            "verbose_oidc_logging": True}  # fmt: skip
    warnings = jwt_mount.post("auth/jwt/role/r", role).json()["warnings"]
    assert warnings[0].startswith("verbose_oidc_logging has been enabled for this role.")
