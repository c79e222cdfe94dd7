"""The example consumer stack (infra/consumer): lint-clean, and its role can do nothing but
invoke Lambdavault (and write its own logs)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

CONSUMER = Path(__file__).resolve().parents[2] / "infra" / "consumer" / "template.yaml"


class _Loader(yaml.SafeLoader):
    """Reads CloudFormation's short tags (!Ref, !Sub, !GetAtt) as plain values."""


_Loader.add_multi_constructor("!", lambda loader, tag, node: {tag: loader.construct_scalar(node)})


@pytest.fixture(scope="module")
def consumer() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.load(CONSUMER.read_text(), Loader=_Loader)
    return loaded


def test_consumer_template_lints_clean() -> None:
    lint = Path(sys.executable).with_name("cfn-lint")
    done = subprocess.run([lint, CONSUMER], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout


def test_consumer_role_only_invokes_lambdavault(consumer: dict[str, Any]) -> None:
    role = consumer["Resources"]["ConsumerRole"]["Properties"]
    [policy] = role["Policies"]
    statements = {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}
    assert set(statements) == {"InvokeLambdavault", "Logs"}
    invoke = statements["InvokeLambdavault"]
    assert invoke["Action"] == "lambda:InvokeFunction"
    assert invoke["Resource"] == {"Ref": "LambdavaultFunctionArn"}
    assert all(action.startswith("logs:") for action in statements["Logs"]["Action"])
    assert not role.get("ManagedPolicyArns")


def test_consumer_function_is_told_its_vault_role_not_a_token(consumer: dict[str, Any]) -> None:
    function = consumer["Resources"]["ConsumerFunction"]["Properties"]
    variables = function["Environment"]["Variables"]
    assert set(variables) == {
        "LAMBDAVAULT_FUNCTION", "LAMBDAVAULT_AWS_ROLE", "LAMBDAVAULT_AWS_MOUNT", "SECRET_PATH"
    }
