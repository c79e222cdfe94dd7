"""Built-in policies, byte-for-byte the rules OpenBao installs.

The rule text must stay identical to OpenBao's so that tokens carrying the
``default`` policy can do exactly what they can do there; only the comments
are ours.  ``root`` has no text at all: the name alone grants everything.
"""

from typing import Final

from chalicelib.policy.model import Policy

DEFAULT_POLICY_NAME: Final = "default"
ROOT_POLICY_NAME: Final = "root"
RESPONSE_WRAPPING_POLICY_NAME: Final = "response-wrapping"

# Policies nobody may write or delete through sys/policy.
IMMUTABLE_POLICY_NAMES: Final = frozenset({ROOT_POLICY_NAME, RESPONSE_WRAPPING_POLICY_NAME})
# Policies that may not be attached to tokens and are hidden from policy lists.
NON_ASSIGNABLE_POLICY_NAMES: Final = frozenset({RESPONSE_WRAPPING_POLICY_NAME})

# The empty policy object that stands for `root` when compiling an ACL.
ROOT_POLICY: Final = Policy(name=ROOT_POLICY_NAME, raw="", paths=())

DEFAULT_POLICY: Final = """
# Self-service on the token itself: inspect it
path "auth/token/lookup-self" {
    capabilities = ["read"]
}

# ... extend it
path "auth/token/renew-self" {
    capabilities = ["update"]
}

# ... and give it up
path "auth/token/revoke-self" {
    capabilities = ["update"]
}

# Ask which capabilities this very token has on some path
path "sys/capabilities-self" {
    capabilities = ["update"]
}

# Read the identity entity behind the token (rendered per token)
path "identity/entity/id/{{identity.entity.id}}" {
  capabilities = ["read"]
}
path "identity/entity/name/{{identity.entity.name}}" {
  capabilities = ["read"]
}


# The merged ACL of the token, used by UIs; internal and subject to change
path "sys/internal/ui/resultant-acl" {
    capabilities = ["read"]
}

# Lease renewal with the lease_id in the body (both the old and new endpoints)
path "sys/leases/renew" {
    capabilities = ["update"]
}

# Lease lookup; the caller must already know the lease id
path "sys/leases/lookup" {
    capabilities = ["update"]
}

# The token's private cubbyhole
path "cubbyhole/*" {
    capabilities = ["create", "read", "update", "delete", "list"]
}

# Response wrapping of arbitrary data
path "sys/wrapping/wrap" {
    capabilities = ["update"]
}

# Inspect a wrapping token's creation time and TTL
path "sys/wrapping/lookup" {
    capabilities = ["update"]
}

# Unwrap without swapping tokens (also covered by the response-wrapping
# policy)
path "sys/wrapping/unwrap" {
    capabilities = ["update"]
}

# Hashing helpers
path "sys/tools/hash" {
    capabilities = ["update"]
}
path "sys/tools/hash/*" {
    capabilities = ["update"]
}

# OIDC provider authorization endpoint
path "identity/oidc/provider/+/authorize" {
    capabilities = ["read", "update"]
}
"""

# Carried by response-wrapping tokens so that unwrapping always works.
RESPONSE_WRAPPING_POLICY: Final = """
path "cubbyhole/response" {
    capabilities = ["create", "read"]
}

path "sys/wrapping/unwrap" {
    capabilities = ["update"]
}
"""
