"""IAM and STS clients for a mount's root configuration (chalicelib.core.awsclient builds
and caches them): the function's own role, or the configured static keys."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.core.awsclient import ClientSpec, client_for
from chalicelib.engines.aws.config import RootConfig
from chalicelib.settings import settings

if TYPE_CHECKING:
    from botocore.client import BaseClient


def spec_for(service: str, config: RootConfig) -> ClientSpec:
    """Vault's precedence: the configured region, else AWS_REGION, AWS_DEFAULT_REGION,
    us-east-1; the configured endpoint, else AWS_ENDPOINT_URL (the dev server's moto)."""
    env = settings()
    endpoint = config.iam_endpoint if service == "iam" else config.sts_endpoint
    keys = (config.access_key, config.secret_key) if config.has_static_keys else ("", "")
    return ClientSpec(
        service=service,
        region=config.region or env.region,
        endpoint_url=endpoint or env.endpoint_url,
        max_retries=config.max_retries,
        access_key=keys[0],
        secret_key=keys[1],
    )


def iam_client(config: RootConfig) -> BaseClient:
    return client_for(spec_for("iam", config))


def sts_client(config: RootConfig) -> BaseClient:
    return client_for(spec_for("sts", config))
