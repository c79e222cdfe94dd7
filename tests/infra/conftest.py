"""The packaged template: build/package/sam.yaml from `make package`, rebuilt when stale."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "build" / "package"
# What the template is made of; the zip's content does not matter to these tests.
INPUTS = [
    ROOT / "app.py",
    ROOT / "chalicelib" / "jobs.py",
    ROOT / "infra" / "template.yaml",
    ROOT / "infra" / "pin_stage.py",
    ROOT / "infra" / "audit_streams.py",
    *sorted((ROOT / ".chalice").glob("*.json")),
]


def _stale(template: Path) -> bool:
    if not template.exists():
        return True
    built = template.stat().st_mtime
    return any(path.stat().st_mtime > built for path in INPUTS)


@pytest.fixture(scope="session")
def package_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`make test` packages first; a lone pytest run packages into a temporary folder."""
    if not _stale(PACKAGE / "sam.yaml"):
        return PACKAGE
    target = tmp_path_factory.mktemp("package") / "package"
    subprocess.run(["make", "-s", "package", f"PACKAGE={target}"], cwd=ROOT, check=True)
    return target


@pytest.fixture(scope="session")
def template(package_dir: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((package_dir / "sam.yaml").read_text())
    return loaded
