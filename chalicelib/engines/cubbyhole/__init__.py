"""The cubbyhole secrets engine: per-token private storage (see backend.py)."""
