"""botocore clients for AWS APIs other than storage and KMS (IAM, STS), built once per
container for each set of settings that shapes them.

Without static keys a client uses the default credential chain of the storage layer's
botocore session (in Lambda: the function's own role), so a cold start loads botocore's
models once. Cached by everything that shapes the client, so settings written through
another container take effect here on the next request, with no invalidation message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING

from chalicelib.core.errors import BadRequest

if TYPE_CHECKING:
    from botocore.client import BaseClient


@dataclass(frozen=True, slots=True)
class ClientSpec:
    service: str
    region: str
    endpoint_url: str | None
    max_retries: int  # negative: botocore's default retries
    access_key: str = ""
    secret_key: str = field(default="", repr=False)
    # Seconds; None leaves botocore's defaults (60 s each).
    connect_timeout: float | None = None
    read_timeout: float | None = None


@lru_cache(maxsize=16)
def client_for(spec: ClientSpec) -> BaseClient:
    from botocore.config import Config

    from chalicelib.storage.dynamotable import botocore_session

    options: dict[str, object] = {}
    if spec.max_retries >= 0:  # the retry count Vault's SDK takes
        options["retries"] = {"max_attempts": spec.max_retries}
    if spec.connect_timeout is not None:
        options["connect_timeout"] = spec.connect_timeout
    if spec.read_timeout is not None:
        options["read_timeout"] = spec.read_timeout
    try:
        return botocore_session().create_client(
            spec.service,
            region_name=spec.region,
            endpoint_url=spec.endpoint_url or None,
            aws_access_key_id=spec.access_key or None,
            aws_secret_access_key=spec.secret_key or None,
            config=Config(**options) if options else None,
        )
    except ValueError as error:
        # A configured endpoint or region botocore cannot use (" ", "x y"): the
        # configuration is the client's to fix, not a 500 (found by the fuzzer).
        raise BadRequest(f"error creating the {spec.service} client: {error}") from None
