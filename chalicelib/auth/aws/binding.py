"""Whether a caller is bound to a role: at login, and again at every renewal.

OpenBao's three ways through, in order: the caller's unique ID is one the role resolved
its ARNs to; or (without unique ID resolution) its canonical ARN is bound as written;
or its full ARN from IAM matches a bound ``*`` glob.
"""

from __future__ import annotations

from chalicelib.auth.aws import iam
from chalicelib.auth.aws.arns import IamEntity, is_wildcard
from chalicelib.auth.aws.config import ClientConfig
from chalicelib.auth.aws.roles import Role
from chalicelib.core.globs import globbed_match


def is_bound(role: Role, config: ClientConfig, entity: IamEntity, unique_id: str) -> bool:
    """Raises :class:`iam.IamError` when a glob needs IAM and IAM cannot answer."""
    bound = role.bound_iam_principal_arns
    if not bound:
        return True
    if unique_id and unique_id in role.bound_iam_principal_ids:
        return True
    if not role.resolve_aws_unique_ids and entity.canonical_arn in bound:
        return True
    globs = [arn for arn in bound if is_wildcard(arn)]
    if not globs:
        return False
    arn = iam.full_arn(config, entity, unique_id)
    return any(globbed_match(pattern, arn) for pattern in globs)
