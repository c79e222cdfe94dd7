"""login (role_id + secret_id), and the renewal of the tokens it issues."""

from __future__ import annotations

from collections.abc import Mapping

from chalicelib.auth.approle.cidrs import check_subset
from chalicelib.auth.approle.hashing import HMAC_KEY, MountKeys, mount_keys
from chalicelib.auth.approle.roles import Role, find_by_role_id, load
from chalicelib.auth.approle.secret_ids import SecretID, secret_key, use
from chalicelib.core.cidrs import address_in
from chalicelib.core.errors import BadRequest
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.framework import Field, FieldData, FieldType, Path
from chalicelib.framework.login import Auth, InvalidCredentials, LoginRenewal
from chalicelib.framework.storage import view_of
from chalicelib.framework.tokenfields import TokenSettings
from chalicelib.policy.errors import go_quote
from chalicelib.storage.view import StorageView

# One text for an unknown role ID and a wrong secret ID: the client cannot tell them apart.
INVALID = "invalid role or secret ID"


def path_login(request: Request, data: FieldData) -> Response:
    """OpenBao's pathLoginUpdate. Only a wrong secret ID for a real role counts towards the
    role ID's lockout (OpenBao's ErrInvalidCredentials); a spent or expired one reads the
    same. Every check runs before a use of the secret ID is spent."""
    role_id = data["role_id"].strip()
    if not role_id:
        raise BadRequest("missing role_id")
    view = view_of(request)
    keys = mount_keys(view)
    role = find_by_role_id(view, keys, role_id)
    if role is None:
        raise BadRequest(INVALID)
    address = request.remote_address
    secret = None
    if role.bind_secret_id:
        secret = _spend(view, keys, role, data["secret_id"].strip(), address)
    else:
        _check_role_cidrs(role, address)
    token = role.token
    if secret is not None and secret.token_bound_cidrs:
        token = token._replace(bound_cidrs=secret.token_bound_cidrs)
    metadata = {**(secret.metadata if secret else {}), "role_name": role.name}
    return Response(
        login=Auth(
            alias_name=role.role_id,
            token=token,
            metadata=metadata,
            alias_metadata=metadata,
            internal={"role_name": role.name},
        )
    )


def _spend(
    view: StorageView, keys: MountKeys, role: Role, secret_id: str, address: str
) -> SecretID:
    if not secret_id:
        raise BadRequest("missing secret_id")

    def check(secret: SecretID) -> None:
        # The role's blocks may have narrowed since the secret ID was issued.
        check_subset(secret.cidr_list, role.secret_id_bound_cidrs)
        if secret.cidr_list and not address_in(address, secret.cidr_list):
            # OpenBao words this one differently for use-limited secret IDs.
            how = "through" if secret.num_uses == 0 else "by"
            raise BadRequest(
                f"source address {go_quote(address)} unauthorized {how} CIDR restrictions on "
                "the secret ID"
            )
        _check_role_cidrs(role, address)

    secret = use(view, keys, secret_key(keys, role.secrets_folder, secret_id), check)
    if secret is None:
        raise InvalidCredentials(INVALID)
    return secret


def _check_role_cidrs(role: Role, address: str) -> None:
    if role.secret_id_bound_cidrs and not address_in(address, role.secret_id_bound_cidrs):
        raise BadRequest(
            f"source address {go_quote(address)} unauthorized by CIDR restrictions on the role"
        )


def renew_login(view: StorageView, renewal: LoginRenewal) -> TokenSettings:
    """A token renews under its role's current TTLs while the role exists (OpenBao's
    pathLoginRenew; policy changes do not stop it, unlike userpass)."""
    name = renewal.internal.get("role_name", "")
    stored = load(view, name) if name else None
    if stored is None:
        raise BadRequest(f"role {go_quote(name)} does not exist during renewal")
    return stored.role.token


def _prefetch(captures: Mapping[str, str]) -> list[str]:
    # The role ID is in the body, not the path: only the HMAC key can ride in the first read.
    return [HMAC_KEY]


def paths() -> list[Path]:
    return [
        Path(
            "login",
            {Operation.UPDATE: path_login},
            {"role_id": Field(FieldType.STRING, ""), "secret_id": Field(FieldType.STRING, "")},
            prefetch=_prefetch,
            lockout_alias=lambda data: data["role_id"].strip(),
            synopsis="Log in with a role ID and a secret ID.",
        )
    ]
