"""`config/connection` (write only, as in Vault: the password is never read back) and
`config/lease` (read and write).

A connection write replaces the whole configuration after Vault's checks, in its order:
the three required values, the username template (it must parse and render), then,
unless verify_connection is false, a call that lists users with the given credentials.
"""

from __future__ import annotations

from chalicelib.core.errors import BadRequest, multierror
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.engines.rabbitmq import config as stored
from chalicelib.engines.rabbitmq.management import Management, ManagementError
from chalicelib.framework import Field, FieldData, FieldType, Path
from chalicelib.framework.storage import view_of
from chalicelib.generators.template import TemplateError
from chalicelib.generators.usernames import check_template


def _check_username_template(template: str) -> None:
    parsed = check_template(template)
    try:
        parsed.render({"DisplayName": "", "RoleName": ""})
    except TemplateError as error:
        raise BadRequest(f"invalid username template: {error}") from None


def path_config_connection_write(request: Request, data: FieldData) -> None:
    for name in ("connection_uri", "username", "password"):
        if not data[name]:
            raise BadRequest(f"missing {name}")
    if data["username_template"]:
        _check_username_template(data["username_template"])
    config = stored.ConnectionConfig(
        connection_uri=data["connection_uri"],
        username=data["username"],
        password=data["password"],
        password_policy=data["password_policy"],
        username_template=data["username_template"],
    )
    if data["verify_connection"]:
        try:
            Management(config).list_users()
        except ManagementError as error:
            # Vault answers 500 here; a wrong URI or credentials is the client's to fix.
            raise BadRequest(multierror(f"failed to validate the connection: {error}")) from None
    stored.write_connection(view_of(request), config)


def path_config_lease_read(request: Request, data: FieldData) -> Response | None:
    lease = stored.read_lease(view_of(request))
    if lease is None:
        return None
    return Response(data={"ttl": lease.ttl, "max_ttl": lease.max_ttl})


def path_config_lease_write(request: Request, data: FieldData) -> None:
    stored.write_lease(view_of(request), stored.LeaseConfig(data["ttl"], data["max_ttl"]))


def paths() -> list[Path]:
    text = FieldType.STRING
    return [
        Path(
            "config/connection",
            {Operation.UPDATE: path_config_connection_write},
            fields={
                "connection_uri": Field(text, "", "RabbitMQ Management URI."),
                "username": Field(text, "", "Username of a RabbitMQ management administrator."),
                "password": Field(text, "", "Password of that user (never shown again)."),
                "verify_connection": Field(
                    FieldType.BOOL, True, "Verify the URI and credentials on write."
                ),
                "password_policy": Field(text, "", "Password policy of generated passwords."),
                "username_template": Field(text, "", "Template of generated usernames."),
            },
            synopsis="Configure the connection URI, username, and password to talk to "
            "RabbitMQ management HTTP API.",
        ),
        Path(
            "config/lease",
            {Operation.READ: path_config_lease_read, Operation.UPDATE: path_config_lease_write},
            fields={
                "ttl": Field(FieldType.DURATION, 0, "Default TTL of issued credentials."),
                "max_ttl": Field(FieldType.DURATION, 0, "Maximum TTL of issued credentials."),
            },
            synopsis="Configure the lease parameters for generated credentials",
        ),
    ]
