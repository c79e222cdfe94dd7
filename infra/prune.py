"""Remove from an unpacked deployment package what infra/package_manifest.py says goes.

Distributions are removed by their RECORD (the installer's own list of their files), so a
dropped package takes its modules, data and scripts with it and nothing else.
"""

from __future__ import annotations

import csv
import re
import shutil
from pathlib import Path

from infra import botocore_data
from infra import package_manifest as manifest


class PruneError(RuntimeError):
    """The package does not look as the manifest expects (a renamed distribution)."""


def normalise(name: str) -> str:
    """A distribution's name as PEP 503 compares it, with `_` (as dist-info folders spell it)."""
    return re.sub(r"[-_.]+", "_", name).lower()


def distributions(root: Path) -> dict[str, Path]:
    """Every ``*.dist-info`` folder of the package, by normalised distribution name."""
    return {normalise(info.name.split("-")[0]): info for info in root.glob("*.dist-info")}


def recorded_files(info: Path) -> list[str]:
    """The files a distribution installed, relative to the package root (scripts outside it,
    written as ``../``, are skipped: chalice never unpacks them)."""
    record = info / "RECORD"
    if not record.is_file():
        raise PruneError(f"{info.name} has no RECORD (already pruned? run make package)")
    with record.open(newline="") as stream:
        paths = [row[0] for row in csv.reader(stream) if row]
    return [path for path in paths if not path.startswith(("../", "/"))]


def _remove(root: Path, relative: str) -> None:
    path = root / relative
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()


def _remove_empty_folders(root: Path) -> None:
    for folder in sorted((p for p in root.rglob("*") if p.is_dir()), reverse=True):
        if not any(folder.iterdir()):
            folder.rmdir()


def _keep_parts(root: Path, info: Path, parts: tuple[str, ...]) -> None:
    for relative in recorded_files(info):
        if relative.startswith(info.name + "/"):
            continue  # the dist-info itself is trimmed with every other one
        if not any(relative == part or relative.startswith(part) for part in parts):
            _remove(root, relative)


def prune_distributions(root: Path) -> None:
    """Drop whole distributions, cut some down, then trim every kept dist-info."""
    found = distributions(root)
    for name in (*manifest.DROPPED_DISTRIBUTIONS, *manifest.KEPT_PARTS):
        if name not in found:
            raise PruneError(f"the manifest names {name!r}, which the package does not hold")
    for name in manifest.DROPPED_DISTRIBUTIONS:
        for relative in recorded_files(found[name]):
            _remove(root, relative)
        _remove(root, found[name].name)
    for name, parts in manifest.KEPT_PARTS.items():
        _keep_parts(root, found[name], parts)
    for name, info in found.items():
        if name not in manifest.DROPPED_DISTRIBUTIONS:
            _trim_dist_info(info)


def _trim_dist_info(info: Path) -> None:
    for path in info.rglob("*"):
        relative = path.relative_to(info).as_posix()
        kept = relative in manifest.DIST_INFO_KEPT_FILES or relative.startswith(
            manifest.LICENCE_PREFIXES
        )
        if path.is_file() and not kept:
            path.unlink()


def prune_paths(root: Path) -> None:
    """Our own code that no function imports, and files no function reads anywhere."""
    for relative in manifest.DROPPED_PATHS:
        _remove(root, relative)
    for folder in root.glob(manifest.DROPPED_TOP_LEVEL_GLOB):
        shutil.rmtree(folder)
    for path in root.rglob("*"):
        if path.is_file() and ("/" + path.name).endswith(manifest.DROPPED_SUFFIXES):
            path.unlink()


def prune(root: Path) -> None:
    """Apply the whole manifest to the unpacked package at ``root``."""
    prune_distributions(root)
    botocore_data.prune(root)
    prune_paths(root)
    _remove_empty_folders(root)
