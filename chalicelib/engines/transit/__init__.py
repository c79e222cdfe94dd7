"""The transit secrets engine: encryption as a service, byte-compatible with Vault's."""
