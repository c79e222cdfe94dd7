"""`config/root`, `config/rotate-root` and `config/lease`.

A config/root write replaces the whole configuration, as Vault's does; reads never show
the secret key. rotate-root swaps the configured static key for a new one of the same
IAM user: create, store, then delete the old one (Vault's order, so a failure never
leaves the mount without a working key in storage).
"""

from __future__ import annotations

import json
from dataclasses import replace

from chalicelib.core.errors import BadRequest, PreconditionFailed
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.engines.aws import config as stored
from chalicelib.engines.aws.clients import iam_client
from chalicelib.engines.aws.errors import reported_as
from chalicelib.framework import Field, FieldData, FieldType, Path
from chalicelib.framework.fieldtypes import FieldError, go_duration, parse_duration
from chalicelib.framework.storage import view_of
from chalicelib.generators.template import Template, TemplateError
from chalicelib.storage.physical import ConditionFailed


def path_config_root_read(request: Request, data: FieldData) -> Response | None:
    raw = view_of(request).get_json(stored.ROOT_KEY)
    return None if raw is None else Response(data=stored.RootConfig.from_storage(raw).to_api())


def path_config_root_write(request: Request, data: FieldData) -> None:
    template = data["username_template"] or stored.DEFAULT_USERNAME_TEMPLATE
    try:
        Template.parse(template)
    except TemplateError as error:
        # Vault finds out only when it first generates a name; a write can say it at once.
        raise BadRequest(f"unable to initialize username template: {error}") from None
    config = stored.RootConfig(
        access_key=data["access_key"],
        secret_key=data["secret_key"],
        region=data["region"],
        iam_endpoint=data["iam_endpoint"],
        sts_endpoint=data["sts_endpoint"],
        max_retries=data["max_retries"],
        username_template=template,
    )
    stored.write_root(view_of(request), config)


def path_config_rotate_root(request: Request, data: FieldData) -> Response:
    view = view_of(request)
    entry = view.get(stored.ROOT_KEY)
    if entry is None:
        raise BadRequest("no configuration found for config/root")
    config = stored.RootConfig.from_storage(json.loads(entry.value))
    if not config.has_static_keys:
        raise BadRequest(
            "Cannot call config/rotate-root when either access_key or secret_key is empty"
        )
    client = iam_client(config)
    with reported_as("error calling GetUser"):
        user_name = client.get_user()["User"]["UserName"]
    with reported_as("error calling CreateAccessKey"):
        created = client.create_access_key(UserName=user_name)["AccessKey"]
    rotated = replace(
        config, access_key=created["AccessKeyId"], secret_key=created["SecretAccessKey"]
    )
    try:
        # Conditional: a config/root written meanwhile (another container) must not be
        # overwritten with keys derived from the one read here.
        stored.write_root(view, rotated, expected_version=entry.version)
    except ConditionFailed:
        with reported_as("error deleting the unused new access key"):
            client.delete_access_key(UserName=user_name, AccessKeyId=rotated.access_key)
        raise PreconditionFailed("config/root changed during the rotation; retry") from None
    with reported_as("error deleting old access key"):
        client.delete_access_key(UserName=user_name, AccessKeyId=config.access_key)
    return Response(data={"access_key": rotated.access_key})


def path_config_lease_read(request: Request, data: FieldData) -> Response | None:
    lease = stored.read_lease(view_of(request))
    if lease is None:
        return None
    return Response(
        data={"lease": go_duration(lease.lease), "lease_max": go_duration(lease.lease_max)}
    )


def _duration(data: FieldData, name: str) -> int:
    try:
        return parse_duration(data[name])
    except FieldError as error:
        raise BadRequest(f"Invalid {name}: {error}") from None


def path_config_lease_write(request: Request, data: FieldData) -> None:
    # Vault's order: both presence checks before either value is parsed.
    for name in ("lease", "lease_max"):
        if not data[name]:
            raise BadRequest(f"'{name}' is a required parameter")
    lease = stored.LeaseConfig(_duration(data, "lease"), _duration(data, "lease_max"))
    stored.write_lease(view_of(request), lease)


def paths() -> list[Path]:
    text = FieldType.STRING
    return [
        Path(
            "config/root",
            {Operation.READ: path_config_root_read, Operation.UPDATE: path_config_root_write},
            fields={
                "access_key": Field(text, "", "Access key with permission to manage IAM."),
                "secret_key": Field(text, "", "Its secret key (never shown again)."),
                "region": Field(text, "", "Region for API calls."),
                "iam_endpoint": Field(text, "", "Custom IAM endpoint URL."),
                "sts_endpoint": Field(text, "", "Custom STS endpoint URL."),
                "max_retries": Field(
                    FieldType.INT, stored.DEFAULT_MAX_RETRIES,
                    "Retries of recoverable AWS errors (-1: the SDK's default).",
                ),
                "username_template": Field(text, "", "Template of generated user names."),
            },
            synopsis="Configure the root credentials that are used to manage IAM.",
        ),
        Path(
            "config/rotate-root",
            {Operation.UPDATE: path_config_rotate_root},
            synopsis="Rotate the configured static access key.",
        ),
        Path(
            "config/lease",
            {Operation.READ: path_config_lease_read, Operation.UPDATE: path_config_lease_write},
            fields={
                "lease": Field(text, "", "Default lease of IAM user credentials."),
                "lease_max": Field(text, "", "Maximum lease of IAM user credentials."),
            },
            synopsis="Configure the default lease information for generated credentials.",
        ),
    ]
