"""OpenBao's SSH issuer endpoints: `issuers` (LIST), `issuers/import[/<name>]`,
`issuer/<ref>` (read, rename, delete), the unauthenticated `issuer/<ref>/public_key`,
and `config/issuers` (which issuer is the default).

A reference is "default" (in any case), an issuer id or an issuer name. Changes go
through ca.py, where config/issuers' version keeps racing changes from both winning.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from chalicelib.core import jsonio
from chalicelib.core.errors import BadRequest, NotFound, multierror
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.engines.ssh import ca
from chalicelib.engines.ssh.path_config_ca import (
    PUBLIC_KEY_HEADERS,
    SUBMIT_FIELDS,
    refusal,
    submit_issuer,
)
from chalicelib.engines.ssh.role import ROLE_PREFIX
from chalicelib.framework import Field, FieldData, FieldType, Path
from chalicelib.framework.field import replaced_by_path
from chalicelib.framework.storage import PAGE_FIELDS, page, view_of
from chalicelib.storage.view import StorageView

# OpenBao's checkForRolesReferencingIssuer stops after this many roles, or matches.
_ROLES_SCANNED = 100
_ROLES_FOUND = 10


def _reference(text: str) -> str:
    """OpenBao's extractRef: trimmed, and "default" in any case means the default."""
    value = text.strip()
    return ca.DEFAULT_REF if value.lower() == ca.DEFAULT_REF else value


def _routed(name: str) -> str:
    """A path segment OpenBao's GenericNameRegex does not match routes nowhere there."""
    if not ca.ISSUER_NAME.fullmatch(name):
        raise NotFound(multierror("unsupported path"))
    return name


def dereferencing_warnings(view: StorageView, reference: str) -> list[str]:
    """OpenBao's addWarningOnDereferencing: roles whose issuer_ref is ``reference``,
    counted over the first roles only."""
    names = view.list(ROLE_PREFIX)[:_ROLES_SCANNED]
    entries = view.get_many([ROLE_PREFIX + name for name in names])
    in_use = 0
    for checked, name in enumerate(names, 1):
        entry = entries.get(ROLE_PREFIX + name)
        if entry is not None and jsonio.loads(entry.value).get("issuer_ref", "") == reference:
            in_use += 1
            if in_use >= _ROLES_FOUND:
                break
        if checked >= _ROLES_SCANNED:
            break
    else:
        return [f"{in_use} roles reference '{reference}'"] if in_use else []
    if in_use:
        return [f"The name '{reference}' was in use by at least {in_use} roles"]
    return [f"Unable to check if any roles referenced this issuer by '{reference}'"]


def _resolved(request: Request, data: FieldData) -> ca.Issuer:
    try:
        return ca.Issuers(view_of(request)).resolve(_reference(_routed(data["issuer_ref"])))
    except ca.CAError as error:
        raise refusal(error) from None


def path_issuers_list(request: Request, data: FieldData) -> Response | None:
    issuers = ca.Issuers(view_of(request))
    found = issuers.fetch_many(page(issuers.ids, data["after"], data["limit"]))
    if not found:
        return None
    key_info = {
        issuer.id: {"is_default": issuer.id == issuers.default_id,
                    "issuer_name": issuer.name, "public_key": issuer.public_key}
        for issuer in found
    }
    return Response(data={"keys": [issuer.id for issuer in found], "key_info": key_info})


def path_issuers_import_write(request: Request, data: FieldData) -> Response:
    """`issuers/import`: OpenBao captures an empty name there, whatever the body says."""
    response = submit_issuer(request, data, "", set_default=data["set_default"])
    response.warnings += replaced_by_path(request.data, ("issuer_name",))
    return response


def path_issuers_import_named_write(request: Request, data: FieldData) -> Response:
    name = _routed(data["issuer_name"])
    response = submit_issuer(request, data, name, set_default=data["set_default"])
    response.warnings += replaced_by_path(request.data, ("issuer_name",))
    return response


def path_issuer_read(request: Request, data: FieldData) -> Response:
    return Response(data=ca.issuer_view(_resolved(request, data)),
                    warnings=replaced_by_path(request.data, ("issuer_ref",)))


def path_issuer_write(request: Request, data: FieldData) -> Response:
    """A rename; a write without issuer_name clears the name (as OpenBao)."""
    view = view_of(request)
    name = data["issuer_name"] if "issuer_name" in request.data else None
    try:
        issuer, old_name = ca.rename_issuer(view, _reference(_routed(data["issuer_ref"])),
                                            name)
    except ca.CAError as error:
        raise refusal(error) from None
    warnings = [] if old_name is None else dereferencing_warnings(view, old_name)
    return Response(data=ca.issuer_view(issuer),
                    warnings=warnings + replaced_by_path(request.data, ("issuer_ref",)))


def path_issuer_delete(request: Request, data: FieldData) -> Response | None:
    """An unknown reference deletes nothing, silently; deleting the default leaves the
    mount without one."""
    view = view_of(request)
    reference = _reference(_routed(data["issuer_ref"]))
    deleted = ca.delete_issuer(view, reference)
    if deleted is None:
        return None
    issuer, was_default = deleted
    warnings = dereferencing_warnings(view, issuer.name) if issuer.name else []
    warnings += dereferencing_warnings(view, issuer.id)
    if was_default:
        warnings.append(
            f"Deleted issuer {issuer.id} (via issuer_ref {reference}); this was configured "
            "as the default issuer. Operations without an explicit issuer will not work "
            "until a new default is configured."
        )
        warnings += dereferencing_warnings(view, ca.DEFAULT_REF)
    return Response(warnings=warnings) if warnings else None


def path_issuer_public_key_read(request: Request, data: FieldData) -> Response:
    """The issuer's public key as a bare text/plain body, as `public_key` serves the
    default's."""
    return Response(raw=_resolved(request, data).public_key, headers=dict(PUBLIC_KEY_HEADERS))


def path_config_issuers_read(request: Request, data: FieldData) -> Response:
    default_id = ca.Issuers(view_of(request)).default_id
    if not default_id:
        raise BadRequest(ca.NO_DEFAULT)
    return Response(data={"default": default_id})


def path_config_issuers_write(request: Request, data: FieldData) -> Response:
    reference = _reference(data["default"])
    if not reference or reference == ca.DEFAULT_REF:
        raise BadRequest(
            "invalid issuer specification; must be non-empty and can't be 'default'.")
    try:
        issuer_id, previous = ca.set_default_issuer(view_of(request), reference)
    except ca.CAError as error:
        raise refusal(error) from None
    if issuer_id == previous:
        return Response(warnings=["The default issuer is already set to the specified issuer."])
    warnings = []
    if previous:
        resolved = f" (resolved to {issuer_id})" if issuer_id != reference else ""
        warnings.append(f"Previous default ({previous}) has been updated with the issuer "
                        f"'{reference}'{resolved}")
    return Response(data={"default": issuer_id}, warnings=warnings)


def prefetch_issuer(captures: Mapping[str, str]) -> Sequence[str]:
    """What resolving the reference reads first: the default pointer, or the issuer an
    id names."""
    reference = _reference(captures["issuer_ref"])
    if reference == ca.DEFAULT_REF:
        return [ca.ISSUERS_CONFIG_KEY]
    return [ca.ISSUER_PREFIX + reference] if len(reference) == ca.UUID_LENGTH else []


def prefetch_config(captures: Mapping[str, str]) -> Sequence[str]:
    return [ca.ISSUERS_CONFIG_KEY]


_REF_FIELD = {
    "issuer_ref": Field(FieldType.STRING, ca.DEFAULT_REF,
                        'The issuer: "default", an issuer id or an issuer name.'),
}
_NAME_FIELD = Field(FieldType.STRING, "", "The issuer's name: unique, not 'default'.")
_IMPORT_FIELDS = {
    **SUBMIT_FIELDS,
    "issuer_name": _NAME_FIELD,
    "set_default": Field(FieldType.BOOL, False, "Make the new issuer the default one."),
}


def paths() -> list[Path]:
    return [
        Path("issuers/?", {Operation.LIST: path_issuers_list}, fields=PAGE_FIELDS,
             synopsis="List the mount's issuers, with their names and public keys."),
        Path("issuers/import", {Operation.UPDATE: path_issuers_import_write},
             fields=_IMPORT_FIELDS, synopsis="Generate or import an issuer."),
        Path("issuers/import/{issuer_name}", {Operation.UPDATE: path_issuers_import_named_write},
             fields=_IMPORT_FIELDS, synopsis="Generate or import an issuer with this name."),
        Path(
            "issuer/{issuer_ref}",
            {
                Operation.READ: path_issuer_read,
                Operation.UPDATE: path_issuer_write,
                Operation.DELETE: path_issuer_delete,
            },
            fields={**_REF_FIELD, "issuer_name": _NAME_FIELD},
            prefetch=prefetch_issuer,
            synopsis="Read, rename or delete one issuer.",
        ),
        Path("issuer/{issuer_ref}/public_key", {Operation.READ: path_issuer_public_key_read},
             fields=_REF_FIELD, prefetch=prefetch_issuer,
             synopsis="An issuer's public key, for sshd's TrustedUserCAKeys."),
        Path(
            "config/issuers",
            {Operation.READ: path_config_issuers_read,
             Operation.UPDATE: path_config_issuers_write},
            fields={"default": Field(FieldType.STRING, "", "The issuer to make the default.")},
            prefetch=prefetch_config,
            synopsis="Read or choose the default issuer.",
        ),
    ]
