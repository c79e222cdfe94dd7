"""`creds/<role>` (write): a one-time password for ``username`` on the host ``ip``,
leased for the mount's default TTL and not renewable (Vault's secret_otp_type).

Vault's checks, in its order and words: the IP is given, the role exists, the username
is the default or an allowed one, the IP parses, and it belongs to the role (or the role
is in config/zeroaddress). Only the OTP's salted hash is stored (otp.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from chalicelib.core.errors import BadRequest, multierror
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.engines.ssh import zeroaddress
from chalicelib.engines.ssh.cidr import CIDRError, parse_ip, validate_ip
from chalicelib.engines.ssh.otp import OTPEntry, create_otp
from chalicelib.engines.ssh.role import KEY_TYPE_OTP, ROLE_PREFIX, Role, read_role
from chalicelib.engines.ssh.secret import SALTED_OTP, SECRET_OTP_TYPE
from chalicelib.framework import Field, FieldData, FieldType, Path
from chalicelib.framework.storage import view_of
from chalicelib.leases.secret import Secret
from chalicelib.policy.errors import go_quote


def prefetch_creds(captures: Mapping[str, str]) -> Sequence[str]:
    """The role and the zero-address list, in the pipeline's first read."""
    return [ROLE_PREFIX + captures["role"], zeroaddress.ZERO_ADDRESS_KEY]


def username_allowed(username: str, allowed_users: str) -> bool:
    """Vault's validateUsername: "*" allows anyone, else a comma list (items trimmed)."""
    if allowed_users == "*":
        return True
    return any(user.strip() == username for user in allowed_users.split(","))


def _username(role: Role, requested: str) -> str:
    username = requested or role.default_user
    if not username:
        raise BadRequest("No default username registered. Use 'username' option")
    if username == role.default_user:
        return username
    if not role.allowed_users:
        raise BadRequest("Username has to be either in allowed users list or has to be a "
                         "default username")
    if not username_allowed(username, role.allowed_users):
        raise BadRequest("Username is not present is allowed users list")
    return username


def path_creds_write(request: Request, data: FieldData) -> Response:
    role_name, ip_text = data["role"], data["ip"]
    if not ip_text:
        raise BadRequest("Missing ip")
    view = view_of(request)
    role = read_role(view, role_name)
    if role is None:
        raise BadRequest(f"Role {go_quote(role_name)} not found")
    username = _username(role, data["username"])
    address = parse_ip(ip_text)
    if address is None:
        raise BadRequest(f"Invalid IP {go_quote(ip_text)}")
    try:
        validate_ip(address, role_name, role.cidr_list, role.exclude_cidr_list,
                    zeroaddress.read_roles(view) or [])
    except CIDRError as error:
        raise BadRequest(f"Error validating IP: {error}") from None
    if role.key_type != KEY_TYPE_OTP:
        # Vault reaches its key-type switch only here, and fails as an internal error.
        raise BadRequest(multierror("key type unknown"))
    ip = str(address)
    otp, salted = create_otp(view, OTPEntry(username=username, ip=ip, role_name=role_name))
    secret = Secret(type=SECRET_OTP_TYPE, internal={SALTED_OTP: salted}, renewable=False)
    return Response(
        data={"key_type": role.key_type, "key": otp, "username": username, "ip": ip,
              "port": role.port},
        secret=secret,
    )


def paths() -> list[Path]:
    text = FieldType.STRING
    return [
        Path(
            "creds/{role}",
            {Operation.UPDATE: path_creds_write},
            fields={
                "role": Field(text, "", "Name of the role."),
                "username": Field(text, "", "User on the remote host (default: the role's "
                                  "default_user)."),
                "ip": Field(text, "", "IP address of the remote host."),
            },
            prefetch=prefetch_creds,
            synopsis="A one-time SSH password for one user on one host, under an OTP role.",
        )
    ]
