"""config/client and config/identity: how the mount reaches AWS, and how logins are named.

Both live behind the barrier in the mount's storage; the secret key is never returned.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from chalicelib.core.records import build
from chalicelib.storage.view import StorageView

CLIENT_KEY = "config/client"
IDENTITY_KEY = "config/identity"
# Where Vault sends a caller's request when no sts_endpoint is configured.
DEFAULT_STS_ENDPOINT = "https://sts.amazonaws.com"
# iam_alias values: the alias of an entity is the role's ID, the caller's unique ID, its
# full ARN as STS reports it, or its canonical ARN (a role session counts as its role).
ALIAS_KINDS = ("role_id", "unique_id", "full_arn", "canonical_arn")
# OpenBao's iamAuthMetadataFields: always offered, and on by default.
DEFAULT_METADATA = ("account_id", "auth_type")
OPTIONAL_METADATA = (
    "canonical_arn", "client_arn", "client_user_id",
    "inferred_aws_region", "inferred_entity_id", "inferred_entity_type",
)  # fmt: skip


class ClientConfig(NamedTuple):
    access_key: str = ""
    secret_key: str = ""
    iam_endpoint: str = ""
    sts_endpoint: str = ""
    sts_region: str = ""
    use_sts_region_from_client: bool = False
    iam_server_id_header_value: str = ""
    allowed_sts_header_values: tuple[str, ...] | None = None
    # Negative: the SDK's default (three retries), as Vault's aws.UseServiceDefaultRetries.
    max_retries: int = -1

    def to_api(self) -> dict[str, Any]:
        shown = self._asdict()
        del shown["secret_key"]
        allowed = self.allowed_sts_header_values
        shown["allowed_sts_header_values"] = None if allowed is None else list(allowed)
        return shown

    @classmethod
    def from_storage(cls, raw: dict[str, Any]) -> ClientConfig:
        allowed = raw.get("allowed_sts_header_values")
        return build(
            cls, raw, allowed_sts_header_values=None if allowed is None else tuple(allowed)
        )


class IdentityConfig(NamedTuple):
    iam_alias: str = "role_id"
    # None: the default fields; a tuple (maybe empty): exactly those.
    iam_metadata: tuple[str, ...] | None = None

    @property
    def metadata_fields(self) -> tuple[str, ...]:
        return DEFAULT_METADATA if self.iam_metadata is None else self.iam_metadata

    def to_api(self) -> dict[str, Any]:
        return {"iam_alias": self.iam_alias, "iam_metadata": list(self.metadata_fields)}

    @classmethod
    def from_storage(cls, raw: dict[str, Any]) -> IdentityConfig:
        fields = raw.get("iam_metadata")
        return cls(raw.get("iam_alias") or "role_id", None if fields is None else tuple(fields))


def load_client(view: StorageView) -> ClientConfig | None:
    raw = view.get_json(CLIENT_KEY)
    return None if raw is None else ClientConfig.from_storage(raw)


def load_identity(view: StorageView) -> IdentityConfig:
    raw = view.get_json(IDENTITY_KEY)
    return IdentityConfig() if raw is None else IdentityConfig.from_storage(raw)


def canonical_header(name: str) -> str:
    """Go's textproto.CanonicalMIMEHeaderKey: ``x-amz-foo`` -> ``X-Amz-Foo``."""
    return "-".join(part[:1].upper() + part[1:].lower() for part in name.strip().split("-"))
