"""`lookup` (write): the roles whose cidr_list holds an IP, then every zero-address role
(Vault's order, duplicates kept). exclude_cidr_list is not consulted, and a role whose
cidr_list is empty or unparsable simply does not match, as in Vault.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.core.errors import BadRequest
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.engines.ssh import zeroaddress
from chalicelib.engines.ssh.cidr import CIDRError, IPAddress, cidr_list_contains_ip, parse_ip
from chalicelib.engines.ssh.role import ROLE_PREFIX, Role, read_roles
from chalicelib.framework import Field, FieldData, FieldType, Path
from chalicelib.framework.storage import view_of

if TYPE_CHECKING:
    from chalicelib.storage.view import StorageView

# Vault formats the nil result of a failed parse, whatever the client sent.
INVALID_IP = 'Invalid IP "<nil>"'


def _contains_ip(role: Role, ip: IPAddress) -> bool:
    """Vault's roleContainsIP, with its errors read as "no"."""
    try:
        return cidr_list_contains_ip(ip, role.cidr_list)
    except CIDRError:
        return False


def _roles_containing(view: StorageView, ip: IPAddress) -> list[str]:
    roles = read_roles(view, view.list(ROLE_PREFIX))
    return [name for name, role in roles.items() if _contains_ip(role, ip)]


def path_lookup_write(request: Request, data: FieldData) -> Response:
    if not data["ip"]:
        raise BadRequest("Missing ip")
    ip = parse_ip(data["ip"])
    if ip is None:
        raise BadRequest(INVALID_IP)
    view = view_of(request)
    matching = _roles_containing(view, ip) + (zeroaddress.read_roles(view) or [])
    # Go's nil slice: JSON null when nothing matched.
    return Response(data={"roles": matching or None})


def paths() -> list[Path]:
    return [
        Path(
            "lookup",
            {Operation.UPDATE: path_lookup_write},
            fields={"ip": Field(FieldType.STRING, "", "IP address of the remote host.")},
            synopsis="The roles under which credentials for an IP address may be asked.",
        )
    ]
