"""The help operation (``?help=1``, ``bao path-help``): text and OpenAPI from declarations.

OpenBao answers a help request with a bare JSON body ``{"help", "openapi", "see_also"}``:
the text the CLI prints, and an OpenAPI document of the matched path (or, at a mount's
root, of every path of the mount), relative to the mount. Imported only for help requests.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.core.operation import Operation
from chalicelib.core.request import Response
from chalicelib.framework.fieldtypes import FieldType
from chalicelib.framework.openapi import Document, Mounted, clean, default_synopsis, tag_for
from chalicelib.framework.path import KIND_REGEX, Path, substitute
from chalicelib.version import reported_version

if TYPE_CHECKING:
    from chalicelib.core.request import Request
    from chalicelib.framework.backend import Backend

# The type names the help text gives (OpenBao's FieldType.String()).
_TYPE_NAMES = {
    FieldType.STRING: "string",
    FieldType.LOWERCASE_STRING: "lowercase string",
    FieldType.INT: "int",
    FieldType.BOOL: "bool",
    FieldType.DURATION: "duration (sec)",
    FieldType.COMMA_STRING_LIST: "slice",
    FieldType.MAP: "map",
    FieldType.KV_PAIRS: "keypair",
    FieldType.ANY: "any",
}
_HTTP_VERBS = {
    Operation.READ: "GET",
    Operation.LIST: "LIST",
    Operation.CREATE: "POST",
    Operation.UPDATE: "POST",
    Operation.PATCH: "PATCH",
    Operation.DELETE: "DELETE",
}
_ROOT_PATHS_INTRO = (
    "Each route below is served by this mount. Ask for help on any request path that\n"
    "matches a route to see its parameters; what you may actually do there depends on\n"
    "your token's policies."
)


def respond(request: Request, backend: Backend) -> Response:
    """The help for ``request.path``: its mount's root help, or the matching path's."""
    assert request.mount is not None
    relative = request.relative_path
    mounted = Mounted("", backend, request.mount.type, tag_for(request.mount))
    document = Document(reported_version())
    if relative == "":
        document.add_mount(mounted)
        text = root_help(backend)
    else:
        path = backend.match(relative).path  # 404 "unsupported path" as any request
        document.add_paths(mounted, [path])
        text = path_help(path, relative)
    return Response(raw={"help": text, "openapi": document.sorted(), "see_also": None})


def route(pattern: str) -> str:
    """The route as OpenBao shows it: a regex such as ``^data/(?P<path>.*)$``."""
    return "^" + substitute(pattern, lambda name, kind: f"(?P<{name}>{KIND_REGEX[kind]})") + "$"


def path_help(path: Path, relative: str) -> str:
    lines = [f"Request:        {relative}", f"Matching Route: {route(path.pattern)}", ""]
    lines += [clean(path.synopsis) or default_synopsis(path), ""]
    fields = path.all_fields
    if fields:
        lines += ["## PARAMETERS", ""]
        for name, field in sorted(fields.items()):
            lines += [_indent(4, f"{name} ({_TYPE_NAMES[field.type]})"), ""]
            lines += [_indent(8, field.description.strip() or "<no description>"), ""]
    else:
        lines.append("")
    lines += ["## DESCRIPTION", "", path.description.strip() or _default_description(path)]
    return "\n".join(lines).strip()


def root_help(backend: Backend) -> str:
    description = backend.description.strip() or f"The {backend.type_name} backend."
    lines = ["## DESCRIPTION", "", description]
    lines += ["", "## PATHS", "", _ROOT_PATHS_INTRO, ""]
    for path in sorted(backend.paths, key=lambda p: route(p.pattern)):
        synopsis = clean(path.synopsis) or default_synopsis(path)
        lines += [_indent(4, route(path.pattern)), _indent(8, synopsis), ""]
    return "\n".join(lines).strip()


def _default_description(path: Path) -> str:
    """For a path declared without a long help: the HTTP verbs it answers."""
    verbs: dict[str, list[str]] = {}
    for operation in path.operations:
        verbs.setdefault(_HTTP_VERBS[operation], []).append(operation.value)
    answers = [f"    {verb:<7}{' or '.join(ops)}" for verb, ops in verbs.items()]
    return "This path answers these HTTP methods:\n\n" + "\n".join(answers)


def _indent(count: int, text: str) -> str:
    prefix = " " * count
    return "\n".join(prefix + line for line in text.splitlines())

