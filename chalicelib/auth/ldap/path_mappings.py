"""groups/ and users/ (LIST), groups/:name and users/:name (CRUD): local policies for
directory groups and users; users may also name extra groups."""

from __future__ import annotations

from chalicelib.auth.ldap.config import load as load_config
from chalicelib.auth.ldap.mappings import (
    GROUP_PREFIX,
    USER_PREFIX,
    LocalMapping,
    canonical,
    load,
    save,
    storage_key,
)
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.framework import Field, FieldData, FieldType, Path, crud
from chalicelib.framework.path import ExistenceCheck, Handler
from chalicelib.framework.storage import view_of
from chalicelib.tokens.policies import unique_sorted

_POLICIES = Field(FieldType.COMMA_STRING_LIST, list)
_GROUPS = Field(FieldType.COMMA_STRING_LIST, list)


def _name(request: Request, data: FieldData) -> str:
    return canonical(data["name"], load_config(view_of(request)).case_sensitive_names)


def _list(prefix: str) -> Handler:
    def path_list(request: Request, data: FieldData) -> Response | None:
        names = view_of(request).list(prefix)
        return Response(data={"keys": names}) if names else None  # none: 404, as every LIST

    return path_list


def _read(prefix: str) -> Handler:
    def path_read(request: Request, data: FieldData) -> Response | None:
        mapping = load(view_of(request), prefix, _name(request, data))
        if mapping is None:
            return None
        shown: dict[str, object] = {"policies": list(mapping.policies)}
        if prefix == USER_PREFIX:  # OpenBao shows a user's groups as one comma string
            shown["groups"] = ",".join(mapping.groups)
        return Response(data=shown)

    return path_read


def _write(prefix: str) -> Handler:
    def path_write(request: Request, data: FieldData) -> None:
        view = view_of(request)
        case_sensitive = load_config(view).case_sensitive_names
        groups = unique_sorted(data["groups"], lowercase=not case_sensitive) if (
            prefix == USER_PREFIX
        ) else []  # fmt: skip
        mapping = LocalMapping(tuple(unique_sorted(data["policies"])), tuple(groups))
        save(view, prefix, canonical(data["name"], case_sensitive), mapping)

    return path_write


def _delete(prefix: str) -> Handler:
    def path_delete(request: Request, data: FieldData) -> None:
        key = storage_key(prefix, data["name"])  # the name as given, as OpenBao deletes
        if key is not None:
            view_of(request).delete(key)

    return path_delete


def _exists(prefix: str) -> ExistenceCheck:
    return lambda request, data: load(view_of(request), prefix, _name(request, data)) is not None


def _paths(plural: str, prefix: str) -> list[Path]:
    op = Operation
    fields = {"name": Field(FieldType.STRING, ""), "policies": _POLICIES}
    if prefix == USER_PREFIX:
        fields["groups"] = _GROUPS
    write = _write(prefix)
    return [
        Path(f"{plural}/?", {op.LIST: _list(prefix)}),
        Path(
            f"{plural}/{{name:path}}",
            crud(_read(prefix), write, _delete(prefix)),
            fields,
            exists=_exists(prefix),
        ),
    ]


def paths() -> list[Path]:
    return [*_paths("groups", GROUP_PREFIX), *_paths("users", USER_PREFIX)]
