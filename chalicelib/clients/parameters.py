"""A Powertools Parameters provider for KV v2 secrets in Lambdavault, cached per container.

    vault = VaultProvider(function_name=os.environ["LAMBDAVAULT_FUNCTION"])
    db = vault.get("apps/orders/db", max_age=300)  # {"username": ..., "password": ...}
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.parameters import BaseProvider

from chalicelib.clients.adapters import LambdaAdapter

if TYPE_CHECKING:
    import hvac

__all__ = ["VaultProvider"]


class VaultProvider(BaseProvider):
    """Reads KV v2 secrets (their ``data`` map) through an hvac client.

    Without ``client``, one is built over lambda:Invoke of ``function_name``; hvac finds the
    token in ``VAULT_TOKEN`` unless ``token`` is given. Caching, ``max_age``,
    ``force_fetch`` and transforms are Powertools' own.
    """

    def __init__(
        self,
        function_name: str | None = None,
        *,
        client: hvac.Client | None = None,
        token: str | None = None,
        mount_point: str = "secret",
    ) -> None:
        if client is None:
            if not function_name:
                raise ValueError("VaultProvider needs a function_name or an hvac client")
            import hvac

            client = hvac.Client(token=token, adapter=LambdaAdapter(function_name))
        self.vault = client
        self.mount_point = mount_point
        super().__init__(client=client)

    def _get(self, name: str, **sdk_options: Any) -> dict[str, Any]:
        """The latest version's data (``version=`` in sdk_options reads an older one)."""
        kv = self.vault.secrets.kv.v2
        response = kv.read_secret_version(
            path=name, mount_point=self.mount_point, raise_on_deleted_version=True, **sdk_options
        )
        data: dict[str, Any] = response["data"]["data"]
        return data

    def _get_multiple(self, path: str, **sdk_options: Any) -> dict[str, Any]:
        """Every secret directly under ``path`` (sub-folders are not descended)."""
        kv = self.vault.secrets.kv.v2
        keys = kv.list_secrets(path=path, mount_point=self.mount_point)["data"]["keys"]
        folder = path.strip("/")
        return {
            key: self._get(f"{folder}/{key}" if folder else key, **sdk_options)
            for key in keys
            if not key.endswith("/")
        }
