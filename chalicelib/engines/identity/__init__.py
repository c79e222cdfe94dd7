"""The identity secrets engine: the HTTP API of the identity store (OpenBao's identity/)."""
