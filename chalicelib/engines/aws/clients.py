"""IAM and STS clients for a mount's root configuration, built once per container.

Without static keys the clients use the default credential chain of the storage layer's
botocore session (in Lambda: the function's own role), so a cold start loads botocore's
models once. Static keys get a client of their own from the same session. Clients are
cached by everything that shapes them, so a config/root written through another
container takes effect here on the next request, with no invalidation message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING

from chalicelib.engines.aws.config import RootConfig
from chalicelib.settings import settings

if TYPE_CHECKING:
    from botocore.client import BaseClient


@dataclass(frozen=True, slots=True)
class ClientSpec:
    service: str
    region: str
    endpoint_url: str | None
    max_retries: int
    access_key: str = ""
    secret_key: str = field(default="", repr=False)


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


@lru_cache(maxsize=16)
def client_for(spec: ClientSpec) -> BaseClient:
    from botocore.config import Config

    from chalicelib.storage.dynamodb import botocore_session

    # Negative: botocore's default retries; otherwise the retry count Vault's SDK takes.
    retries = None if spec.max_retries < 0 else Config(retries={"max_attempts": spec.max_retries})
    return botocore_session().create_client(
        spec.service,
        region_name=spec.region,
        endpoint_url=spec.endpoint_url,
        aws_access_key_id=spec.access_key or None,
        aws_secret_access_key=spec.secret_key or None,
        config=retries,
    )
