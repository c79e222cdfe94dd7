"""The database plugins by ``plugin_name``, imported only when a config uses one (so no
driver is loaded on a cold start that does not need it). Adding a plugin is one line."""

from __future__ import annotations

import importlib
from functools import cache

from chalicelib.core.errors import BadRequest
from chalicelib.engines.database.plugin import DatabasePlugin

# plugin_name -> "module:factory" (a function returning the plugin, called once).
PLUGINS: dict[str, str] = {
    "postgresql-database-plugin": "chalicelib.engines.database.plugins.postgresql:plugin",
    "mysql-database-plugin": "chalicelib.engines.database.plugins.mysql:mysql",
    "mysql-aurora-database-plugin": "chalicelib.engines.database.plugins.mysql:mysql_legacy",
    "mysql-rds-database-plugin": "chalicelib.engines.database.plugins.mysql:mysql_legacy",
    "mysql-legacy-database-plugin": "chalicelib.engines.database.plugins.mysql:mysql_legacy",
    "redis-database-plugin": "chalicelib.engines.database.plugins.redis_acl:plugin",
    "valkey-database-plugin": "chalicelib.engines.database.plugins.redis_acl:plugin",
}


@cache
def plugin_for(plugin_name: str) -> DatabasePlugin:
    target = PLUGINS.get(plugin_name)
    if target is None:
        raise BadRequest(f"plugin not found in the catalog: {plugin_name}")  # Vault's words
    module_name, _, factory = target.partition(":")
    plugin: DatabasePlugin = getattr(importlib.import_module(module_name), factory)()
    return plugin
