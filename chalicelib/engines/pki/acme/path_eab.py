"""External account binding keys, managed through Vault's API (authenticated, Vault's
envelope), as OpenBao's path_acme_eab.go: ``<directory>/new-eab`` creates one for that
directory, ``eab/`` lists the unused ones, ``eab/<key_id>`` deletes one. The HMAC key is
shown only in new-eab's answer."""

from __future__ import annotations

import os
import uuid

from chalicelib.core.errors import BadRequest
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.engines.pki.acme import jws, state
from chalicelib.engines.pki.acme.context import PREFIXES, directory_of
from chalicelib.framework import FieldData, Path
from chalicelib.framework.storage import PAGE_FIELDS, page, view_of

# OpenBao prefixes every key with these bytes, so no encoded key starts with "-" (which
# command lines would take for an option): base64url("vault-eab-0-") decoded.
_KEY_PREFIX = jws.b64decode("vault-eab-0-")
_KEY_BYTES = 32


def _shown(eab: state.EabKey) -> dict[str, str]:
    return {"key_type": eab.key_type, "acme_directory": eab.directory + "directory",
            "created_on": state.rfc3339(eab.created_on)}


def path_new_eab(request: Request, _data: FieldData) -> Response:
    eab = state.EabKey(id=state.new_id(), key_type="hs",
                       key=jws.b64encode(_KEY_PREFIX + os.urandom(_KEY_BYTES)),
                       directory=directory_of(request.relative_path),
                       created_on=state.now())
    state.save_eab(view_of(request), eab)
    return Response(data={"id": eab.id, **_shown(eab), "key": eab.key})


def path_eab_list(request: Request, data: FieldData) -> Response | None:
    view = view_of(request)
    eabs = state.load_eabs(view, page(state.eab_ids(view), data["after"], data["limit"]))
    if not eabs:
        return None
    return Response(data={"keys": [eab.id for eab in eabs],
                          "key_info": {eab.id: _shown(eab) for eab in eabs}})


def path_eab_delete(request: Request, data: FieldData) -> Response | None:
    key_id = data["key_id"]
    try:
        uuid.UUID(key_id)
    except ValueError:
        raise BadRequest("badly formatted key_id field") from None
    if not state.consume_eab(view_of(request), key_id):
        return Response(warnings=[f"No key id found with id: {key_id}"])
    return None


def paths() -> list[Path]:
    return [
        *(Path(prefix + "new-eab", {Operation.CREATE: path_new_eab,
                                    Operation.UPDATE: path_new_eab},
               synopsis="Create an EAB key for this ACME directory.")
          for prefix in PREFIXES),
        Path("eab/?", {Operation.LIST: path_eab_list}, fields=PAGE_FIELDS,
             synopsis="List unused EAB keys."),
        Path("eab/{key_id}", {Operation.DELETE: path_eab_delete},
             synopsis="Delete an unused EAB key."),
    ]
