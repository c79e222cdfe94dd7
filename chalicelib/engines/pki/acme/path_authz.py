"""``authorization/<id>`` and ``challenge/<id>/<type>`` (RFC 8555 sections 7.5 and 7.5.1):
answering a challenge validates it within the same request (see challenges.py)."""

from __future__ import annotations

from typing import Any

from chalicelib.engines.pki.acme import challenges, state
from chalicelib.engines.pki.acme.context import (
    AcmeContext,
    Reply,
    Signed,
    acme_paths,
    require_account,
)
from chalicelib.engines.pki.acme.problems import AcmeProblem, malformed
from chalicelib.framework import Path


def challenge_body(ctx: AcmeContext, authz: state.Authorization,
                   challenge: dict[str, Any]) -> dict[str, Any]:
    body = {"type": challenge["type"], "url": ctx.url("challenge", authz.id, challenge["type"]),
            "status": challenge["status"], "token": challenge["token"]}
    if challenge.get("validated"):
        body["validated"] = state.rfc3339(challenge["validated"])
    if challenge.get("error"):
        body["error"] = challenge["error"]
    return body


def authorization_body(ctx: AcmeContext, authz: state.Authorization) -> dict[str, Any]:
    body: dict[str, Any] = {
        "identifier": authz.identifier,
        "status": authz.status,
        "expires": state.rfc3339(authz.expires),
        "challenges": [challenge_body(ctx, authz, c) for c in authz.challenges],
    }
    body["wildcard"] = authz.wildcard
    return body


def current(authz: state.Authorization) -> state.Authorization:
    """A pending or valid authorization past its expiry reads as expired."""
    if authz.status in ("pending", "valid") and authz.expires <= state.now():
        authz.status = "expired"
    return authz


def acme_authorization(ctx: AcmeContext, signed: Signed) -> Reply:
    account = require_account(ctx, signed)
    authz = current(state.load_authorization(ctx.view, account.kid, ctx.data["auth_id"]))
    status = signed.payload.get("status")
    if status is not None:
        if status != "deactivated":
            raise malformed(f"unsupported authorization status: {status}")
        if authz.status not in ("pending", "valid"):
            raise malformed(f"cannot deactivate an authorization in status {authz.status}")
        authz.status = "deactivated"
        state.save_authorization(ctx.view, authz)
    return Reply(authorization_body(ctx, authz))


def acme_challenge(ctx: AcmeContext, signed: Signed) -> Reply:
    account = require_account(ctx, signed)
    authz = current(state.load_authorization(ctx.view, account.kid, ctx.data["auth_id"]))
    kind = ctx.data["challenge_type"]
    challenge = next((c for c in authz.challenges if c["type"] == kind), None)
    if challenge is None:
        raise malformed(f"unknown challenge of type '{kind}' in authorization")
    if authz.status == "pending" and challenge["status"] == "pending":
        _validate(ctx, account, authz, challenge)
    up = f'<{ctx.url("authorization", authz.id)}>;rel="up"'
    return Reply(challenge_body(ctx, authz, challenge), headers={"Link": up})


def _validate(ctx: AcmeContext, account: state.Account, authz: state.Authorization,
              challenge: dict[str, Any]) -> None:
    expected = challenges.key_authorization(challenge["token"], account.thumbprint)
    target = challenges.Target(authz.identifier["type"], authz.identifier["value"],
                               ctx.config.dns_resolver)
    try:
        challenges.VALIDATORS[challenge["type"]](target, challenge["token"], expected)
    except AcmeProblem as error:
        challenge["status"], authz.status = "invalid", "invalid"
        challenge["error"] = error.document()
    else:
        challenge["status"], authz.status = "valid", "valid"
        challenge["validated"] = state.now()
    state.save_authorization(ctx.view, authz)


def paths() -> list[Path]:
    return [
        *acme_paths("authorization/{auth_id}", acme_authorization),
        *acme_paths("challenge/{auth_id}/{challenge_type}", acme_challenge),
    ]
