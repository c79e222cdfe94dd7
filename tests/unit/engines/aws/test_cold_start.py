"""The aws engine costs nothing until a request reaches an aws mount, and then no client is
built before one is needed."""

import json
import subprocess
import sys


def loaded_after(code: str, modules: list[str]) -> dict[str, bool]:
    report = f"print(json.dumps({{m: m in sys.modules for m in {modules!r}}}))"
    probe = f"import sys, json\n{code}\n{report}"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True,
        env={"PATH": "/usr/bin:/bin"},
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_import_app_does_not_load_the_engine():
    assert loaded_after("import app", ["chalicelib.engines.aws"]) == {
        "chalicelib.engines.aws": False
    }


def test_loading_the_engine_builds_no_client():
    code = (
        "from chalicelib.engines.registry import backend_for\n"
        "backend_for('aws')\n"
        "from chalicelib.engines.aws.clients import client_for\n"
        "assert client_for.cache_info().currsize == 0"
    )
    assert loaded_after(code, ["boto3", "botocore.config"]) == {
        "boto3": False, "botocore.config": False,
    }
