"""A role: which kind of AWS credential `creds/<name>` hands out, and with what policies.

Stored at ``role/<name>`` with Vault's field names (credential_types is a list; the legacy
"policy"/"arn" parameters become the role Vault would upgrade them to).
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from chalicelib.core.records import build

if TYPE_CHECKING:
    from chalicelib.storage.view import StorageView

IAM_USER = "iam_user"
ASSUMED_ROLE = "assumed_role"
FEDERATION_TOKEN = "federation_token"  # noqa: S105 - a credential type, not a secret
SESSION_TOKEN = "session_token"  # noqa: S105 - a credential type, not a secret
CREDENTIAL_TYPES = (IAM_USER, ASSUMED_ROLE, FEDERATION_TOKEN, SESSION_TOKEN)
STS_TYPES = (ASSUMED_ROLE, FEDERATION_TOKEN, SESSION_TOKEN)
ROLE_PREFIX = "role/"
USER_PATH = re.compile(r"^\/([\x21-\x7F]{0,510}\/)?$")


@dataclass(slots=True)
class Role:
    credential_types: list[str] | None = None
    policy_arns: list[str] | None = None
    role_arns: list[str] | None = None
    policy_document: str = ""
    iam_groups: list[str] | None = None
    iam_tags: dict[str, str] | None = None
    invalid_data: str = ""
    # Legacy roles keep IAM users on creds/ and STS credentials on sts/ (Vault #4229).
    prohibit_flexible_cred_path: bool = False
    version: int = 0
    default_sts_ttl: int = 0
    max_sts_ttl: int = 0
    user_path: str = ""
    permissions_boundary_arn: str = ""
    mfa_serial_number: str = ""

    @classmethod
    def from_storage(cls, raw: dict[str, Any]) -> Role:
        return build(cls, raw)

    def to_storage(self) -> dict[str, Any]:
        return asdict(self)

    def to_api(self) -> dict[str, Any]:
        shown = {
            "credential_type": ",".join(self.credential_types or []),
            "policy_arns": self.policy_arns,
            "role_arns": self.role_arns,
            "policy_document": self.policy_document,
            "iam_groups": self.iam_groups,
            "iam_tags": self.iam_tags,
            "default_sts_ttl": self.default_sts_ttl,
            "max_sts_ttl": self.max_sts_ttl,
            "user_path": self.user_path,
            "permissions_boundary_arn": self.permissions_boundary_arn,
            "mfa_serial_number": self.mfa_serial_number,
        }
        if self.invalid_data:
            shown["invalid_data"] = self.invalid_data
        return shown

    def allows(self, credential_type: str) -> bool:
        return credential_type in (self.credential_types or [])

    def validate(self) -> list[str]:
        """Vault's validation messages, in its order; empty when the role is valid."""
        types = self.credential_types or []
        errors = [] if types else ["did not supply credential_type"]
        errors += [f"unrecognized credential type: {t}" for t in types if t not in CREDENTIAL_TYPES]
        sts_names = f"{ASSUMED_ROLE}, {FEDERATION_TOKEN}, and {SESSION_TOKEN}"
        any_sts = any(self.allows(t) for t in STS_TYPES)
        if self.default_sts_ttl and not any_sts:
            errors.append(f"default_sts_ttl parameter only valid for {sts_names} credential types")
        if self.max_sts_ttl and not any_sts:
            errors.append(f"max_sts_ttl parameter only valid for {sts_names} credential types")
        if 0 < self.max_sts_ttl < self.default_sts_ttl:
            errors.append(
                '"default_sts_ttl" value must be less than or equal to "max_sts_ttl" value'
            )
        if self.user_path:
            if not self.allows(IAM_USER):
                errors.append(f"user_path parameter only valid for {IAM_USER} credential type")
            if not USER_PATH.match(self.user_path):
                errors.append(
                    "the specified value for user_path is invalid. It must match "
                    f'"{USER_PATH.pattern}" regexp'
                )
        if self.permissions_boundary_arn:
            if not self.allows(IAM_USER):
                errors.append(
                    f"cannot supply permissions_boundary_arn when credential_type isn't {IAM_USER}"
                )
            problem = managed_policy_problem(self.permissions_boundary_arn)
            if problem:
                errors.append(f"invalid permissions_boundary_arn parameter: {problem}")
        if self.role_arns and not self.allows(ASSUMED_ROLE):
            errors.append(f"cannot supply role_arns when credential_type isn't {ASSUMED_ROLE}")
        if (self.policy_document or self.policy_arns) and self.allows(SESSION_TOKEN):
            errors.append(
                f"cannot supply a policy or role when using credential_type {SESSION_TOKEN}"
            )
        return errors


def parse_arn(arn: str) -> list[str] | None:
    """arn:partition:service:region:account:resource, or None (Go's arn.Parse)."""
    sections = arn.split(":", 5)
    return sections if len(sections) == 6 and sections[0] == "arn" else None


def managed_policy_problem(arn: str) -> str:
    """Why `arn` does not name an IAM managed policy ("" when it does), in Go's words."""
    if not arn.startswith("arn:"):
        return "arn: invalid prefix"
    sections = parse_arn(arn)
    if sections is None:
        return "arn: not enough sections"
    if sections[2] != "iam":
        return f"expected a service of iam but got {sections[2]}"
    if not sections[5].startswith("policy/"):
        return f"expected a resource type of policy but got {sections[5]}"
    return ""


def compact_json(text: str) -> str:
    """Go's json.Compact: whitespace removed, keys kept in their order; ValueError if not JSON."""
    return json.dumps(json.loads(text), separators=(",", ":"), ensure_ascii=False)


def legacy_role(value: str) -> Role:
    """The role Vault builds from a legacy ``policy`` document or ``arn``."""
    if value.startswith("arn:"):
        sections = parse_arn(value)
        resource = sections[5].split("/")[0] if sections else ""
        if resource == "role":
            return Role([ASSUMED_ROLE], role_arns=[value], prohibit_flexible_cred_path=True,
                        version=1)
        if resource == "policy":
            return Role([IAM_USER], policy_arns=[value], prohibit_flexible_cred_path=True,
                        version=1)
        return Role(invalid_data=value, version=1)
    try:
        document = compact_json(value)
    except ValueError:
        return Role(invalid_data=value, version=1)
    # Ambiguous between the two, as in Vault: creds/ gives an IAM user, sts/ a token.
    return Role([IAM_USER, FEDERATION_TOKEN], policy_document=document,
                prohibit_flexible_cred_path=True, version=1)


def read_role(view: StorageView, name: str) -> Role | None:
    raw = view.get_json(ROLE_PREFIX + name)
    return None if raw is None else Role.from_storage(raw)


def write_role(view: StorageView, name: str, role: Role) -> None:
    view.put_json(ROLE_PREFIX + name, role.to_storage())
