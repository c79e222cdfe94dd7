"""aws: dynamic IAM users and STS credentials, leased and revoked through the lease manager."""
