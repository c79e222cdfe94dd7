"""OpenAPI 3 documents generated from path declarations (OpenBao's sdk/framework/openapi.go).

Imported only when a document or a path's help is asked for: nothing here is on the path
of an ordinary request. A backend's paths are documented relative to its mount; the
sys/internal/specs/openapi endpoint prefixes them with each mount's path.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from chalicelib.core.operation import Operation
from chalicelib.framework.backend import Backend
from chalicelib.framework.field import Field
from chalicelib.framework.fieldtypes import FieldError, FieldType
from chalicelib.framework.path import Path, placeholders, substitute

if TYPE_CHECKING:
    from chalicelib.core.mounts import MountEntry

OAS_VERSION = "3.0.2"
_NON_WORD = re.compile(r"\W+")
_WHITESPACE = re.compile(r"\s+")
# One path segment: what a plain {name} capture matches (the router's "segment" kind).
_SEGMENT = "^[^/]+$"
_OK = {"description": "OK"}
_NO_CONTENT = {"description": "empty body"}
# The tags of OpenBao's built-in mounts that are neither secrets engines nor auth methods.
_BUILTIN_TAGS = {"system": "system", "identity": "identity"}

# Per field type: OpenAPI's type, format and item type, as OpenBao's convertType.
_SCHEMA_TYPES: dict[FieldType, tuple[str, str, str]] = {
    FieldType.STRING: ("string", "", ""),
    FieldType.LOWERCASE_STRING: ("string", "lowercase", ""),
    FieldType.INT: ("integer", "", ""),
    FieldType.BOOL: ("boolean", "", ""),
    FieldType.DURATION: ("integer", "seconds", ""),
    FieldType.COMMA_STRING_LIST: ("array", "", "string"),
    FieldType.MAP: ("object", "map", ""),
    FieldType.KV_PAIRS: ("object", "kvpairs", ""),
    FieldType.ANY: ("", "", ""),  # any JSON value: a schema without a type
}
# The verb of an operation id ("kv-write-data-path"), as OpenBao names them.
_VERBS = {
    Operation.READ: "read",
    Operation.LIST: "list",
    Operation.CREATE: "create",
    Operation.UPDATE: "write",
    Operation.PATCH: "patch",
    Operation.DELETE: "delete",
}


class Mounted(NamedTuple):
    """One mount as a document shows it."""

    # Where its paths live below /v1/ ("secret/", "auth/userpass/"), or "" for a help
    # document, whose paths are relative to the mount.
    prefix: str
    backend: Backend
    # Prefix of operation ids and schema names: the mount's type ("kv", "userpass").
    type_name: str
    tag: str
    # Set for ?generic_mount_paths=true: the mount point becomes this path parameter.
    mount_parameter: str = ""


def tag_for(entry: MountEntry) -> str:
    """The tag of a mount's operations: auth, secrets, or OpenBao's own for sys/ and
    identity/."""
    if entry.table == "auth":
        return "auth"
    return _BUILTIN_TAGS.get(entry.type, "secrets")


class Document:
    """An OpenAPI document being built from mounts' declarations."""

    def __init__(self, version: str) -> None:
        self.body: dict[str, Any] = {
            "openapi": OAS_VERSION,
            "info": {
                "title": "Lambdavault API",
                "description": (
                    "Vault's HTTP API served by Lambdavault. All API routes are prefixed "
                    "with `/v1/`."
                ),
                "version": version,
                "license": {
                    "name": "Mozilla Public License 2.0",
                    "url": "https://www.mozilla.org/en-US/MPL/2.0",
                },
            },
            # Not in OpenBao's document: lets tools (schemathesis, code generators) find
            # /v1/ and know how to authenticate.
            "servers": [{"url": "/v1"}],
            "security": [{"token": []}],
            "paths": {},
            "components": {
                "schemas": {},
                "securitySchemes": {
                    "token": {"type": "apiKey", "in": "header", "name": "X-Vault-Token"},
                },
            },
        }
        self._operation_ids: set[str] = set()

    def add_mount(self, mounted: Mounted) -> None:
        """Every declared path of ``mounted``."""
        self.add_paths(mounted, mounted.backend.paths)

    def add_paths(self, mounted: Mounted, paths: Iterable[Path]) -> None:
        documented = self.body["paths"]
        for path in paths:
            template = openapi_template(path.pattern)
            item = self._path_item(path, template, mounted)
            key = "/" + _mount_part(mounted) + template
            # Two declarations may meet on one OpenAPI path ("roles/?" lists, "roles" reads).
            documented[key] = {**item, **documented.get(key, {})}

    def sorted(self) -> dict[str, Any]:
        """The document with its paths and schemas in key order, as OpenBao's JSON."""
        components = self.body["components"]
        return {
            **self.body,
            "paths": dict(sorted(self.body["paths"].items())),
            "components": {**components, "schemas": dict(sorted(components["schemas"].items()))},
        }

    def _claim_id(self, wanted: str) -> str:
        """Operation ids are unique in a document: a second mount of a type gets "-2"."""
        candidate, count = wanted, 1
        while candidate in self._operation_ids:
            count += 1
            candidate = f"{wanted}-{count}"
        self._operation_ids.add(candidate)
        return candidate

    def _path_item(self, path: Path, template: str, mounted: Mounted) -> dict[str, Any]:
        backend = mounted.backend
        item: dict[str, Any] = {"description": clean(path.synopsis) or default_synopsis(path)}
        parameters = _path_parameters(path)
        if mounted.mount_parameter:
            default = mounted.prefix.removeprefix("auth/").rstrip("/")
            parameters.append(_parameter(
                mounted.mount_parameter, "The path this backend is mounted at.",
                {"type": "string", "default": default},
            ))  # fmt: skip
        if parameters:
            item["parameters"] = parameters
        if backend.is_sudo(template):
            item["x-vault-sudo"] = True
        unauthenticated = backend.is_unauthenticated(template)
        if unauthenticated:
            item["x-vault-unauthenticated"] = True
        operations = path.operations
        if Operation.CREATE in operations:
            item["x-vault-createSupported"] = True
        suffix = "-".join(part for part in _NON_WORD.split(template.lower()) if part)
        body = _body_schema(path)
        for method, operation in _methods(operations):
            op_id = self._claim_id(f"{mounted.type_name}-{_VERBS[operation]}-{suffix}")
            entry: dict[str, Any] = {"operationId": op_id, "tags": [mounted.tag]}
            if method in ("post", "patch") and body:
                entry["requestBody"] = self._request_body(op_id, body)
            if method == "get" and Operation.LIST in operations:
                entry["parameters"] = [_list_parameter(only=operation is Operation.LIST)]
            if unauthenticated:
                entry["security"] = [{}, {"token": []}]  # a token is optional here
            entry["responses"] = {"204": _NO_CONTENT} if method == "delete" else {"200": _OK}
            item[method] = entry
        return item

    def _request_body(self, operation_id: str, schema: dict[str, Any]) -> dict[str, Any]:
        name = "".join(word[:1].upper() + word[1:] for word in operation_id.split("-"))
        self.body["components"]["schemas"][name + "Request"] = schema
        reference = {"$ref": f"#/components/schemas/{name}Request"}
        return {"required": True, "content": {"application/json": {"schema": reference}}}


def openapi_template(pattern: str) -> str:
    """``keys/{name}`` for ``keys/{name}``, ``data/{path}`` for ``data/{path:path}``; an
    optional trailing slash is dropped, as OpenBao's expandPattern drops it."""
    return substitute(pattern.removesuffix("/?"), lambda name, _kind: "{" + name + "}")


def mount_parameter(mount_path: str) -> str:
    """The path parameter standing for a mount at ``mount_path`` with generic_mount_paths
    (``transit/`` -> ``transit_mount_path``)."""
    return _NON_WORD.sub("_", mount_path.rstrip("/")) + "_mount_path"


def _mount_part(mounted: Mounted) -> str:
    if not mounted.mount_parameter:
        return mounted.prefix
    table = "auth/" if mounted.prefix.startswith("auth/") else ""
    return table + "{" + mounted.mount_parameter + "}/"


def _methods(operations: Mapping[Operation, object]) -> list[tuple[str, Operation]]:
    """HTTP method -> the operation OpenBao documents for it: a read wins over a list on
    GET, an update over a create on POST."""
    methods: list[tuple[str, Operation]] = []
    for method, candidates in (
        ("get", (Operation.READ, Operation.LIST)),
        ("post", (Operation.UPDATE, Operation.CREATE)),
        ("patch", (Operation.PATCH,)),
        ("delete", (Operation.DELETE,)),
    ):
        found = next((op for op in candidates if op in operations), None)
        if found is not None:
            methods.append((method, found))
    return methods


def _list_parameter(*, only: bool) -> dict[str, Any]:
    """GET lists with ``?list=true``: required where the path only lists."""
    if only:
        schema = {"type": "string", "enum": ["true"]}
        return _parameter("list", "`true`: this path only lists.", schema, location="query")
    schema = {"type": "string"}
    description = "`true` to list instead of read."
    return _parameter("list", description, schema, location="query", required=False)


def _parameter(
    name: str,
    description: str,
    schema: dict[str, Any],
    location: str = "path",
    required: bool = True,
) -> dict[str, Any]:
    parameter: dict[str, Any] = {"name": name, "in": location, "schema": schema}
    if description:
        parameter["description"] = description
    if required:
        parameter["required"] = True
    return parameter


def _path_parameters(path: Path) -> list[dict[str, Any]]:
    parameters = []
    for name, kind in sorted(placeholders(path.pattern), key=lambda pair: pair[0].lower()):
        field = path.all_fields[name]
        schema = field_schema(field)
        schema.pop("default", None)  # a path's segment is never left out
        if kind == "segment" and schema.get("type") == "string":
            schema["pattern"] = _SEGMENT  # a "/" would route to another path
        parameters.append(_parameter(name, clean(field.description), schema))
    return parameters


def _body_schema(path: Path) -> dict[str, Any] | None:
    """The JSON body of a write: every declared field the path's pattern does not capture."""
    captured = {name for name, _ in placeholders(path.pattern)}
    names = sorted(name for name in path.fields if name not in captured)
    if not names:
        return None
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {name: field_schema(path.fields[name], described=True) for name in names},
    }
    required = [name for name in names if path.fields[name].required]
    if required:
        schema["required"] = required
    return schema


def field_schema(field: Field, *, described: bool = False) -> dict[str, Any]:
    """The JSON schema of one field: type, format, allowed values and default."""
    kind, fmt, items = _SCHEMA_TYPES[field.type]
    schema: dict[str, Any] = {}
    if kind:
        schema["type"] = kind
    if described and clean(field.description):
        schema["description"] = clean(field.description)
    if fmt:
        schema["format"] = fmt
    if items:
        schema["items"] = {"type": items}
    allowed = [_jsonable(value) for value in field.allowed_values]
    if allowed:
        (schema["items"] if items else schema)["enum"] = allowed
    default = _default(field)
    if default is not None and (not allowed or items or default in allowed):
        schema["default"] = default
    return schema


def _default(field: Field) -> Any:
    """The default a client gets, typed as the schema says (durations in seconds), or None
    when it cannot be shown in the field's type (e.g. a sentinel only the handler knows)."""
    value = field.default() if callable(field.default) else field.default
    if value is None:
        return None
    try:
        converted = field.type.convert(value)
    except FieldError:
        return None
    try:
        json.dumps(converted)
    except (TypeError, ValueError):
        return None
    return _jsonable(converted)


def _jsonable(value: Any) -> Any:
    return list(value) if isinstance(value, tuple | frozenset | set) else value


def clean(text: str) -> str:
    return _WHITESPACE.sub(" ", text.strip())


def default_synopsis(path: Path) -> str:
    """An honest one-liner for a path declared without one: what it does, and where."""
    verbs = [_VERBS[op] for op in _VERBS if op in path.operations and op != Operation.CREATE]
    if Operation.CREATE in path.operations and Operation.UPDATE not in path.operations:
        verbs.append("create")
    words = " or ".join(filter(None, [", ".join(verbs[:-1]), *verbs[-1:]]))
    return f"{words.capitalize()} {openapi_template(path.pattern) or 'the mount root'}."
