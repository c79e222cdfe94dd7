"""The approle auth method: machines log in with a role ID and a secret ID."""
