"""The kv secrets engine, versions 1 and 2 (see backend.py); v1 -> v2 upgrade in upgrade.py."""
