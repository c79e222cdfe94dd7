"""login (a signed sts:GetCallerIdentity), and the renewal of the tokens it issues."""

from __future__ import annotations

from collections.abc import Mapping

from chalicelib.auth.aws import sts_request
from chalicelib.auth.aws.arns import ArnError, IamEntity, parse_arn
from chalicelib.auth.aws.binding import is_bound
from chalicelib.auth.aws.config import (
    CLIENT_KEY,
    DEFAULT_STS_ENDPOINT,
    IDENTITY_KEY,
    ClientConfig,
    IdentityConfig,
    load_client,
    load_identity,
)
from chalicelib.auth.aws.iam import IamError
from chalicelib.auth.aws.roles import Role, load, role_key
from chalicelib.auth.aws.sts_forward import CallerIdentity, caller_identity, regional_endpoint
from chalicelib.core.cidrs import address_in
from chalicelib.core.errors import BadRequest, PermissionDenied
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.framework import Field, FieldData, FieldType, Path
from chalicelib.framework.login import Auth, LoginRenewal
from chalicelib.framework.storage import view_of
from chalicelib.framework.tokenfields import TokenSettings
from chalicelib.policy.errors import go_quote
from chalicelib.settings import settings
from chalicelib.storage.view import StorageView

_LOGIN_FIELDS = {
    "role": Field(FieldType.STRING, ""),
    "iam_http_request_method": Field(FieldType.STRING, ""),
    "iam_request_url": Field(FieldType.STRING, ""),
    "iam_request_body": Field(FieldType.STRING, ""),
    "iam_request_headers": Field(FieldType.ANY, ""),
}


def path_login(request: Request, data: FieldData) -> Response:
    """OpenBao's pathLoginUpdateIam: STS names the caller, the role must bind it."""
    view = view_of(request)
    signed = sts_request.decode(data)
    config = load_client(view) or ClientConfig()
    endpoint = sts_endpoint(config, signed)
    sts_request.check(signed, config, endpoint)
    caller = caller_identity(endpoint, signed, config.max_retries)
    try:
        entity = parse_arn(caller.arn)
    except ArnError as error:
        raise BadRequest(f"error parsing arn {go_quote(caller.arn)}: {error}") from None
    name = data["role"] or entity.friendly_name
    role = load(view, name.lower())
    if role is None:
        raise BadRequest(f"entry for role {name} not found")
    if role.token.bound_cidrs and not address_in(request.remote_address, role.token.bound_cidrs):
        raise PermissionDenied()
    unique_id = caller.user_id.split(":", 1)[0]
    try:
        bound = is_bound(role, config, entity, unique_id)
    except IamError as error:
        raise BadRequest(
            f"error looking up full ARN of entity {entity.canonical_arn} when attempting login "
            f"for role {go_quote(name)}: {error}"
        ) from None
    if not bound:
        raise BadRequest(
            f"IAM Principal {go_quote(caller.arn)} does not belong to the role {go_quote(name)}"
        )
    return Response(login=_auth(name.lower(), role, caller, entity, load_identity(view)))


def sts_endpoint(config: ClientConfig, signed: sts_request.SignedRequest) -> str:
    """Where the request goes: the configured endpoint (else AWS_ENDPOINT_URL, the dev
    server's moto, else STS's global endpoint), or the region the client signed for."""
    if config.use_sts_region_from_client:
        return regional_endpoint(sts_request.client_region(signed))
    return config.sts_endpoint or settings().endpoint_url or DEFAULT_STS_ENDPOINT


def _auth(
    name: str, role: Role, caller: CallerIdentity, entity: IamEntity, identity: IdentityConfig
) -> Auth:
    unique_id = caller.user_id.split(":", 1)[0]
    aliases = {
        "role_id": role.role_id,
        "unique_id": unique_id,
        "full_arn": caller.arn,
        "canonical_arn": entity.canonical_arn,
    }
    available = {
        "client_arn": caller.arn,
        "canonical_arn": entity.canonical_arn,
        "client_user_id": unique_id,
        "auth_type": "iam",
        "account_id": entity.account_id,
    }
    wanted = {k: v for k, v in available.items() if v and k in identity.metadata_fields}
    display = entity.friendly_name
    if entity.type == "assumed-role":
        display = f"{entity.friendly_name}/{entity.session_info}"
    return Auth(
        alias_name=aliases[identity.iam_alias],
        token=role.token,
        metadata={"role_id": role.role_id, **wanted},
        display_name=display,
        alias_metadata=wanted,
        internal={
            "role_name": name,
            "role_id": role.role_id,
            "canonical_arn": entity.canonical_arn,
            "client_user_id": unique_id,
            "account_id": entity.account_id,
        },
    )


def renew_login(view: StorageView, renewal: LoginRenewal) -> TokenSettings:
    """OpenBao's pathLoginRenewIam: the role still exists and still binds the caller."""
    name = renewal.internal.get("role_name", "")
    if not name:
        raise BadRequest("error retrieving role_name during renewal")
    role = load(view, name)
    if role is None:
        raise BadRequest("role entry not found")
    canonical = renewal.internal.get("canonical_arn", "")
    refused = BadRequest(f"role {go_quote(name)} no longer bound to ARN {go_quote(canonical)}")
    try:
        entity = parse_arn(canonical)
        bound = is_bound(
            role, load_client(view) or ClientConfig(), entity,
            renewal.internal.get("client_user_id", ""),
        )  # fmt: skip
    except ArnError as error:
        raise BadRequest(f"error parsing ARN {go_quote(canonical)}: {error}") from None
    except IamError as error:
        raise BadRequest(
            f"error looking up full ARN of entity {canonical} when updating login for role "
            f"{go_quote(name)}: {error}"
        ) from None
    if not bound:
        raise refused
    return role.token


def _prefetch(lookahead: Mapping[str, str]) -> list[str]:
    # The configuration, and the role when the body names it (else STS's answer does).
    role = lookahead.get("role")
    return [CLIENT_KEY, IDENTITY_KEY, role_key(role)] if role else [CLIENT_KEY, IDENTITY_KEY]


def paths() -> list[Path]:
    return [Path("login", {Operation.UPDATE: path_login}, _LOGIN_FIELDS, prefetch=_prefetch)]
