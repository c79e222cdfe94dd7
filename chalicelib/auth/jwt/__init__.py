"""The jwt/oidc auth method: signed JWTs and the OIDC authorization-code flow."""
