"""hvac adapters for Lambdavault: over lambda:Invoke, and over API Gateway.

    client = hvac.Client(adapter=LambdaAdapter(function_name="lambdavault-prod-Invoke-…"))
    client = hvac.Client(url=API_URL, adapter=ApiGatewayAdapter)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import requests

from chalicelib.clients.transport import INVOKE_BASE_URI, LambdaTransport

try:
    from hvac.adapters import JSONAdapter
except ImportError as missing:  # hvac is the consumer's dependency, not Lambdavault's
    raise ImportError("the Lambdavault hvac adapters need hvac: pip install hvac") from missing

if TYPE_CHECKING:
    from botocore.client import BaseClient

__all__ = ["ApiGatewayAdapter", "LambdaAdapter"]


class LambdaAdapter(JSONAdapter):
    """hvac's JSON adapter with lambda:Invoke in place of HTTP.

    hvac's request code runs unchanged (headers, query parameters, LIST, and its usual
    exceptions for error statuses); only the transport differs. ``hvac.Client`` calls its
    ``adapter`` argument with its own settings (token, namespace, timeout): an instance
    answers that call with a fresh adapter bound to the same function, so both
    ``adapter=LambdaAdapter(function_name=...)`` and using an instance directly work.
    """

    def __init__(
        self,
        function_name: str,
        *,
        lambda_client: BaseClient | None = None,
        **kwargs: Any,
    ) -> None:
        self.function_name = function_name
        self.lambda_client = lambda_client
        kwargs.pop("base_uri", None)  # the client's VAULT_ADDR means nothing over Invoke
        session = requests.Session()
        session.mount(INVOKE_BASE_URI, LambdaTransport(function_name, lambda_client))
        kwargs["session"] = session
        super().__init__(base_uri=INVOKE_BASE_URI, **kwargs)

    def __call__(self, **client_settings: Any) -> LambdaAdapter:
        return LambdaAdapter(
            self.function_name, lambda_client=self.lambda_client, **client_settings
        )


class ApiGatewayAdapter(JSONAdapter):
    """hvac's JSON adapter for a deployed Lambdavault: API Gateway cannot carry the LIST
    verb, so every LIST goes out as ``GET ?list=true`` (Vault treats both the same)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["strict_http"] = True
        super().__init__(*args, **kwargs)
