"""A tiny leased-secret engine for the lease manager's tests (type "leasetest").

`creds/{name}` issues a secret leased for the role's ttl/max_ttl; its revoke callback
records the revocation in the mount's storage, and fails while `config/fail` is set.
"""

from __future__ import annotations

import json
import secrets

import pytest

from chalicelib.core.errors import BadRequest
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.framework import Backend, Field, FieldData, FieldType, Path
from chalicelib.leases.secret import LeaseInfo, Secret, SecretType
from chalicelib.storage.view import StorageView
from tests.support import VaultHTTP

TYPE = "leasetest"


def _issue(request: Request, data: FieldData) -> Response:
    assert request.storage is not None
    role = request.storage.get_json(f"roles/{data['name']}") or {}
    ident = secrets.token_hex(8)
    request.storage.put_json(f"issued/{ident}", {"role": data["name"]})
    secret = Secret(
        "thing",
        {"id": ident},
        ttl=role.get("ttl", 0),
        max_ttl=role.get("max_ttl", 0),
        renewable=role.get("renewable", True),
    )
    return Response(data={"id": ident}, secret=secret)


def _role(request: Request, data: FieldData) -> None:
    assert request.storage is not None
    request.storage.put_json(
        f"roles/{data['name']}",
        {"ttl": data["ttl"], "max_ttl": data["max_ttl"], "renewable": data["renewable"]},
    )


def _fail(request: Request, data: FieldData) -> None:
    assert request.storage is not None
    request.storage.put_json("config/fail", {"fail": data["fail"]})


def _revoke(view: StorageView, lease: LeaseInfo) -> None:
    if (view.get_json("config/fail") or {}).get("fail"):
        raise BadRequest("the test engine refuses to revoke")
    view.delete(f"issued/{lease.internal['id']}")
    # expected_version=0: a second revocation of the same secret fails loudly.
    view.put(f"revoked/{lease.internal['id']}", json.dumps(lease.lease_id).encode(),
             expected_version=0)


def _renew(view: StorageView, lease: LeaseInfo) -> Secret:
    return Secret("thing", lease.internal, ttl=0, max_ttl=0)


def backend() -> Backend:
    role_fields = {
        "ttl": Field(FieldType.DURATION, default=0),
        "max_ttl": Field(FieldType.DURATION, default=0),
        "renewable": Field(FieldType.BOOL, default=True),
    }
    return Backend(
        type_name=TYPE,
        paths=[
            Path("creds/{name}", {Operation.READ: _issue, Operation.UPDATE: _issue},
                 side_effects=True),  # a read issues a leased secret
            Path("roles/{name}", {Operation.UPDATE: _role}, role_fields),
            Path("config/fail", {Operation.UPDATE: _fail}, {"fail": Field(FieldType.BOOL)}),
        ],
        secrets=[SecretType("thing", revoke=_revoke, renew=_renew)],
    )


@pytest.fixture
def lease_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    """Registers the test engine type for one test."""
    from chalicelib.engines import registry

    monkeypatch.setitem(registry.SECRETS_ENGINES, TYPE, f"{__name__}:backend")
    registry.backend_for.cache_clear()


@pytest.fixture(name="things")
def short_and_long_roles(vault: VaultHTTP) -> VaultHTTP:
    """`things`: a leasetest mount at things/ with a role leasing for 5 s and one for an hour."""
    assert vault.post("sys/mounts/things", {"type": "leasetest"}).status_code == 204
    assert vault.post("things/roles/short", {"ttl": "5s"}).status_code == 204
    assert vault.post("things/roles/long", {"ttl": "1h"}).status_code == 204
    return vault
