"""`creds/<name>` and `sts/<name>` (read, or write with parameters): a new credential of
the role's type, leased.

iam_user leases take config/lease's TTL and maximum (0: the mount's) and are renewable;
STS leases last exactly as long as the STS credential.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from chalicelib.core.errors import BadRequest
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.engines.aws import config as stored
from chalicelib.engines.aws import sts
from chalicelib.engines.aws.clients import iam_client, sts_client
from chalicelib.engines.aws.iam_user import create_user
from chalicelib.engines.aws.role import (
    ASSUMED_ROLE,
    FEDERATION_TOKEN,
    IAM_USER,
    ROLE_PREFIX,
    SESSION_TOKEN,
    Role,
    read_role,
)
from chalicelib.engines.aws.secret import SECRET_TYPE
from chalicelib.engines.aws.usernames import generate, normalize
from chalicelib.framework import Field, FieldData, FieldType, Path
from chalicelib.framework.storage import view_of
from chalicelib.leases.secret import Secret
from chalicelib.system.mount_config import effective_ttls

DEFAULT_STS_TTL = 3600


def _credential_type(role: Role, via_sts_path: bool) -> str:
    types = role.credential_types or []
    if len(types) == 1:
        chosen = types[0]
    else:
        # Only upgraded legacy roles hold two types (iam_user and federation_token):
        # the path decides between them.
        chosen = FEDERATION_TOKEN if via_sts_path else IAM_USER
        if chosen not in types:
            raise BadRequest(
                f'requested credential type "{chosen}" not in allowed credential types'
                f" {', '.join(types)}"
            )
    if role.prohibit_flexible_cred_path:
        if chosen == IAM_USER and via_sts_path:
            raise BadRequest(
                f"attempted to retrieve {IAM_USER} credentials through the sts path; "
                "this is not allowed for legacy roles"
            )
        if chosen != IAM_USER and not via_sts_path:
            raise BadRequest(
                f"attempted to retrieve {chosen} credentials through the creds path; "
                "this is not allowed for legacy roles"
            )
    return chosen


def _sts_ttl(request: Request, data: FieldData, role: Role) -> int:
    """The requested TTL, else the role's default, else an hour; capped by the role's
    maximum or the mount's."""
    ttl = data["ttl"] if data.is_set("ttl") else role.default_sts_ttl or DEFAULT_STS_TTL
    assert request.mount is not None
    return min(ttl, role.max_sts_ttl or effective_ttls(request.mount)[1])


def prefetch_creds(captures: Mapping[str, str]) -> Sequence[str]:
    """Everything a credential read may look up, for the pipeline's first round trip."""
    return [ROLE_PREFIX + captures["name"], stored.ROOT_KEY, stored.LEASE_KEY]


def path_creds_read(request: Request, data: FieldData) -> Response:
    view = view_of(request)
    name = data["name"]
    role = read_role(view, name)
    if role is None:
        raise BadRequest(f'Role "{name}" not found')
    kind = _credential_type(role, request.relative_path.startswith("sts/"))
    config = stored.read_root(view)
    if kind == IAM_USER:
        return _iam_user(request, config, role, name)
    ttl = _sts_ttl(request, data, role)
    if kind == SESSION_TOKEN:
        return sts.session_token(
            sts_client(config), serial_number=role.mfa_serial_number,
            mfa_code=data["mfa_code"], ttl=ttl,
        )
    document, arns = sts.scoped_policies(config, role)
    if kind == ASSUMED_ROLE:
        return sts.assume_role(
            sts_client(config), role_arn=_role_arn(role, name, data["role_arn"]),
            session_name=_session_name(request, config, name, data["role_session_name"]),
            document=document, arns=arns, ttl=ttl,
        )
    return sts.federation_token(
        sts_client(config), name=generate(config.username_template, sts=True),
        document=document, arns=arns, ttl=ttl,
    )


def _role_arn(role: Role, name: str, requested: str) -> str:
    allowed = role.role_arns or []
    if not requested:
        if len(allowed) != 1:
            raise BadRequest("did not supply a role_arn parameter and unable to determine one")
        return allowed[0]
    if requested not in allowed:
        raise BadRequest(f'role_arn "{requested}" not in allowed role arns for Vault role "{name}"')
    return requested


def _session_name(request: Request, config: stored.RootConfig, name: str, given: str) -> str:
    if given:
        return normalize(given)
    # Vault names an assumed role's session like an IAM user (64 characters allowed).
    return generate(config.username_template, sts=False, display_name=_display_name(request),
                    policy_name=name)


def _display_name(request: Request) -> str:
    return request.token.display_name if request.token else ""


def _iam_user(request: Request, config: stored.RootConfig, role: Role, name: str) -> Response:
    username = generate(
        config.username_template, sts=False, display_name=_display_name(request), policy_name=name
    )
    # Read before the user exists: a failure after CreateUser would leave it to be rolled back.
    lease = stored.read_lease(view_of(request)) or stored.LeaseConfig()
    key = create_user(iam_client(config), username, role, name)
    secret = Secret(
        type=SECRET_TYPE,
        internal={"username": username, "policy": role.to_storage(), "is_sts": False},
        ttl=lease.lease,
        max_ttl=lease.lease_max,
        renewable=True,
    )
    data = {
        "access_key": key["AccessKeyId"],
        "secret_key": key["SecretAccessKey"],
        "session_token": None,
    }
    return Response(data=data, secret=secret)


def paths() -> list[Path]:
    return [
        Path(
            f"{prefix}/{{name}}",
            {Operation.READ: path_creds_read, Operation.UPDATE: path_creds_read},
            fields={
                "name": Field(FieldType.STRING, "", "Name of the role."),
                "role_arn": Field(FieldType.STRING, "", "Role to assume (assumed_role)."),
                "ttl": Field(FieldType.DURATION, DEFAULT_STS_TTL, "Lifetime of STS credentials."),
                "role_session_name": Field(FieldType.STRING, "", "Session name (assumed_role)."),
                "mfa_code": Field(FieldType.STRING, "", "MFA code (session_token)."),
            },
            prefetch=prefetch_creds,
            side_effects=True,
            synopsis="Generate AWS credentials from a specific Vault role.",
        )
        for prefix in ("creds", "sts")
    ]
