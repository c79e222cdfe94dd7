"""sys/internal/specs/openapi: an OpenAPI 3 document of every path the caller can reach.

As OpenBao, the endpoint is unauthenticated, but it documents only the mounts that
sys/internal/ui/mounts would show the caller: without a token, those listed as ``unauth``;
with one, those its ACL reaches (a bad token is refused). Each mount's paths appear under
its real mount point, or under a ``{<name>_mount_path}`` parameter with
``generic_mount_paths``.
"""

from __future__ import annotations

from chalicelib.core.errors import VaultError
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.core.runtime import runtime
from chalicelib.framework import Field, FieldData, FieldType, Path
from chalicelib.system.path_internal_ui import caller_acl, visibility

UNAUTHENTICATED: tuple[str, ...] = ("internal/specs/openapi",)


def _document(request: Request, data: FieldData) -> Response:
    """GET/POST sys/internal/specs/openapi: the document, as a bare JSON body."""
    from chalicelib.engines.registry import SINGLETONS, backend_of
    from chalicelib.framework.openapi import Document, Mounted, mount_parameter, tag_for
    from chalicelib.version import reported_version

    visible = visibility(caller_acl(request))
    generic = data["generic_mount_paths"]
    document = Document(reported_version())
    tables = runtime().tables
    for table in ("mounts", "auth"):
        for entry in sorted(tables[table].entries, key=lambda e: e.path):
            if not visible(entry):
                continue
            try:
                backend = backend_of(entry)
            except VaultError:
                continue  # a type this build does not serve: OpenBao skips such a mount too
            parameter = ""
            if generic and entry.type not in SINGLETONS:
                parameter = mount_parameter(entry.path)
            document.add_mount(Mounted(
                prefix=entry.router_path,
                backend=backend,
                type_name=entry.type,
                tag=tag_for(entry),
                mount_parameter=parameter,
            ))  # fmt: skip
    return Response(raw=document.sorted())


def paths() -> list[Path]:
    fields = {
        # OpenBao declares it and leaves it unused by this endpoint; accepted for parity.
        "context": Field(FieldType.STRING, description="Accepted for compatibility; unused."),
        "generic_mount_paths": Field(
            FieldType.BOOL, False,
            "Document each mount under a {<mount>_mount_path} parameter instead of its path.",
        ),
    }
    return [
        Path(
            "internal/specs/openapi",
            {Operation.READ: _document, Operation.UPDATE: _document},
            fields,
            synopsis="An OpenAPI 3 document of the mounted paths the caller can reach.",
        ),
    ]
