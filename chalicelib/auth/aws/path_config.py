"""config/client (how Lambdavault reaches STS and IAM) and config/identity (alias naming)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from chalicelib.auth.aws.config import (
    ALIAS_KINDS,
    CLIENT_KEY,
    DEFAULT_METADATA,
    IDENTITY_KEY,
    OPTIONAL_METADATA,
    ClientConfig,
    canonical_header,
    load_client,
    load_identity,
)
from chalicelib.core.errors import BadRequest
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.framework import Field, FieldData, FieldType, Path, crud
from chalicelib.framework.storage import view_of

_CLIENT_FIELDS = {
    "access_key": Field(FieldType.STRING, ""),
    "secret_key": Field(FieldType.STRING, ""),
    "iam_endpoint": Field(FieldType.STRING, ""),
    "sts_endpoint": Field(FieldType.STRING, ""),
    "sts_region": Field(FieldType.STRING, ""),
    "use_sts_region_from_client": Field(FieldType.BOOL, False),
    "iam_server_id_header_value": Field(FieldType.STRING, ""),
    "allowed_sts_header_values": Field(FieldType.COMMA_STRING_LIST, list),
    "max_retries": Field(FieldType.INT, -1),
}
_IDENTITY_FIELDS = {
    "iam_alias": Field(FieldType.STRING, "role_id"),
    "iam_metadata": Field(FieldType.COMMA_STRING_LIST, list),
}


def _exists(request: Request, data: FieldData) -> bool:
    return load_client(view_of(request)) is not None


def path_config_client_read(request: Request, data: FieldData) -> Response | None:
    config = load_client(view_of(request))
    return None if config is None else Response(data=config.to_api())


def path_config_client_write(request: Request, data: FieldData) -> None:
    """Only the fields given change (OpenBao's pathConfigClientCreateUpdate)."""
    view = view_of(request)
    changes: dict[str, Any] = {name: data[name] for name in _CLIENT_FIELDS if data.is_set(name)}
    for name in ("sts_endpoint", "iam_endpoint"):
        if changes.get(name):
            changes[name] = _endpoint(name, changes[name])
    if "allowed_sts_header_values" in changes:
        names = dict.fromkeys(canonical_header(v) for v in changes["allowed_sts_header_values"])
        changes["allowed_sts_header_values"] = tuple(names)
    config = (load_client(view) or ClientConfig())._replace(**changes)
    view.put_json(CLIENT_KEY, config._asdict())


def _endpoint(name: str, value: str) -> str:
    """An endpoint is a bare http(s) origin: requests go to it and nowhere else."""
    url = urlsplit(value.strip())
    if url.scheme not in ("http", "https") or not url.hostname or url.query or url.fragment:
        raise BadRequest(f"{name} must be an http or https URL")
    return value.strip().rstrip("/")


def path_config_client_delete(request: Request, data: FieldData) -> None:
    view_of(request).delete(CLIENT_KEY)


def path_config_identity_read(request: Request, data: FieldData) -> Response:
    return Response(data=load_identity(view_of(request)).to_api())


def path_config_identity_write(request: Request, data: FieldData) -> None:
    """OpenBao's pathConfigIdentityUpdate, with Vault's canonical_arn alias as well."""
    view = view_of(request)
    config = load_identity(view)
    if data.is_set("iam_alias"):
        alias = data["iam_alias"]
        if alias not in ALIAS_KINDS:
            allowed = " ".join(ALIAS_KINDS)
            raise BadRequest(f'iam_alias of "{alias}" not in set of allowed values: [{allowed}]')
        config = config._replace(iam_alias=alias)
    if data.is_set("iam_metadata"):
        config = config._replace(iam_metadata=_metadata_fields(data["iam_metadata"]))
    view.put_json(IDENTITY_KEY, config._asdict())


def _metadata_fields(wanted: list[str]) -> tuple[str, ...] | None:
    """OpenBao's authmetadata ParseAuthMetadata: "default", or a subset of the fields."""
    fields = tuple(dict.fromkeys(wanted))
    if fields == ("default",):
        return None
    if "default" in fields:
        raise BadRequest(
            f"{list(fields)} contains default - default can't be used in combination with "
            "other fields"
        )
    available = (*DEFAULT_METADATA, *OPTIONAL_METADATA)
    if not set(fields) <= set(available):
        raise BadRequest(
            f'"{", ".join(fields)}" contains an unavailable field, please select from '
            f'"{", ".join(available)}"'
        )
    return fields


def paths() -> list[Path]:
    op = Operation
    return [
        Path(
            "config/client",
            crud(path_config_client_read, path_config_client_write, path_config_client_delete),
            _CLIENT_FIELDS,
            exists=_exists,
        ),
        Path(
            "config/identity",
            {op.READ: path_config_identity_read, op.UPDATE: path_config_identity_write},
            _IDENTITY_FIELDS,
        ),
    ]
