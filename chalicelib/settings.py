"""Deployment settings, read from the environment once, lazily (nothing at import time)."""

import os
from functools import cache
from typing import NamedTuple


# A NamedTuple: defined on every cold start, where a frozen dataclass costs ~7x more.
class Settings(NamedTuple):
    table_name: str
    kms_key_id: str
    audit_bucket: str
    audit_stream: str
    # The s3 device's default ``streams`` option: a count or stream names (devices.s3).
    audit_streams: str
    region: str
    endpoint_url: str | None
    cluster_name: str
    tracing: bool
    metrics: bool
    default_lease_ttl: int
    max_lease_ttl: int
    cluster_state_ttl: float
    # `lambdavault server -dev`: ACME may validate loopback names, on the ports below.
    dev_mode: bool = False
    acme_http01_port: int = 80
    acme_tls_alpn01_port: int = 443
    # Vault's unauthenticated sys/generate-root/* (hvac's root generation). Off by default,
    # as OpenBao's disable_unauthed_generate_root_endpoints: anyone could cancel an
    # operator's attempt (CVE-2026-5807). sys/generate-root-token/* needs a token.
    unauthed_generate_root: bool = False
    # A read that writes without declaring side_effects raises instead of being logged
    # (storage/writeguard); the test suite sets it.
    strict_side_effects: bool = False

    @classmethod
    def from_environ(cls, environ: os._Environ[str] | dict[str, str] = os.environ) -> "Settings":
        def get(name: str, default: str) -> str:
            return environ.get(name, default)

        dev_mode = get("LAMBDAVAULT_DEV", "false").lower() == "true"
        return cls(
            table_name=get("LAMBDAVAULT_TABLE", "lambdavault"),
            kms_key_id=get("LAMBDAVAULT_KMS_KEY_ID", "alias/lambdavault"),
            audit_bucket=get("LAMBDAVAULT_AUDIT_BUCKET", "lambdavault-audit"),
            audit_stream=get("LAMBDAVAULT_AUDIT_STREAM", "lambdavault-audit"),
            audit_streams=get("LAMBDAVAULT_AUDIT_STREAMS", "1"),
            region=get("AWS_REGION", get("AWS_DEFAULT_REGION", "us-east-1")),
            endpoint_url=environ.get("AWS_ENDPOINT_URL") or None,
            cluster_name=get("LAMBDAVAULT_CLUSTER_NAME", "lambdavault"),
            tracing=get("LAMBDAVAULT_TRACING", "false").lower() == "true",
            metrics=get("POWERTOOLS_METRICS_DISABLED", "false").lower() != "true",
            # Vault's system-wide defaults: 32 days for both.
            default_lease_ttl=int(get("LAMBDAVAULT_DEFAULT_LEASE_TTL", "2764800")),
            max_lease_ttl=int(get("LAMBDAVAULT_MAX_LEASE_TTL", "2764800")),
            # How long a container trusts its cached cluster state before rereading it.
            cluster_state_ttl=float(get("LAMBDAVAULT_CLUSTER_STATE_TTL", "1")),
            dev_mode=dev_mode,
            # RFC 8555 fixes 80 and 443; only a dev server may move them (a test's certbot).
            acme_http01_port=int(get("LAMBDAVAULT_ACME_HTTP01_PORT", "80")) if dev_mode else 80,
            acme_tls_alpn01_port=(
                int(get("LAMBDAVAULT_ACME_TLS_ALPN01_PORT", "443")) if dev_mode else 443
            ),
            unauthed_generate_root=(
                get("LAMBDAVAULT_UNAUTHED_GENERATE_ROOT", "false").lower() == "true"
            ),
            strict_side_effects=get("LAMBDAVAULT_STRICT_SIDE_EFFECTS", "0") == "1",
        )


@cache
def settings() -> Settings:
    """The process-wide settings; tests call ``settings.cache_clear()`` after changing env."""
    return Settings.from_environ()
