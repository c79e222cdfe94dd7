"""JWT logins through hvac's ``client.auth.jwt``, against `lambdavault server -dev` and a
real `bao server -dev`: the same tokens, the same answers."""

from __future__ import annotations

import time

import hvac
import pytest
from hvac.exceptions import VaultError

from tests.compat.conftest import ROOT_TOKEN, Server
from tests.idp_support import ec_key, forge_hs256, public_pem, rsa_key, sign, times

pytestmark = pytest.mark.compat
ISSUER = "https://kubernetes.default.svc.cluster.local"


def _admin(server: Server) -> tuple[hvac.Client, str]:
    client = hvac.Client(url=server.address, token=ROOT_TOKEN)
    if "jwt/" in client.sys.list_auth_methods()["data"]:
        client.sys.disable_auth_method("jwt")  # the OpenBao server is shared
    client.sys.enable_auth_method("jwt")
    accessor = client.sys.list_auth_methods()["data"]["jwt/"]["accessor"]
    return client, accessor


def _claims(**changes: object) -> dict:
    claims = {"iss": ISSUER, "aud": "vault", "sub": "system:serviceaccount:apps:web",
              "groups": ["dev"], "email": "web@apps", **times(), **changes}  # fmt: skip
    return {k: v for k, v in claims.items() if v is not None}


BAD_TOKENS = {
    "expired": lambda: sign(_claims(exp=int(time.time()) - 600), rsa_key()),
    "audience": lambda: sign(_claims(aud="other"), rsa_key()),
    "issuer": lambda: sign(_claims(iss="https://evil"), rsa_key()),
    "alg-none": lambda: sign(_claims(), None, "none"),
    "hs256-confusion": lambda: forge_hs256(_claims(), public_pem(rsa_key()).encode()),
    "other-key": lambda: sign(_claims(), rsa_key("other")),
    "malformed": lambda: "a.b.c",
    "no-groups": lambda: sign(_claims(groups=None), rsa_key()),
    "es256-not-configured": lambda: sign(_claims(), ec_key(), "ES256"),
    # The leeways: 0 means cap's default of 150 s, and a missing exp is iat + that.
    "expired-within-skew": lambda: sign(_claims(exp=int(time.time()) - 100), rsa_key()),
    "no-exp-recent-iat": lambda: sign(_claims(exp=None, nbf=None, iat=int(time.time()) - 200),
                                      rsa_key()),
    "no-exp-old-iat": lambda: sign(_claims(exp=None, nbf=None, iat=int(time.time()) - 400),
                                   rsa_key()),
    "not-yet-within-skew": lambda: sign(_claims(nbf=int(time.time()) + 100,
                                                iat=int(time.time()) + 100), rsa_key()),
}


def _session(server: Server) -> dict:
    admin, accessor = _admin(server)
    admin.auth.jwt.configure(jwt_validation_pubkeys=[public_pem(rsa_key())],
                             jwt_supported_algs=["RS256"], bound_issuer=ISSUER, path="jwt")
    group = admin.secrets.identity.create_or_update_group(
        "dev", group_type="external", policies=["dev-policy"])["data"]["id"]
    admin.secrets.identity.create_or_update_group_alias(
        "dev", mount_accessor=accessor, canonical_id=group)
    admin.auth.jwt.create_role(
        "apps", user_claim="sub", allowed_redirect_uris=[], role_type="jwt",
        bound_audiences=["vault"], groups_claim="groups", claim_mappings={"email": "mail"},
        token_policies=["app"], token_ttl="1h", path="jwt",
    )
    user = hvac.Client(url=server.address)
    auth = user.auth.jwt.jwt_login("apps", sign(_claims(), rsa_key()), path="jwt")["auth"]
    assert user.is_authenticated()
    refused = {}
    for name, token in BAD_TOKENS.items():
        try:
            hvac.Client(url=server.address).auth.jwt.jwt_login("apps", token(), path="jwt")
            refused[name] = "accepted"
        except VaultError as error:
            # Go's base64 error text for a malformed token is not ours to copy.
            refused[name] = (type(error).__name__, name == "malformed" or error.errors)
    try:
        hvac.Client(url=server.address).auth.jwt.jwt_login("nope", "x", path="jwt")
    except VaultError as error:
        refused["unknown-role"] = f"{type(error).__name__}: {error.errors}"
    role = admin.auth.jwt.read_role("apps", path="jwt")["data"]
    return {
        "policies": auth["policies"], "token_policies": auth["token_policies"],
        "identity_policies": auth.get("identity_policies"), "metadata": auth["metadata"],
        "lease_duration": auth["lease_duration"], "renewable": auth["renewable"],
        "refused": refused,
        "role": {k: role[k] for k in ("role_type", "bound_audiences", "user_claim",
                                      "groups_claim", "claim_mappings", "token_ttl",
                                      "expiration_leeway", "clock_skew_leeway",
                                      "bound_claims_type", "callback_mode")},
        "config_keys": sorted(admin.auth.jwt.read_config(path="jwt")["data"]),
    }  # fmt: skip


def test_hvac_jwt_login_matches_openbao(dev_server: Server, openbao_dev: Server) -> None:
    ours, theirs = _session(dev_server), _session(openbao_dev)
    assert ours == theirs
