"""aws roles: which IAM principals may log in, and the tokens they get.

A role lives at ``role/<lowercase name>``. With resolve_aws_unique_ids (the default),
each exact bound ARN is stored with the unique ID IAM gave that principal when the role
was written, and logins compare unique IDs: a user or role deleted and created again
under the same name has a new unique ID and is not trusted.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

from chalicelib.core.errors import NotFound, multierror
from chalicelib.framework import FieldData
from chalicelib.framework.tokenfields import TokenSettings
from chalicelib.storage.view import StorageView

ROLE_PREFIX = "role/"
IAM = "iam"
# The aws role spellings OpenBao still accepts for token_* fields.
LEGACY_FIELDS = {
    "policies": "token_policies",
    "ttl": "token_ttl",
    "max_ttl": "token_max_ttl",
    "period": "token_period",
}
# OpenBao's GenericNameRegex: a name of word characters, with - . @ inside.
_NAME = re.compile(r"\w(?:[\w\-.@]*\w)?", re.ASCII)


class Role(NamedTuple):
    role_id: str
    auth_type: str = IAM
    bound_iam_principal_arns: tuple[str, ...] = ()
    # The unique IDs of the exact (non-glob) ARNs, when resolve_aws_unique_ids is on.
    bound_iam_principal_ids: tuple[str, ...] = ()
    resolve_aws_unique_ids: bool = True
    token: TokenSettings = TokenSettings()

    def to_storage(self) -> dict[str, Any]:
        return {**self._asdict(), "token": self.token.to_storage()}

    @classmethod
    def from_storage(cls, raw: dict[str, Any]) -> Role:
        return cls(
            raw["role_id"],
            raw.get("auth_type", IAM),
            tuple(raw.get("bound_iam_principal_arns") or ()),
            tuple(raw.get("bound_iam_principal_ids") or ()),
            raw.get("resolve_aws_unique_ids", True),
            TokenSettings.from_storage(raw.get("token")),
        )

    def to_api(self) -> dict[str, Any]:
        """A role read, as OpenBao shows an iam role."""
        return {
            "auth_type": self.auth_type,
            "bound_iam_principal_arn": list(self.bound_iam_principal_arns),
            "bound_iam_principal_id": list(self.bound_iam_principal_ids),
            "inferred_entity_type": "",
            "inferred_aws_region": "",
            "resolve_aws_unique_ids": self.resolve_aws_unique_ids,
            "role_id": self.role_id,
            **self.token.to_api(LEGACY_FIELDS),
        }


def role_name(data: FieldData, field: str = "role") -> str:
    """The role named by the path, lowercased; a name OpenBao's router would not match
    is an unsupported path there too."""
    name: str = data[field]
    if not _NAME.fullmatch(name):
        raise NotFound(multierror("unsupported path"))
    return name.lower()


def role_key(name: str) -> str:
    return ROLE_PREFIX + name.lower()


def load(view: StorageView, name: str) -> Role | None:
    raw = view.get_json(role_key(name)) if name else None
    return None if raw is None else Role.from_storage(raw)


def save(view: StorageView, name: str, role: Role) -> None:
    view.put_json(role_key(name), role.to_storage())
