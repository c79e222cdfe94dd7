"""The mount's public addresses, ``config/cluster`` (OpenBao's clusterConfigEntry): ACME
builds its URLs from ``path`` and config/urls templating puts ``path`` and ``aia_path``
into ``{{cluster_path}}`` and ``{{cluster_aia_path}}``. The path is served by acme.config;
the reader lives here so that urls.py does not depend on the ACME package."""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from chalicelib.storage.view import StorageView

CLUSTER_CONFIG = "config/cluster"


class ClusterConfig(NamedTuple):
    path: str = ""  # e.g. https://vault.example.com/v1/pki
    aia_path: str = ""  # the same mount as reachable for AIA fetches (may be plain http)


def read_cluster_config(view: StorageView) -> ClusterConfig:
    raw = view.get_json(CLUSTER_CONFIG) or {}
    return ClusterConfig(str(raw.get("path", "")), str(raw.get("aia_path", "")))
