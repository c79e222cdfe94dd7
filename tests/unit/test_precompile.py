"""The deployment zip gets bytecode that Python uses without checking source mtimes."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import zipfile
from pathlib import Path

from infra.precompile import precompile


def test_precompiled_zip_imports_from_bytecode(tmp_path: Path) -> None:
    archive = tmp_path / "deployment.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("pkg/__init__.py", "")
        zf.writestr("pkg/mod.py", "VALUE = 42\n")
    assert precompile(archive) > 0
    names = zipfile.ZipFile(archive).namelist()
    tag = sys.implementation.cache_tag
    assert f"pkg/__pycache__/mod.{tag}.pyc" in names
    assert "pkg/mod.py" in names

    unpacked = tmp_path / "unpacked"
    zipfile.ZipFile(archive).extractall(unpacked)
    pyc = unpacked / "pkg" / "__pycache__" / f"mod.{tag}.pyc"
    assert pyc.read_bytes()[4:8] == (1).to_bytes(4, "little")  # hash-based, never checked
    code = "import pkg.mod, sys; print(pkg.mod.VALUE, pkg.mod.__cached__)"
    done = subprocess.run(
        [sys.executable, "-B", "-c", code], cwd=unpacked, capture_output=True, text=True,
        check=True,
    )
    assert done.stdout.startswith("42 ")
    assert importlib.util.cache_from_source("pkg/mod.py").endswith(f"mod.{tag}.pyc")
