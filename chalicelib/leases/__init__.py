"""Leases: what a secret with a TTL owes the cluster (renewal, revocation, the sweeper)."""
