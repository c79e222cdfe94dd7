"""Add bytecode to the Lambda deployment zip that `chalice package` builds.

Lambda's filesystem is read-only, so a package without `.pyc` files compiles every module
on every cold start (bench/RESULTS.md: ~1.7 s instead of ~0.7 s here). Unchecked-hash
bytecode is used because zip extraction does not keep source mtimes.
"""

from __future__ import annotations

import compileall
import py_compile
import sys
import tempfile
import zipfile
from pathlib import Path


def precompile(archive: Path) -> int:
    """Rewrite ``archive`` with a `__pycache__` beside every module; returns files added."""
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        with zipfile.ZipFile(archive) as source:
            source.extractall(root)
        before = sum(1 for _ in root.rglob("*"))
        compileall.compile_dir(
            root,
            quiet=1,
            invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
        )
        files = sorted(path for path in root.rglob("*") if path.is_file())
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as target:
            for path in files:
                target.write(path, path.relative_to(root).as_posix())
        return sum(1 for _ in root.rglob("*")) - before


def main(argv: list[str]) -> int:
    archive = Path(argv[0] if argv else "build/package/deployment.zip")
    added = precompile(archive)
    print(f"{archive}: added {added} bytecode files and folders")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
