"""oidc/auth_url and oidc/callback: the OIDC authorization-code flow with PKCE, as
OpenBao's path_oidc.go in its default ("client") callback mode."""

from __future__ import annotations

import base64
import hashlib
import logging
import time
import urllib.parse
from typing import Any

from chalicelib.auth.jwt import oidc_state
from chalicelib.auth.jwt.config import (
    CONFIG_KEY,
    MODE_FORM_POST,
    RESPONSE_CODE,
    RESPONSE_ID_TOKEN,
    StoredConfig,
    require,
)
from chalicelib.auth.jwt.fetch import post_form
from chalicelib.auth.jwt.keys import provider_for
from chalicelib.auth.jwt.login import auth_for, check_cidrs, expected_for, role_for, verify
from chalicelib.auth.jwt.roles import Role, load
from chalicelib.auth.jwt.validate import DEFAULT_CLOCK_SKEW, leeway
from chalicelib.core.errors import BadRequest
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.framework import Field, FieldData, FieldType, Path
from chalicelib.framework.storage import view_of

logger = logging.getLogger(__name__)
FAILED = "OpenBao login failed."
_LOOPBACK = ("localhost", "127.0.0.1", "::1")
# The provider errors OpenBao repeats to the client; any other reads as unknown.
_OIDC_ERRORS = ("invalid_request", "unauthorized_client", "access_denied",
                "unsupported_response_type", "invalid_scope", "server_error",
                "temporarily_unavailable")  # fmt: skip
_UNKNOWN_ERROR = (
    "An unknown error occurred during OIDC authentication. Check server logs for details"
)


def path_auth_url(request: Request, data: FieldData) -> Response:
    view = view_of(request)
    stored = require(view)
    config = stored.config
    if not config.oidc_flow:
        raise BadRequest("OIDC login is not configured for this mount")
    name, role = role_for(view, stored, data["role"])
    redirect_uri = data["redirect_uri"]
    if not redirect_uri:
        raise BadRequest("missing redirect_uri")
    if not valid_redirect(redirect_uri, role.allowed_redirect_uris):
        # As OpenBao: an empty URL, and the reason in the server log only.
        logger.warning("unauthorized redirect_uri for role %s", name)
        return Response(data={"auth_url": ""})
    if config.oidc_response_mode == MODE_FORM_POST:
        redirect_uri = redirect_uri.replace("ui/vault", "v1", 1)
    endpoint = provider_for(stored).discovery().get("authorization_endpoint")
    if not isinstance(endpoint, str):
        raise BadRequest("the discovery document names no authorization_endpoint")
    state, pending = oidc_state.create(view, name, redirect_uri, data["client_nonce"])
    params = {
        "client_id": config.oidc_client_id,
        "redirect_uri": redirect_uri,
        "response_type": RESPONSE_ID_TOKEN if config.has_type(RESPONSE_ID_TOKEN) else "code",
        "scope": " ".join(dict.fromkeys(["openid", *role.oidc_scopes])),
        "state": state,
        "nonce": pending.nonce,
    }
    if params["response_type"] == RESPONSE_CODE:
        digest = hashlib.sha256(pending.code_verifier.encode()).digest()
        params["code_challenge"] = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        params["code_challenge_method"] = "S256"
    if config.oidc_response_mode:
        params["response_mode"] = config.oidc_response_mode
    if role.max_age:
        params["max_age"] = str(role.max_age)
    joiner = "&" if "?" in endpoint else "?"
    return Response(data={"auth_url": endpoint + joiner + urllib.parse.urlencode(params)})


def valid_redirect(uri: str, allowed: tuple[str, ...]) -> bool:
    """OpenBao's validRedirect: exact match, except that a loopback URI may use any port
    (RFC 8252: the CLI picks its own)."""
    try:
        parsed = urllib.parse.urlsplit(uri)
        if parsed.hostname not in _LOOPBACK:
            return uri in allowed
        wanted = _without_port(parsed)
        return any(_without_port(urllib.parse.urlsplit(a)) == wanted for a in allowed)
    except ValueError:
        return False


def _without_port(parts: urllib.parse.SplitResult) -> urllib.parse.SplitResult:
    host = parts.hostname or ""
    return parts._replace(netloc=f"[{host}]" if ":" in host else host)


def path_callback(request: Request, data: FieldData) -> Response:
    view = view_of(request)
    stored = require(view, f"{FAILED} Could not load configuration")
    if request.operation != Operation.READ and stored.config.oidc_response_mode != MODE_FORM_POST:
        return Response(status=405)  # OpenBao: a bare 405
    pending = oidc_state.consume(view, data["state"])
    if pending is None:
        raise BadRequest(f"{FAILED} Expired or missing OAuth state.")
    role = load(view, pending.role)
    if role is None:
        raise BadRequest(f"{FAILED} Role could not be found")
    error = data["error"].strip().lower()
    if error:
        shown = error if error in _OIDC_ERRORS else _UNKNOWN_ERROR
        logger.warning("OIDC provider refused the login for role %s: %s", pending.role, shown)
        raise BadRequest(f"{FAILED} {shown}")
    if pending.client_nonce and data["client_nonce"] != pending.client_nonce:
        raise BadRequest("invalid client_nonce")
    check_cidrs(request, role)
    claims = _id_token_claims(stored, role, pending, data)
    if claims.get("nonce") != pending.nonce:
        raise BadRequest(f"{FAILED} invalid ID token nonce.")
    if role.bound_subject and role.bound_subject != claims.get("sub"):
        raise BadRequest(f"{FAILED} sub claim does not match bound subject")
    try:
        auth = auth_for(claims, pending.role, role)
    except BadRequest as failed:
        raise BadRequest(f"{FAILED} {failed.message}") from None
    return Response(login=auth)


def _id_token_claims(
    stored: StoredConfig, role: Role, pending: oidc_state.PendingLogin, data: FieldData
) -> dict[str, Any]:
    """The verified claims of the ID token: exchanged for the code (with the client
    secret and the PKCE verifier), or sent directly (the id_token response type)."""
    code = data["code"]
    prefix = f"{FAILED} Error exchanging oidc code: "
    if code:
        id_token = _exchange(stored, pending, code)
    elif data["id_token"] and stored.config.has_type(RESPONSE_ID_TOKEN):
        # Only where the id_token response type is configured: elsewhere a bare ID token
        # would skip the code exchange and its PKCE proof.
        id_token, prefix = data["id_token"], "Token verification failed. "
    else:
        raise BadRequest(f"{FAILED} No code or id_token received.")
    config = stored.config
    expected = expected_for(
        stored, role,
        algorithms=config.oidc_algorithms,
        issuer=provider_for(stored).discovery()["issuer"],
        subject="",  # checked after, with OpenBao's own text
        audiences=role.bound_audiences or (config.oidc_client_id,),
    )  # fmt: skip
    claims = verify(stored, id_token, expected, prefix=prefix)
    if role.max_age:
        auth_time = claims.get("auth_time")
        skew = leeway(role.clock_skew_leeway, DEFAULT_CLOCK_SKEW)
        if not isinstance(auth_time, int | float) or (
            time.time() - skew > auth_time + role.max_age
        ):
            raise BadRequest(f"{prefix}auth_time is missing or older than max_age")
    return claims


def _exchange(stored: StoredConfig, pending: oidc_state.PendingLogin, code: str) -> str:
    config = stored.config
    discovery = provider_for(stored).discovery()
    endpoint = discovery.get("token_endpoint")
    if not isinstance(endpoint, str):
        raise BadRequest(f"{FAILED} the discovery document names no token_endpoint")
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": pending.redirect_uri,
        "code_verifier": pending.code_verifier,
    }
    methods = discovery.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
    basic = None
    if "client_secret_basic" in methods:
        basic = (config.oidc_client_id, config.oidc_client_secret)
    else:
        form.update(client_id=config.oidc_client_id, client_secret=config.oidc_client_secret)
    try:
        answer = post_form(endpoint, form, config.oidc_discovery_ca_pem, basic)
    except BadRequest as failed:
        raise BadRequest(f'{FAILED} Error exchanging oidc code: "{failed.message}".') from None
    id_token = answer.get("id_token")
    if not isinstance(id_token, str) or not id_token:
        raise BadRequest(f'{FAILED} Error exchanging oidc code: "id_token is missing from '
                         'the token response".')
    return id_token


def paths() -> list[Path]:
    text = Field(FieldType.STRING, "")
    return [
        Path(
            "oidc/auth_url",
            {Operation.UPDATE: path_auth_url},
            {"role": Field(FieldType.LOWERCASE_STRING, ""), "redirect_uri": text,
             "client_nonce": text},
            prefetch=lambda captures: [CONFIG_KEY],
        ),
        Path(
            "oidc/callback",
            {Operation.READ: path_callback, Operation.UPDATE: path_callback},
            {name: text for name in ("state", "code", "id_token", "client_nonce", "error",
                                     "error_description", "error_uri")},
            prefetch=lambda captures: [CONFIG_KEY],
            side_effects=True,  # a GET completes the login
        ),
    ]
