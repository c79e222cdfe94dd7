"""Clients for other Lambdas and services: hvac adapters and a Powertools Parameters provider.

hvac is the consumer's dependency, not Lambdavault's: the names below are imported on first
use, so importing this package (or the app) never needs hvac.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chalicelib.clients.adapters import ApiGatewayAdapter, LambdaAdapter
    from chalicelib.clients.parameters import VaultProvider

__all__ = ["ApiGatewayAdapter", "LambdaAdapter", "VaultProvider"]

_HOMES = {
    "ApiGatewayAdapter": "chalicelib.clients.adapters",
    "LambdaAdapter": "chalicelib.clients.adapters",
    "VaultProvider": "chalicelib.clients.parameters",
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_HOMES[name]), name)
