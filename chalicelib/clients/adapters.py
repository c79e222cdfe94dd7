"""hvac adapters for Lambdavault: over lambda:Invoke, and over API Gateway.

    client = hvac.Client(adapter=LambdaAdapter(function_name="lambdavault-prod-Invoke-…"))
    client = hvac.Client(url=API_URL, adapter=ApiGatewayAdapter)

With ``aws_role=`` no token is configured at all: the adapter logs in to the aws auth
method as the running function's IAM role and keeps the token fresh (see aws_login):

    client = hvac.Client(adapter=LambdaAdapter(FUNCTION, aws_role="orders"))
    client = hvac.Client(url=API_URL, adapter=ApiGatewayAdapter, aws_role="orders")
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import requests

from chalicelib.clients import aws_login
from chalicelib.clients.transport import INVOKE_BASE_URI, LambdaTransport

try:
    from hvac.adapters import JSONAdapter
    from hvac.exceptions import Forbidden, VaultError
except ImportError as missing:  # hvac is the consumer's dependency, not Lambdavault's
    raise ImportError("the Lambdavault hvac adapters need hvac: pip install hvac") from missing

if TYPE_CHECKING:
    from botocore.client import BaseClient

__all__ = ["ApiGatewayAdapter", "LambdaAdapter"]


class _RoleLoginAdapter(JSONAdapter):
    """hvac's JSON adapter that, given ``aws_role``, brings its own token to every
    request. A request refused with 403 because its token is no longer valid (revoked,
    expired: lookup-self is refused too) is retried once after a fresh login; a refused
    login surfaces as hvac's ``Forbidden``."""

    def __init__(
        self,
        *args: Any,
        aws_role: str | None = None,
        aws_mount: str = "aws",
        header_value: str | None = None,
        aws_sts_region: str | None = None,
        login_target: str = "",
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.aws_settings = {
            "aws_role": aws_role, "aws_mount": aws_mount, "header_value": header_value,
            "aws_sts_region": aws_sts_region,
        }  # fmt: skip
        self.role_login = None
        if aws_role:
            target = login_target or self.base_uri
            self.role_login = aws_login.AwsRoleLogin(
                target, aws_role, aws_mount, header_value, aws_sts_region
            )

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        if self.role_login is None:
            return super().request(method, url, *args, **kwargs)
        token = self._login_token()
        try:
            return self._as(token, method, url, *args, **kwargs)
        except Forbidden:
            # Vault says 403 for a policy refusal too: only a dead token is replaced.
            if self._alive(token) or not aws_login.forget(self.role_login, token):
                raise
        return self._as(self._login_token(), method, url, *args, **kwargs)

    def _alive(self, token: str) -> bool:
        try:
            self._as(token, "GET", "/v1/auth/token/lookup-self")
        except VaultError:
            return False
        return True

    def _login_token(self) -> str:
        assert self.role_login is not None
        try:
            return aws_login.cached_token(self.role_login, self._call)
        except Forbidden:
            raise
        except VaultError as refused:  # the login itself was refused (e.g. ARN unbound)
            reason = f"aws login as role {self.role_login.role!r} refused: {refused}"
            raise Forbidden(errors=[reason], method=refused.method, url=refused.url) from refused

    def _call(self, method: str, url: str, body: dict[str, Any] | None, token: str | None) -> Any:
        return self._as(token, method, url, json=body)

    def _as(self, token: str | None, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        self.token = token
        return super().request(method, url, *args, **kwargs)


class LambdaAdapter(_RoleLoginAdapter):
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
        super().__init__(base_uri=INVOKE_BASE_URI, login_target=function_name, **kwargs)

    def __call__(self, **client_settings: Any) -> LambdaAdapter:
        return LambdaAdapter(
            self.function_name,
            lambda_client=self.lambda_client,
            **self.aws_settings,
            **client_settings,
        )


class ApiGatewayAdapter(_RoleLoginAdapter):
    """hvac's JSON adapter for a deployed Lambdavault: API Gateway cannot carry the LIST
    verb, so every LIST goes out as ``GET ?list=true`` (Vault treats both the same)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["strict_http"] = True
        super().__init__(*args, **kwargs)
