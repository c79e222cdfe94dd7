"""Compile an unpacked Lambda deployment package to bytecode.

Lambda's filesystem is read-only, so a package without `.pyc` files compiles every module
on every cold start (bench/RESULTS.md: ~1.7 s instead of ~0.7 s here). Libraries ship as
bytecode alone (`module.pyc` where `module.py` was, which Python imports without a source):
half the size of source plus bytecode, and one file fewer to look up per import. Our own
code keeps its source beside unchecked-hash bytecode (zip extraction keeps no mtimes) so a
logged traceback shows the failing line. The bytecode is only valid for the Python that
wrote it: infra/package.py checks the functions' runtime against it.

Run as ``python -X no_debug_ranges -m infra.precompile DIR``: without the column tables
behind a traceback's ``^^^`` markers (line numbers stay) bytecode is a quarter smaller,
so the zip is ~2 MB smaller and a cold start unmarshals less.
"""

from __future__ import annotations

import json
import py_compile
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

from infra.package_manifest import SOURCES_KEPT

_MODE = py_compile.PycInvalidationMode.UNCHECKED_HASH


class Compiled(NamedTuple):
    sourceless: int  # libraries' modules now shipped as bytecode only
    beside_source: int  # our modules, source kept with a __pycache__ entry
    failed: list[str]  # files that are not valid Python here (kept as they are)


def keeps_source(relative: str) -> bool:
    return relative in SOURCES_KEPT or relative.startswith(
        tuple(kept for kept in SOURCES_KEPT if kept.endswith("/"))
    )


def compile_tree(root: Path) -> Compiled:
    """Compile every ``.py`` under ``root``; names in code objects are relative to it."""
    sourceless = beside = 0
    failed: list[str] = []
    for source in sorted(root.rglob("*.py")):
        relative = source.relative_to(root).as_posix()
        kept = keeps_source(relative)
        target = None if kept else str(source.with_suffix(".pyc"))  # None: __pycache__
        try:
            py_compile.compile(
                str(source), cfile=target, dfile=relative, doraise=True, invalidation_mode=_MODE
            )
        except py_compile.PyCompileError:
            failed.append(relative)
            continue
        if kept:
            beside += 1
        else:
            source.unlink()
            sourceless += 1
    return Compiled(sourceless, beside, failed)


def compile_without_debug_ranges(root: Path) -> Compiled:
    """:func:`compile_tree` in an interpreter started with ``-X no_debug_ranges`` (the
    setting is read once, at start-up)."""
    done = subprocess.run(  # noqa: S603 (our own interpreter and module)
        [sys.executable, "-X", "no_debug_ranges", "-m", "infra.precompile", str(root)],
        check=True, capture_output=True, text=True, cwd=Path(__file__).resolve().parent.parent,
    )
    sourceless, beside, failed = json.loads(done.stdout)
    return Compiled(sourceless, beside, failed)


def main(argv: list[str]) -> int:
    if "no_debug_ranges" not in sys._xoptions:
        print("run with python -X no_debug_ranges", file=sys.stderr)
        return 2
    print(json.dumps(compile_tree(Path(argv[0]))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
