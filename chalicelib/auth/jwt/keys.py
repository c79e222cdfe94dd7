"""Where signing keys come from, cached per container: static PEM keys, a JWKS URL, or
the JWKS named by an OIDC discovery document.

A provider is cached per stored configuration (its storage version), so a config write
on any container is a new provider everywhere. Entries live at most ``LIFETIME`` seconds
and at most ``MAX_PROVIDERS`` are kept; an unknown ``kid`` refetches the JWKS (a key
rotation) at most once per ``REFETCH_INTERVAL``, so a flood of forged kids cannot turn
into a flood of calls to the IdP.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any

import jwt

from chalicelib.auth.jwt import fetch
from chalicelib.auth.jwt.config import JWTConfig, StoredConfig, public_key
from chalicelib.core.errors import BadRequest

LIFETIME = 300.0
MAX_PROVIDERS = 16
REFETCH_INTERVAL = 10.0
DISCOVERY_PATH = "/.well-known/openid-configuration"


class Provider:
    """One configuration's keys and discovery document, fetched when first needed."""

    def __init__(self, config: JWTConfig) -> None:
        self.config = config
        self.created = time.monotonic()
        self._discovery: dict[str, Any] | None = None
        self._jwks: list[jwt.PyJWK] = []
        self._jwks_fetched: float | None = None

    @property
    def static(self) -> bool:
        return bool(self.config.jwt_validation_pubkeys)

    def discovery(self) -> dict[str, Any]:
        """The discovery document; its issuer must be the configured URL (go-oidc)."""
        if self._discovery is None:
            self._discovery = discover(
                self.config.oidc_discovery_url, self.config.oidc_discovery_ca_pem
            )
        return self._discovery

    def keys_for(self, kid: str | None) -> list[Any]:
        """The keys a token with this ``kid`` may be signed with (all, without one)."""
        if self.static:
            return [public_key(pem) for pem in self.config.jwt_validation_pubkeys]
        if self._jwks_fetched is None:
            self._refresh()
        found = _matching(self._jwks, kid)
        assert self._jwks_fetched is not None
        if not found and time.monotonic() - self._jwks_fetched >= REFETCH_INTERVAL:
            self._refresh()  # the IdP may have rotated its keys
            found = _matching(self._jwks, kid)
        return found

    def _refresh(self) -> None:
        if self.config.jwks_url:
            url, ca_pem = self.config.jwks_url, self.config.jwks_ca_pem
        else:
            url, ca_pem = self.discovery()["jwks_uri"], self.config.oidc_discovery_ca_pem
        self._jwks = load_jwks(fetch.get_json(url, ca_pem))
        self._jwks_fetched = time.monotonic()


def discover(url: str, ca_pem: str) -> dict[str, Any]:
    document = fetch.get_json(url.rstrip("/") + DISCOVERY_PATH, ca_pem)
    issuer = document.get("issuer")
    if not isinstance(issuer, str) or issuer.rstrip("/") != url.rstrip("/"):
        raise fetch.FetchError(
            "oidc: issuer did not match the issuer returned by provider, expected "
            f'"{url}" got "{issuer}"'
        )
    if not isinstance(document.get("jwks_uri"), str):
        raise fetch.FetchError("the discovery document names no jwks_uri")
    return document


def load_jwks(document: dict[str, Any]) -> list[jwt.PyJWK]:
    """The usable keys of a JWKS (PyJWT skips kinds it cannot use)."""
    try:
        return list(jwt.PyJWKSet.from_dict(document).keys)
    except jwt.PyJWTError as error:
        raise fetch.FetchError(f"invalid JWKS: {error}") from None


def _matching(keys: list[jwt.PyJWK], kid: str | None) -> list[Any]:
    return [key.key for key in keys if kid is None or key.key_id == kid]


_providers: OrderedDict[str, Provider] = OrderedDict()
_lock = threading.Lock()


def provider_for(stored: StoredConfig) -> Provider:
    """This container's provider for a stored configuration (bounded in number and age)."""
    with _lock:
        provider = _providers.get(stored.cache_key)
        if provider is not None and time.monotonic() - provider.created < LIFETIME:
            _providers.move_to_end(stored.cache_key)
            return provider
        provider = Provider(stored.config)
        _providers[stored.cache_key] = provider
        while len(_providers) > MAX_PROVIDERS:
            _providers.popitem(last=False)
        return provider


def forget_providers() -> None:
    """Drop every cached provider (a fresh container; tests)."""
    with _lock:
        _providers.clear()


def check_source(config: JWTConfig) -> None:
    """What a config write proves before it is stored: the keys can be had (OpenBao
    fetches discovery and JWKS at write time too)."""
    if config.jwt_validation_pubkeys:
        for pem in config.jwt_validation_pubkeys:
            public_key(pem)
        return
    provider = Provider(config)
    try:
        if config.oidc_discovery_url:
            provider.discovery()
        else:
            provider.keys_for(None)
    except BadRequest as error:
        source = "oidc discovery URL" if config.oidc_discovery_url else "jwks URL"
        raise BadRequest(f"error checking {source}: {error.message}") from None
