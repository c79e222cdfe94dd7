"""The transit secrets engine: named keys that encrypt, sign and HMAC on the caller's behalf."""

from __future__ import annotations

from chalicelib.engines.transit import (
    path_backup,
    path_cache_config,
    path_datakey,
    path_decrypt,
    path_encrypt,
    path_export,
    path_hmac,
    path_import,
    path_keys,
    path_keys_config,
    path_random,
    path_rotate,
    path_sign_verify,
)
from chalicelib.framework import Backend


def backend() -> Backend:
    """The registry's factory for type "transit"."""
    return Backend(
        type_name="transit",
        description="encryption as a service",
        paths=[
            *path_keys.paths(),
            *path_keys_config.paths(),
            *path_rotate.paths(),
            *path_import.paths(),
            *path_export.paths(),
            *path_backup.paths(),
            *path_encrypt.paths(),
            *path_decrypt.paths(),
            *path_datakey.paths(),
            *path_hmac.paths(),
            *path_sign_verify.paths(),
            *path_random.paths(),
            *path_cache_config.paths(),
        ],
    )
