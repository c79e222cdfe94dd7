"""Cold start stays cheap: `import app` pulls in no engine, no AWS SDK client, no tracer."""

from __future__ import annotations

import json
import subprocess
import sys

LAZY = [
    "aws_xray_sdk", "aws_lambda_powertools", "boto3", "pynamodb", "hcl", "chalicelib.engines.kv",
    "chalicelib.policy", "chalicelib.quotas.enforce", "chalicelib.quotas.model",
]


def _imported_after(code: str, env: dict[str, str] | None = None) -> dict[str, bool]:
    report = f"print(json.dumps({{m: m in sys.modules for m in {LAZY!r}}}))"
    probe = f"import sys, json\n{code}\n{report}"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True,
        env={"PATH": "/usr/bin:/bin", **(env or {})},
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_import_app_loads_nothing_heavy() -> None:
    assert not any(_imported_after("import app").values())


def test_tracer_is_imported_only_when_enabled() -> None:
    code = "import app\nfrom chalicelib import observability\nobservability.traced(len)"
    assert _imported_after(code)["aws_xray_sdk"] is False
    enabled = _imported_after(code, {"LAMBDAVAULT_TRACING": "true", "AWS_REGION": "us-east-1"})
    assert enabled["aws_xray_sdk"] is True
