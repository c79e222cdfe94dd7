"""IAM principal ARNs as the aws auth method reads them (OpenBao's parseIamArn).

A caller is known by the ARN STS reports: ``arn:aws:iam::ACCT:user/path/NAME`` for a
user, ``arn:aws:sts::ACCT:assumed-role/NAME/SESSION`` for a role session. Roles bind
to the canonical form (``arn:aws:iam::ACCT:role/NAME``: the session and any path
dropped), or to ``*`` globs matched against the principal's full ARN from IAM.
"""

from __future__ import annotations

from typing import NamedTuple

_TYPES = frozenset({"user", "role", "assumed-role", "instance-profile"})


class ArnError(ValueError):
    """An ARN that is not an IAM principal's; the message is OpenBao's."""


class IamEntity(NamedTuple):
    partition: str
    account_id: str
    type: str
    path: str
    friendly_name: str
    session_info: str = ""

    @property
    def canonical_arn(self) -> str:
        """The ARN a role binds to: an assumed role's session is its role, without path."""
        kind = "role" if self.type == "assumed-role" else self.type
        return f"arn:{self.partition}:iam::{self.account_id}:{kind}/{self.friendly_name}"


def parse_arn(arn: str) -> IamEntity:
    parts = arn.split(":")
    if len(parts) != 6:
        raise ArnError(
            f"unrecognized arn: contains {len(parts)} colon-separated parts, expected 6"
        )
    if parts[0] != "arn":
        raise ArnError('unrecognized arn: does not begin with "arn:"')
    if parts[2] not in ("iam", "sts"):
        raise ArnError(f"unrecognized service: {parts[2]}, not one of iam or sts")
    resource = parts[5].split("/")
    if len(resource) < 2:
        raise ArnError(
            f'unrecognized arn: "{parts[5]}" contains fewer than 2 slash-separated parts'
        )
    kind = resource[0]
    if kind not in _TYPES:
        raise ArnError(f'unrecognized principal type: "{kind}"')
    if kind == "assumed-role":
        if len(resource) < 3:
            raise ArnError(
                f'unrecognized arn: "{parts[5]}" contains fewer than 3 slash-separated parts'
            )
        return IamEntity(parts[1], parts[4], kind, "", resource[1], resource[2])
    return IamEntity(parts[1], parts[4], kind, "/".join(resource[1:-1]), resource[-1])


def is_wildcard(bound: str) -> bool:
    """Only a bound ARN ending in ``*`` is a glob (as OpenBao's hasWildcardBind)."""
    return bound.endswith("*")


