"""Drive a backend directly, with the same routing and validation as production.

Engine tests build a backend over a barrier-encrypted storage view and send it requests;
no HTTP, no pipeline. (OpenBao tests its backends the same way.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chalicelib.core.errors import VaultError
from chalicelib.core.mounts import MountEntry
from chalicelib.core.operation import Operation
from chalicelib.core.render import render, render_error
from chalicelib.core.request import HttpReply, Request
from chalicelib.framework.backend import Backend
from chalicelib.storage.barrier import Barrier, Keyring
from chalicelib.storage.physical import Physical
from chalicelib.storage.view import StorageView
from chalicelib.tokens.entry import TokenEntry


@dataclass
class BackendHarness:
    """A backend mounted at ``mount.path`` over its own view of ``physical``."""

    backend: Backend
    mount: MountEntry
    physical: Physical
    token: TokenEntry = field(
        default_factory=lambda: TokenEntry(accessor="test-accessor", policies=("root",))
    )
    client_token: str = "hvs.test"  # noqa: S105 - a fake token for tests

    def __post_init__(self) -> None:
        self.barrier = Barrier(self.physical, Keyring.generate())
        self.storage = StorageView(self.barrier, self.mount.storage_prefix)

    def send(
        self, operation: Operation, path: str, data: dict[str, Any] | None = None
    ) -> HttpReply:
        """One request; POST/PUT should pass UPDATE and the existence check decides."""
        request = Request(
            operation=operation,
            path=self.mount.router_path + path,
            data=dict(data or {}),
            client_token=self.client_token,
            mount=self.mount,
            mount_path=self.mount.router_path,
            storage=self.storage,
            token=self.token,
        )
        backend = self.backend.for_mount(self.mount)  # as the pipeline routes
        try:
            match = backend.match(path)
            if operation in (Operation.CREATE, Operation.UPDATE):
                request.operation = backend.resolve_write(request, match)
            response = backend.handle(request, match)
        except VaultError as error:
            return render_error(error)
        return render(request, response)
