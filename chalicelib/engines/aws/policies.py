"""The policies an STS credential is scoped to when its role names IAM groups.

For assumed_role and federation_token Vault folds each group's inline policies into the
session policy document and adds the groups' managed policies to the policy ARNs.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from chalicelib.engines.aws.errors import reported_as

if TYPE_CHECKING:
    from botocore.client import BaseClient

# The current version of the IAM policy language.
POLICY_VERSION = "2012-10-17"


def group_policies(iam: BaseClient, groups: Sequence[str]) -> tuple[list[str], list[str]]:
    """(inline policy documents, managed policy ARNs) of `groups`."""
    documents: list[str] = []
    arns: list[str] = []
    with reported_as("error reading IAM group policies"):
        for group in groups:
            attached = iam.get_paginator("list_attached_group_policies")
            for page in attached.paginate(GroupName=group):
                arns += [policy["PolicyArn"] for policy in page["AttachedPolicies"]]
            inline = iam.get_paginator("list_group_policies")
            for page in inline.paginate(GroupName=group):
                for name in page["PolicyNames"]:
                    found = iam.get_group_policy(GroupName=group, PolicyName=name)
                    # IAM sends it URL-encoded; botocore hands it over decoded and parsed.
                    documents.append(json.dumps(found["PolicyDocument"]))
    return documents, arns


def combine(documents: Sequence[str]) -> str:
    """One policy document holding the statements of all `documents` (empty ones skipped)."""
    statements: list[Any] = []
    for document in documents:
        if not document:
            continue
        parsed = json.loads(document)
        found = parsed.get("Statement") if isinstance(parsed, dict) else None
        if isinstance(found, list):
            statements += found
        elif found is not None:
            statements.append(found)
    return json.dumps({"Version": POLICY_VERSION, "Statement": statements}, separators=(",", ":"))
