"""Claims at login: GitHub Actions and Kubernetes service-account tokens, bound claims,
JSON pointers, groups as external identity groups, and renewal."""

from __future__ import annotations

import pytest

from tests.idp_support import IdP, ec_key, idp, public_pem, rsa_key, sign, times
from tests.support import VaultHTTP

__all__ = ["idp"]  # a fixture the tests below take

GITHUB_AUD = "https://github.com/octo-org"
K8S_ISSUER = "https://kubernetes.default.svc.cluster.local"


def _login(vault: VaultHTTP, role: str, token: str) -> tuple[int, dict]:
    reply = vault.post("auth/jwt/login", {"role": role, "jwt": token}, token="")
    return reply.status_code, reply.json()


@pytest.fixture
def github(vault: VaultHTTP, idp: IdP) -> VaultHTTP:
    """GitHub Actions' OIDC tokens, its issuer played by the loopback provider."""
    vault.post("sys/auth/jwt", {"type": "jwt"})
    config = {"oidc_discovery_url": idp.url, "bound_issuer": idp.url}
    assert vault.post("auth/jwt/config", config).status_code == 204
    role = {"role_type": "jwt", "user_claim": "repository", "bound_audiences": GITHUB_AUD,
            "bound_claims_type": "glob",
            "bound_claims": {"sub": "repo:octo-org/*:ref:refs/heads/main",
                             "ref": ["refs/heads/main", "refs/tags/v*"]},
            "claim_mappings": {"repository": "repository", "ref": "ref"},
            "token_policies": "deploy", "token_ttl": "10m"}  # fmt: skip
    assert vault.post("auth/jwt/role/deploy", role).status_code == 204
    return vault


def _actions_token(idp: IdP, repository: str = "octo-org/app", ref: str = "refs/heads/main"):
    return idp.token({"aud": GITHUB_AUD, "sub": f"repo:{repository}:ref:{ref}",
                      "repository": repository, "repository_owner": repository.split("/")[0],
                      "ref": ref, "workflow": "deploy", "actor": "octocat",
                      "job_workflow_ref": f"{repository}/.github/workflows/d.yml@{ref}"})


def test_github_actions_main_branch_logs_in(github: VaultHTTP, idp: IdP) -> None:
    status, body = _login(github, "deploy", _actions_token(idp))
    assert status == 200, body
    assert body["auth"]["metadata"] == {"role": "deploy", "repository": "octo-org/app",
                                        "ref": "refs/heads/main"}
    assert body["auth"]["policies"] == ["default", "deploy"]
    assert body["auth"]["lease_duration"] == 600


@pytest.mark.parametrize(
    ("repository", "ref", "claim"),
    [("octo-org/app", "refs/heads/feature", "sub"), ("evil-org/app", "refs/heads/main", "sub")],
)
def test_github_actions_other_refs_are_refused(
    github: VaultHTTP, idp: IdP, repository: str, ref: str, claim: str
) -> None:
    status, body = _login(github, "deploy", _actions_token(idp, repository, ref))
    assert status == 400
    assert body["errors"] == [f'error validating claims: claim "{claim}" does not match any '
                              "associated bound claim values"]


def _k8s_claims(namespace: str = "apps", name: str = "web") -> dict:
    return {"iss": K8S_ISSUER, "aud": [K8S_ISSUER], **times(),
            "sub": f"system:serviceaccount:{namespace}:{name}",
            "kubernetes.io": {"namespace": namespace,
                              "serviceaccount": {"name": name, "uid": "u-1"},
                              "pod": {"name": "web-0", "uid": "p-1"}}}  # fmt: skip


K8S_ROLE = {"role_type": "jwt", "bound_audiences": K8S_ISSUER,
            "user_claim": "/kubernetes.io/serviceaccount/name", "user_claim_json_pointer": True,
            "bound_claims": {"/kubernetes.io/namespace": "apps"},
            "claim_mappings": {"/kubernetes.io/namespace": "namespace"},
            "token_policies": "apps"}  # fmt: skip


def test_kubernetes_service_accounts_by_public_key(vault: VaultHTTP) -> None:
    vault.post("sys/auth/jwt", {"type": "jwt"})
    config = {"jwt_validation_pubkeys": public_pem(ec_key()), "jwt_supported_algs": "ES256",
              "bound_issuer": K8S_ISSUER}  # fmt: skip
    assert vault.post("auth/jwt/config", config).status_code == 204
    assert vault.post("auth/jwt/role/apps", K8S_ROLE).status_code == 204
    status, body = _login(vault, "apps", sign(_k8s_claims(), ec_key(), "ES256"))
    assert status == 200, body
    assert body["auth"]["metadata"] == {"role": "apps", "namespace": "apps"}
    entity = vault.get(f"identity/entity/id/{body['auth']['entity_id']}").json()["data"]
    assert entity["aliases"][0]["name"] == "web"
    status, body = _login(vault, "apps", sign(_k8s_claims("kube-system"), ec_key(), "ES256"))
    assert status == 400
    assert "claim \"/kubernetes.io/namespace\" does not match" in body["errors"][0]


def test_kubernetes_service_accounts_by_discovery(vault: VaultHTTP, idp: IdP) -> None:
    vault.post("sys/auth/jwt", {"type": "jwt"})
    assert vault.post("auth/jwt/config", {"oidc_discovery_url": idp.url}).status_code == 204
    assert vault.post("auth/jwt/role/apps", K8S_ROLE).status_code == 204
    claims = {**_k8s_claims(), "iss": idp.url}
    status, body = _login(vault, "apps", sign(claims, rsa_key(), kid="rsa-1"))
    assert status == 200, body


@pytest.fixture
def groups(vault: VaultHTTP) -> str:
    vault.post("sys/auth/jwt", {"type": "jwt"})
    vault.post("auth/jwt/config", {"jwt_validation_pubkeys": public_pem(rsa_key())})
    role = {"role_type": "jwt", "user_claim": "sub", "bound_subject": "alice",
            "groups_claim": "/org/teams", "bound_claims": {"admin": True}}  # fmt: skip
    assert vault.post("auth/jwt/role/people", role).status_code == 204
    accessor = vault.get("sys/auth").json()["data"]["jwt/"]["accessor"]
    for name in ("dev", "ops"):
        group = vault.post("identity/group", {"name": name, "type": "external",
                                              "policies": f"{name}-policy"}).json()["data"]
        vault.post("identity/group-alias", {"name": name, "mount_accessor": accessor,
                                            "canonical_id": group["id"]})  # fmt: skip
    return accessor


def _person(**changes: object) -> str:
    """Alice's token; a change to None drops the claim."""
    claims = {"sub": "alice", "admin": True, "org": {"teams": ["dev", "ops", ""]}, **times(),
              **changes}  # fmt: skip
    return sign({k: v for k, v in claims.items() if v is not None}, rsa_key())


def test_groups_claim_gives_identity_policies(vault: VaultHTTP, groups: str) -> None:
    status, body = _login(vault, "people", _person())
    assert status == 200, body
    assert body["auth"]["identity_policies"] == ["dev-policy", "ops-policy"]
    status, body = _login(vault, "people", _person(org={"teams": "dev"}))
    assert body["auth"]["identity_policies"] == ["dev-policy"]


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"org": {}}, 'failed to fetch groups: "/org/teams" claim not found in token'),
        ({"org": {"teams": {"a": 1}}}, '"/org/teams" claim could not be converted to string list'),
        ({"org": {"teams": [1]}}, "value 1 in groups claim could not be parsed as string"),
        ({"admin": "true"}, 'error validating claims: claim "admin" does not match any '
                            "associated bound claim values"),
        ({"admin": None}, 'error validating claims: claim "admin" is missing'),
        ({"sub": None}, "error validating token: invalid subject (sub) claim"),
    ],
)  # fmt: skip
def test_claim_errors(vault: VaultHTTP, groups: str, changes: dict, error: str) -> None:
    assert _login(vault, "people", _person(**changes)) == (400, {"errors": [error]})


def test_renewal_follows_the_role(vault: VaultHTTP, groups: str) -> None:
    token = _login(vault, "people", _person())[1]["auth"]["client_token"]
    assert vault.post("auth/token/renew-self", token=token).status_code == 200
    vault.delete("auth/jwt/role/people")
    reply = vault.post("auth/token/renew-self", token=token)
    assert reply.status_code == 400
    assert "role people does not exist during renewal" in reply.json()["errors"][0]
