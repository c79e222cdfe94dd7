"""Turn the zip `chalice package` wrote into the lean one the functions deploy.

``python -m infra.package build/package`` unpacks ``deployment.zip``, prunes it by
infra/package_manifest.py, strips debug symbols from shared objects, compiles it to
bytecode for the Python the functions run (checked against ``sam.yaml``) and writes it
back, reproducibly (sorted entries, fixed timestamps).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from pathlib import Path

from infra.precompile import compile_without_debug_ranges
from infra.prune import prune

PROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"
ARCHIVE = "deployment.zip"
TEMPLATE = "sam.yaml"
_RUNTIME = re.compile(r"^\s*Runtime:\s*(\S+)\s*$", re.MULTILINE)
_EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip entry can hold


class PackageError(RuntimeError):
    pass


def check_runtime(template: Path) -> None:
    """Bytecode is only valid for the Python that wrote it: every function's runtime must
    be this interpreter's version, or the sourceless modules would not import at all."""
    ours = f"python{sys.version_info.major}.{sys.version_info.minor}"
    runtimes = set(_RUNTIME.findall(template.read_text()))
    if runtimes != {ours}:
        raise PackageError(f"{template}: runtimes {sorted(runtimes)}, but bytecode is {ours}")


def strip_shared_objects(root: Path) -> int:
    """`strip --strip-unneeded` every shared object (symbols needed to link stay); returns
    the bytes saved, 0 where binutils is missing (the package still works, only larger)."""
    strip = shutil.which("strip")
    if strip is None:
        print("strip not found: shared objects keep their symbols", file=sys.stderr)
        return 0
    saved = 0
    for path in sorted(root.rglob("*.so*")):
        if path.is_file():
            before = path.stat().st_size
            subprocess.run([strip, "--strip-unneeded", str(path)], check=True)  # noqa: S603
            saved += before - path.stat().st_size
    return saved


def write_own_metadata(root: Path, project: Path) -> None:
    """Our own dist-info, which `chalice package` does not write: seal-status and health
    report the version importlib.metadata finds (chalicelib/version.py)."""
    meta = tomllib.loads(project.read_text())["project"]
    info = root / f"{meta['name']}-{meta['version']}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {meta['name']}\nVersion: {meta['version']}\n"
    )


def write_zip(root: Path, archive: Path) -> None:
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as target:
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            entry = zipfile.ZipInfo(path.relative_to(root).as_posix(), _EPOCH)
            entry.external_attr = 0o644 << 16  # readable by the Lambda's user
            entry.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(entry, path.read_bytes(), compresslevel=9)


def build(package: Path) -> str:
    """Rewrite ``package/deployment.zip`` lean; returns a one-line summary."""
    check_runtime(package / TEMPLATE)
    archive = package / ARCHIVE
    before = archive.stat().st_size
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        with zipfile.ZipFile(archive) as source:
            source.extractall(root)
        prune(root)
        write_own_metadata(root, PROJECT)
        saved = strip_shared_objects(root)
        compiled = compile_without_debug_ranges(root)
        if compiled.failed:
            raise PackageError(f"not valid Python {sys.version}: {', '.join(compiled.failed)}")
        write_zip(root, archive)
    return (
        f"{archive}: {before / 1e6:.1f} MB -> {archive.stat().st_size / 1e6:.1f} MB "
        f"({compiled.sourceless} modules as bytecode only, {compiled.beside_source} with "
        f"source; strip saved {saved / 1e6:.1f} MB)"
    )


def main(argv: list[str]) -> int:
    print(build(Path(argv[0] if argv else "build/package")))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
