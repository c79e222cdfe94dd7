"""`config/zeroaddress` (read, write, delete): the OTP roles that accept any IP address,
whatever their cidr_list says. A write names existing roles only and replaces the list.
"""

from __future__ import annotations

from chalicelib.core.errors import BadRequest
from chalicelib.core.request import Request, Response
from chalicelib.engines.ssh.role import read_role
from chalicelib.engines.ssh.zeroaddress import ZERO_ADDRESS_KEY, read_roles, write_roles
from chalicelib.framework import Field, FieldData, FieldType, Path, crud
from chalicelib.framework.storage import view_of
from chalicelib.policy.errors import go_quote


def path_config_zeroaddress_read(request: Request, data: FieldData) -> Response | None:
    roles = read_roles(view_of(request))
    return None if roles is None else Response(data={"roles": roles})


def path_config_zeroaddress_write(request: Request, data: FieldData) -> None:
    roles: list[str] = data["roles"]
    if not roles:
        raise BadRequest("Missing roles")
    view = view_of(request)
    for name in roles:
        if read_role(view, name) is None:
            raise BadRequest(f"Role {go_quote(name)} does not exist")
    write_roles(view, roles)


def path_config_zeroaddress_delete(request: Request, data: FieldData) -> None:
    view_of(request).delete(ZERO_ADDRESS_KEY)


def paths() -> list[Path]:
    return [
        Path(
            "config/zeroaddress",
            crud(path_config_zeroaddress_read, path_config_zeroaddress_write,
                 path_config_zeroaddress_delete),
            fields={
                "roles": Field(
                    FieldType.COMMA_STRING_LIST, list,
                    "Comma-separated names of OTP roles that accept any IP address.",
                ),
            },
            synopsis="The OTP roles whose credentials may name any IP address.",
        )
    ]
