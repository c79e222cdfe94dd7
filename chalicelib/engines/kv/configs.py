"""Each KV mount's config, kept by the container until a config write anywhere changes it.

Every write needs the config (cas_required, max_versions, delete_version_after). Reading
it each time cost a second round trip per write and made each mount's config item one
that every write of the mount reads. A config write bumps the `kv-config` generation of
the cluster state instead, and a container rereads a mount's config once its copy of the
cluster state shows a newer generation: a config change reaches every container within
the cluster-state TTL, as mount and policy changes do. (OpenBao keeps its config in
memory too, dropped when the config key is written.)
"""

from __future__ import annotations

from chalicelib.core import jsonio
from chalicelib.core.runtime import runtime
from chalicelib.engines.kv.layout import CONFIG_KEY
from chalicelib.engines.kv.store import read_config
from chalicelib.engines.kv.versioning import KvConfig
from chalicelib.storage.physical import Put
from chalicelib.storage.view import StorageView

KV_CONFIG_GENERATION = "kv-config"


class ConfigCache:
    """Configs by mount storage prefix, each with the generation it was read under."""

    def __init__(self) -> None:
        self._configs: dict[str, tuple[int, KvConfig]] = {}

    def get(self, view: StorageView) -> KvConfig:
        """The mount's config (read-only: callers never change it)."""
        # The generation is taken before the read: a config written after it is read
        # again once the bump that follows that write is seen.
        generation = runtime().state.generation(KV_CONFIG_GENERATION)
        cached = self._configs.get(view.prefix)
        if cached is not None and cached[0] == generation:
            return cached[1]
        config = read_config(view)
        self._configs[view.prefix] = (generation, config)
        return config


# One per container, as the runtime it follows.
CONFIGS = ConfigCache()


def mount_config(view: StorageView) -> KvConfig:
    return CONFIGS.get(view)


def store_config(view: StorageView, config: KvConfig) -> None:
    """Write the mount's config with the bump that makes every container reread its
    configs (this one at once), in one transaction."""
    put = Put(CONFIG_KEY, jsonio.dumpb(config.to_storage()))
    runtime().commit(view, [put], [KV_CONFIG_GENERATION])
