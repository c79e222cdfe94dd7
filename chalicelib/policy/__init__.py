"""Vault/OpenBao ACL policies: parsing policy text and authorizing requests.

Typical use::

    policy = parse_policy("dev", text)          # BadRequest if invalid
    acl = ACL.compile([policy, default_policy])  # cache per token policy set
    verdict = acl.authorize(Operation.READ, "secret/data/app")
    if not verdict.allowed or (sudo_path and not verdict.root_privs):
        raise PermissionDenied()
"""

from chalicelib.policy.acl import ACL, Authorization
from chalicelib.policy.defaults import (
    DEFAULT_POLICY,
    DEFAULT_POLICY_NAME,
    IMMUTABLE_POLICY_NAMES,
    NON_ASSIGNABLE_POLICY_NAMES,
    RESPONSE_WRAPPING_POLICY,
    RESPONSE_WRAPPING_POLICY_NAME,
    ROOT_POLICY,
    ROOT_POLICY_NAME,
)
from chalicelib.policy.model import Capability, PathRule, Policy
from chalicelib.policy.parser import decode_policy_text, normalize_policy_name, parse_policy
from chalicelib.policy.scalars import parse_duration_seconds
from chalicelib.policy.templates import IdentityAlias, IdentityContext, IdentityGroup

__all__ = [
    "ACL",
    "DEFAULT_POLICY",
    "DEFAULT_POLICY_NAME",
    "IMMUTABLE_POLICY_NAMES",
    "NON_ASSIGNABLE_POLICY_NAMES",
    "RESPONSE_WRAPPING_POLICY",
    "RESPONSE_WRAPPING_POLICY_NAME",
    "ROOT_POLICY",
    "ROOT_POLICY_NAME",
    "Authorization",
    "Capability",
    "IdentityAlias",
    "IdentityContext",
    "IdentityGroup",
    "PathRule",
    "Policy",
    "decode_policy_text",
    "normalize_policy_name",
    "parse_duration_seconds",
    "parse_policy",
]
