"""A Powertools Parameters provider for KV v2 secrets in Lambdavault, cached per container.

    vault = VaultProvider(function_name=os.environ["LAMBDAVAULT_FUNCTION"])
    db = vault.get("apps/orders/db", max_age=300)  # {"username": ..., "password": ...}

    # No token anywhere: log in to the aws auth method as this function's IAM role.
    vault = VaultProvider(function_name=os.environ["LAMBDAVAULT_FUNCTION"], aws_role="orders")
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.parameters import BaseProvider

from chalicelib.clients.adapters import ApiGatewayAdapter, LambdaAdapter

if TYPE_CHECKING:
    import hvac

__all__ = ["VaultProvider"]


class VaultProvider(BaseProvider):
    """Reads KV v2 secrets (their ``data`` map) through an hvac client.

    Without ``client``, one is built over lambda:Invoke of ``function_name`` (or over
    HTTPS to API Gateway at ``url``); hvac finds the token in ``VAULT_TOKEN`` unless
    ``token`` is given, or, with ``aws_role``, the client logs in to the aws auth method
    mounted at ``aws_mount`` as the function's own IAM role. Caching, ``max_age``,
    ``force_fetch`` and transforms are Powertools' own.
    """

    def __init__(
        self,
        function_name: str | None = None,
        *,
        client: hvac.Client | None = None,
        token: str | None = None,
        mount_point: str = "secret",
        url: str | None = None,
        aws_role: str | None = None,
        aws_mount: str = "aws",
        header_value: str | None = None,
        aws_sts_region: str | None = None,
    ) -> None:
        if client is None:
            import hvac

            login = {
                "aws_role": aws_role, "aws_mount": aws_mount, "header_value": header_value,
                "aws_sts_region": aws_sts_region,
            }  # fmt: skip
            if function_name:
                client = hvac.Client(token=token, adapter=LambdaAdapter(function_name, **login))
            elif url:
                client = hvac.Client(url=url, token=token, adapter=ApiGatewayAdapter, **login)
            else:
                raise ValueError("VaultProvider needs a function_name, a url or an hvac client")
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
