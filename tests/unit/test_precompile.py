"""Libraries ship as bytecode alone; our code keeps its source beside unchecked bytecode."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from infra.botocore_data import without_documentation
from infra.precompile import compile_without_debug_ranges


def test_libraries_lose_their_source_and_our_code_keeps_it(tmp_path: Path) -> None:
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "__init__.py").write_text("")
    (tmp_path / "lib" / "mod.py").write_text("VALUE = 42\n")
    (tmp_path / "chalicelib").mkdir()
    (tmp_path / "chalicelib" / "__init__.py").write_text("")
    (tmp_path / "chalicelib" / "ours.py").write_text("from lib.mod import VALUE\n")

    compiled = compile_without_debug_ranges(tmp_path)

    assert (compiled.sourceless, compiled.beside_source, compiled.failed) == (2, 2, [])
    assert not (tmp_path / "lib" / "mod.py").exists()
    assert (tmp_path / "lib" / "mod.pyc").is_file()
    tag = sys.implementation.cache_tag
    cached = tmp_path / "chalicelib" / "__pycache__" / f"ours.{tag}.pyc"
    assert (tmp_path / "chalicelib" / "ours.py").is_file()
    assert cached.read_bytes()[4:8] == (1).to_bytes(4, "little")  # hash-based, never checked
    code = (
        f"import sys; sys.path.insert(0, {str(tmp_path)!r}); import chalicelib.ours as o, "
        "lib.mod as m; print(o.VALUE, m.__file__.endswith('mod.pyc'), o.__cached__)"
    )
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-B", "-c", code], capture_output=True, text=True,
        check=True,
    )  # fmt: skip
    assert done.stdout.split()[:2] == ["42", "True"]
    assert done.stdout.split()[2] == str(cached)


def test_model_documentation_goes_but_client_context_parameters_keep_theirs() -> None:
    model = {
        "documentation": "service",
        "clientContextParams": {"Accelerate": {"documentation": "kept", "type": "boolean"}},
        "shapes": {"S": {"type": "structure", "documentation": "gone",
                         "members": {"documentation": {"shape": "T"}}}},
    }  # fmt: skip
    assert without_documentation(model) == {
        "clientContextParams": {"Accelerate": {"documentation": "kept", "type": "boolean"}},
        "shapes": {"S": {"type": "structure", "members": {"documentation": {"shape": "T"}}}},
    }
