"""config (read, write), as OpenBao's path_config.go: exactly one key source, checked
by fetching it before the configuration is stored."""

from __future__ import annotations

import logging

from chalicelib.auth.jwt import fetch
from chalicelib.auth.jwt.config import (
    CONFIG_KEY,
    MODE_FORM_POST,
    MODE_QUERY,
    RESPONSE_CODE,
    RESPONSE_ID_TOKEN,
    SUPPORTED_ALGS,
    JWTConfig,
    load,
    save,
)
from chalicelib.auth.jwt.keys import check_source
from chalicelib.core.errors import BadRequest
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.framework import Field, FieldData, FieldType, Path
from chalicelib.framework.storage import view_of

logger = logging.getLogger(__name__)
_F = FieldType
CONFIG_FIELDS = {
    "oidc_discovery_url": Field(_F.STRING, ""),
    "oidc_discovery_ca_pem": Field(_F.STRING, ""),
    "oidc_client_id": Field(_F.STRING, ""),
    "oidc_client_secret": Field(_F.STRING, ""),
    "oidc_response_mode": Field(_F.STRING, ""),
    "oidc_response_types": Field(_F.COMMA_STRING_LIST, list),
    "jwks_url": Field(_F.STRING, ""),
    "jwks_ca_pem": Field(_F.STRING, ""),
    "default_role": Field(_F.LOWERCASE_STRING, ""),
    "jwt_validation_pubkeys": Field(_F.COMMA_STRING_LIST, list),
    "jwt_supported_algs": Field(_F.COMMA_STRING_LIST, list),
    "bound_issuer": Field(_F.STRING, ""),
    "provider_config": Field(_F.MAP, dict),
    "namespace_in_state": Field(_F.BOOL, True),
    "skip_jwks_validation": Field(_F.BOOL, False),
}
_PLAIN = ("oidc_discovery_url", "oidc_discovery_ca_pem", "oidc_client_id",
          "oidc_client_secret", "oidc_response_mode", "jwks_url", "jwks_ca_pem",
          "default_role", "bound_issuer")  # fmt: skip
_LISTS = ("oidc_response_types", "jwt_validation_pubkeys", "jwt_supported_algs")


def path_config_read(request: Request, data: FieldData) -> Response | None:
    stored = load(view_of(request))
    return None if stored is None else Response(data=stored.config.to_api())


def path_config_write(request: Request, data: FieldData) -> Response | None:
    """A write replaces the whole configuration (as OpenBao); namespace_in_state keeps
    its stored value when not given (true for a new configuration)."""
    view = view_of(request)
    current = load(view)
    in_state = data["namespace_in_state"]
    if not data.is_set("namespace_in_state") and current is not None:
        in_state = current.config.namespace_in_state
    config = JWTConfig(
        **{name: data[name] for name in _PLAIN},
        **{name: tuple(data[name]) for name in _LISTS},
        provider_config=data["provider_config"],
        namespace_in_state=in_state,
    )
    warnings = _check(config, skip_fetch_errors=data["skip_jwks_validation"])
    save(view, config)
    return Response(warnings=warnings) if warnings else None


def _check(config: JWTConfig, *, skip_fetch_errors: bool) -> list[str]:
    sources = [bool(config.oidc_discovery_url), bool(config.jwt_validation_pubkeys),
               bool(config.jwks_url)]  # fmt: skip
    if sum(sources) != 1:
        raise BadRequest(
            "exactly one of 'jwt_validation_pubkeys', 'jwks_url', 'jwks_pairs', "
            "'oidc_discovery_url', or 'provider_config' must be set"
        )
    if bool(config.oidc_client_id) != bool(config.oidc_client_secret):
        raise BadRequest("both 'oidc_client_id' and 'oidc_client_secret' must be set for OIDC")
    if config.oidc_client_id and not config.oidc_discovery_url:
        raise BadRequest("'oidc_discovery_url' must be set for OIDC")
    if ".well-known/openid-configuration" in config.oidc_discovery_url:
        raise BadRequest("'oidc_discovery_url' contains '.well-known' component")
    warnings = _check_source(config, skip_fetch_errors)
    for alg in config.jwt_supported_algs:
        if alg not in SUPPORTED_ALGS:
            raise BadRequest(
                f"invalid jwt_supported_algs: unsupported signing algorithm \"{alg}\""
            )
    if not set(config.oidc_response_types) <= {RESPONSE_CODE, RESPONSE_ID_TOKEN}:
        listed = " ".join(config.oidc_response_types)
        raise BadRequest(
            f"invalid response_types [{listed}]. 'code' and 'id_token' are allowed"
        )
    mode = config.oidc_response_mode
    if mode in ("", MODE_QUERY) and config.has_type(RESPONSE_ID_TOKEN):
        raise BadRequest("query response_mode may not be used with an id_token response_type")
    if mode not in ("", MODE_QUERY, MODE_FORM_POST):
        raise BadRequest(f'invalid response_mode: "{mode}"')
    if config.provider_config:
        raise BadRequest(
            "invalid provider_config: provider-specific configuration is not supported"
        )
    return warnings


def _check_source(config: JWTConfig, skip_fetch_errors: bool) -> list[str]:
    """OpenBao's texts: the discovery error names its cause, the JWKS ones do not (the
    cause goes to the server log)."""
    if config.jwks_url:
        try:
            fetch.ssl_context(config.jwks_ca_pem)
        except BadRequest:
            raise BadRequest("error checking jwks_ca_pem") from None
    try:
        check_source(config)
    except BadRequest as error:
        fetching = config.jwks_url or config.oidc_discovery_url
        if not fetching:
            raise
        logger.warning("config check failed: %s", error.message)
        summary = error.message.split(":", 1)[0]
        if not skip_fetch_errors:
            raise BadRequest(summary if config.jwks_url else error.message) from None
        return [summary]
    return []


def paths() -> list[Path]:
    return [
        Path(
            "config",
            {Operation.READ: path_config_read, Operation.UPDATE: path_config_write},
            CONFIG_FIELDS,
            prefetch=lambda captures: [CONFIG_KEY],
        )
    ]
