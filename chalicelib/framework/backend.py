"""A backend: the declared paths of one engine, auth method or the system mount."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING

from chalicelib.core.errors import NotFound, UnsupportedOperation, multierror
from chalicelib.core.globs import matches_wildcard_path
from chalicelib.core.operation import Operation
from chalicelib.framework.path import Path, PathMatch

if TYPE_CHECKING:
    from collections.abc import Callable

    from chalicelib.core.mounts import MountEntry
    from chalicelib.core.request import Request, Response
    from chalicelib.framework.login import LoginRenewal
    from chalicelib.framework.tokenfields import TokenSettings
    from chalicelib.leases.secret import SecretType
    from chalicelib.storage.view import StorageView

    # Called with the auth mount's storage view.
    RenewLogin = Callable[[StorageView, LoginRenewal], TokenSettings]


def matches_special(patterns: Sequence[str], path: str) -> bool:
    """Vault's PathsSpecial matching: exact, or prefix when the pattern ends in ``*``; a
    ``+`` segment stands for any one segment (``issuer/+/pem``)."""
    exact, prefixes, wildcards = _split_special(tuple(patterns))
    return path in exact or path.startswith(prefixes) or any(
        matches_wildcard_path(segments, is_prefix, path.split("/"))
        for segments, is_prefix in wildcards
    )


@cache
def _split_special(
    patterns: tuple[str, ...],
) -> tuple[frozenset[str], tuple[str, ...], tuple[tuple[tuple[str, ...], bool], ...]]:
    # Checked twice per request (unauthenticated, sudo): one set lookup and one C-level
    # startswith over all prefixes instead of a Python loop; the few "+" patterns after.
    plain = [p for p in patterns if "+" not in p.split("/")]
    exact = frozenset(p for p in plain if not p.endswith("*"))
    prefixes = tuple(p[:-1] for p in plain if p.endswith("*"))
    wildcards = tuple(
        (tuple(p.removesuffix("*").split("/")), p.endswith("*"))
        for p in patterns if p not in plain
    )
    return exact, prefixes, wildcards


@dataclass(frozen=True)
class Backend:
    """Routing, validation and dispatch for one mount type, driven only by declarations."""

    type_name: str
    paths: Sequence[Path]
    description: str = ""
    unauthenticated: Sequence[str] = ()
    sudo: Sequence[str] = ()
    # The kinds of leased secret this backend issues, with their renew/revoke callbacks.
    secrets: Sequence[SecretType] = field(default_factory=tuple)
    # An auth method's answer when a token its login issued is renewed (OpenBao's
    # AuthRenew): the current settings, or an error when the login no longer stands.
    renew_login: RenewLogin | None = None

    def for_mount(self, mount: MountEntry) -> Backend:
        """The backend that serves ``mount``: this one, unless what a mount of this type
        serves depends on its options (kv's version). The pipeline routes with it."""
        return self

    def match(self, relative_path: str) -> PathMatch:
        for path in self.paths:
            found = path.regex.match(relative_path)
            if found:
                # Every placeholder is a mandatory group (compile_pattern): none is None.
                return PathMatch(path, found.groupdict())
        raise NotFound(multierror("unsupported path"))

    def resolve_write(self, request: Request, match: PathMatch) -> Operation:
        """CREATE or UPDATE for a POST/PUT, through the path's existence check (ACL needs it)."""
        if match.path.exists is None:
            return Operation.UPDATE if Operation.UPDATE in match.path.operations else (
                Operation.CREATE
            )
        data = match.path.parse(match.captures, request.data)
        return Operation.UPDATE if match.path.exists(request, data) else Operation.CREATE

    def handle(self, request: Request, match: PathMatch) -> Response | None:
        operations = match.path.operations
        handler = operations.get(request.operation)
        if handler is None and request.operation in (Operation.CREATE, Operation.UPDATE):
            # A path with one write handler serves both (Vault: no existence check = update).
            handler = operations.get(Operation.UPDATE) or operations.get(Operation.CREATE)
        if handler is None:
            raise UnsupportedOperation(multierror("unsupported operation"))
        data = match.path.parse(match.captures, request.data)
        response = handler(request, data)
        # As Vault: ignored parameters are mentioned only when there is a response to carry it.
        if response is not None and data.unknown:
            response.warnings.append(
                "Endpoint ignored these unrecognized parameters: [" + " ".join(data.unknown) + "]"
            )
        return response

    def secret_type(self, name: str) -> SecretType | None:
        return next((kind for kind in self.secrets if kind.name == name), None)

    def is_sudo(self, relative_path: str) -> bool:
        return matches_special(self.sudo, relative_path)

    def is_unauthenticated(self, relative_path: str) -> bool:
        return matches_special(self.unauthenticated, relative_path)
