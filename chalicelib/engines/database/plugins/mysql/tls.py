"""TLS to MySQL from a config's ``tls_ca``, ``tls_certificate_key`` (certificate and key
in one PEM), ``tls_server_name`` and ``tls_skip_verify``, and the DSN's ``tls`` parameter,
as OpenBao's mysql connection producer builds its tls.Config."""

from __future__ import annotations

import os
import ssl
import tempfile
from collections.abc import Mapping
from typing import Any

from chalicelib.engines.database.plugin import PluginError


class _NamedContext(ssl.SSLContext):
    """Checks the server certificate against ``tls_server_name`` rather than the host
    dialled (PyMySQL passes its ``host`` as the name)."""

    server_name = ""

    def wrap_socket(self, *args: Any, **kwargs: Any) -> ssl.SSLSocket:  # type: ignore[override]
        kwargs["server_hostname"] = self.server_name
        return super().wrap_socket(*args, **kwargs)


def _load_cert_chain(context: ssl.SSLContext, pem: str) -> None:
    # The ssl module reads a client certificate from a file only: it lives for the call.
    fd, path = tempfile.mkstemp(suffix=".pem")
    try:
        with os.fdopen(fd, "w") as file:
            file.write(pem)
        context.load_cert_chain(path)
    except ssl.SSLError:
        raise PluginError("unable to load tls_certificate_key_data") from None
    finally:
        os.unlink(path)


def tls_context(options: Mapping[str, Any], mode: str) -> ssl.SSLContext | None:
    """None for a plain connection: no CA, no client certificate and ``tls`` unset or false."""
    ca = options.get("tls_ca") or ""
    cert_key = options.get("tls_certificate_key") or ""
    if mode in ("", "false") and not ca and not cert_key:
        return None
    server_name = options.get("tls_server_name") or ""
    context: ssl.SSLContext
    if server_name:
        context = _NamedContext(ssl.PROTOCOL_TLS_CLIENT)
        context.server_name = server_name
    else:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    try:
        if ca:
            context.load_verify_locations(cadata=ca)
        else:
            context.load_default_certs()
    except ssl.SSLError:
        raise PluginError("failed to append CA to client options") from None
    if cert_key:
        _load_cert_chain(context, cert_key)
    skip_verify = str(options.get("tls_skip_verify", "")).lower() in ("true", "1")
    if skip_verify or mode in ("skip-verify", "preferred"):
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context
