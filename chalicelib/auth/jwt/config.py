"""The mount's configuration (``config``): where keys come from and the OIDC client."""

from __future__ import annotations

from functools import lru_cache
from typing import Any, NamedTuple

from chalicelib.core import jsonio
from chalicelib.core.errors import BadRequest
from chalicelib.storage.view import StorageView

CONFIG_KEY = "config"
# What OpenBao accepts in jwt_supported_algs (cap's SupportedSigningAlgorithm): asymmetric
# only, so an HMAC "signed" with a public key can never be configured in.
SUPPORTED_ALGS = (
    "RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512", "EdDSA",
)  # fmt: skip
# An OIDC provider's ID tokens, when none is configured (OpenBao's createProvider).
OIDC_DEFAULT_ALGS = ("RS256",)
RESPONSE_CODE, RESPONSE_ID_TOKEN = "code", "id_token"
MODE_QUERY, MODE_FORM_POST = "query", "form_post"


class JWTConfig(NamedTuple):
    oidc_discovery_url: str = ""
    oidc_discovery_ca_pem: str = ""
    oidc_client_id: str = ""
    oidc_client_secret: str = ""
    oidc_response_mode: str = ""
    oidc_response_types: tuple[str, ...] = ()
    jwks_url: str = ""
    jwks_ca_pem: str = ""
    jwt_validation_pubkeys: tuple[str, ...] = ()
    jwt_supported_algs: tuple[str, ...] = ()
    bound_issuer: str = ""
    default_role: str = ""
    provider_config: dict[str, Any] = {}  # never mutated
    namespace_in_state: bool = True

    @property
    def oidc_flow(self) -> bool:
        """OpenBao's OIDCFlow auth type: discovery plus a client (auth_url works)."""
        return bool(self.oidc_discovery_url and self.oidc_client_id and self.oidc_client_secret)

    @property
    def algorithms(self) -> tuple[str, ...]:
        """What a JWT login accepts: every supported algorithm when none is configured,
        as OpenBao's path_login (AllowedJWTSignatureAlgorithmsBao)."""
        return self.jwt_supported_algs or SUPPORTED_ALGS

    @property
    def oidc_algorithms(self) -> tuple[str, ...]:
        """What the OIDC callback accepts of the provider's ID tokens."""
        return self.jwt_supported_algs or OIDC_DEFAULT_ALGS

    def has_type(self, kind: str) -> bool:
        """Whether the response types include ``kind`` ("code" when none is set)."""
        if not self.oidc_response_types:
            return kind == RESPONSE_CODE
        return kind in self.oidc_response_types

    def to_api(self) -> dict[str, Any]:
        """A read, as OpenBao shows it: everything but the client secret."""
        shown = self._asdict()
        del shown["oidc_client_secret"]
        for name in ("oidc_response_types", "jwt_validation_pubkeys", "jwt_supported_algs"):
            shown[name] = list(shown[name])
        return {**shown, "override_allowed_server_names": [], "status": "valid"}

    def to_storage(self) -> dict[str, Any]:
        return self._asdict()

    @classmethod
    def from_storage(cls, raw: dict[str, Any]) -> JWTConfig:
        lists = ("oidc_response_types", "jwt_validation_pubkeys", "jwt_supported_algs")
        return cls(**{**raw, **{name: tuple(raw.get(name) or ()) for name in lists}})


class StoredConfig(NamedTuple):
    config: JWTConfig
    # Names this configuration in the per-container key cache: a write changes it.
    cache_key: str


def load(view: StorageView) -> StoredConfig | None:
    entry = view.get(CONFIG_KEY)
    if entry is None:
        return None
    config = JWTConfig.from_storage(jsonio.loads(entry.value))
    return StoredConfig(config, f"{view.prefix}{CONFIG_KEY}@{entry.version}")


def require(view: StorageView, missing: str = "could not load configuration") -> StoredConfig:
    stored = load(view)
    if stored is None:
        raise BadRequest(missing)
    return stored


def save(view: StorageView, config: JWTConfig) -> None:
    view.put_json(CONFIG_KEY, config.to_storage())


@lru_cache(maxsize=32)
def public_key(pem: str) -> Any:
    """A PEM public key or certificate (OpenBao's ParsePublicKeyPEM), parsed once."""
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    data = pem.strip().encode()
    try:
        if b"CERTIFICATE" in data.split(b"\n", 1)[0]:
            return x509.load_pem_x509_certificate(data).public_key()
        return load_pem_public_key(data)
    except ValueError:
        raise BadRequest(
            "error parsing public key: data does not contain any valid public keys"
        ) from None
