"""Cut botocore's data to the services the functions call (infra/package_manifest.py).

Per kept service only its newest API version's model files remain, rewritten as compact
JSON without their ``documentation`` strings, and ``endpoints.json`` keeps only the kept
services' entries. botocore reads documentation only to write docstrings, and building
a client parses these files: on a cold start that is ~1.2 MB of endpoints and ~0.5 MB of
DynamoDB model less to parse, besides ~0.5 MB less zip.
"""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path
from typing import Any

from infra import package_manifest as manifest

DATA = "botocore/data"
_DOCUMENTATION = frozenset({"documentation", "documentationUrl"})
# botocore's model requires the documentation of client context parameters (S3's).
_KEPT_WHOLE = "clientContextParams"


class DataError(RuntimeError):
    """botocore's data does not hold what the manifest names."""


def without_documentation(value: Any) -> Any:
    """``value`` less every documentation string (a member *named* so is a dict: kept)."""
    if isinstance(value, dict):
        return {
            key: item if key == _KEPT_WHOLE else without_documentation(item)
            for key, item in value.items()
            if not (key in _DOCUMENTATION and isinstance(item, str))
        }
    if isinstance(value, list):
        return [without_documentation(item) for item in value]
    return value


def _read(path: Path) -> Any:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as stream:
        return json.loads(stream.read())


def _write_compact(path: Path, value: Any) -> None:
    """As plain ``.json`` (botocore prefers it to ``.json.gz``; the zip compresses it)."""
    target = path.parent / (path.name.removesuffix(".gz"))
    path.unlink()
    target.write_text(json.dumps(value, separators=(",", ":")))


def prune(root: Path) -> None:
    """Apply the manifest's botocore lists to the unpacked package at ``root``."""
    data = root / DATA
    services = set(manifest.BOTOCORE_SERVICES)
    missing = [name for name in (*services, *manifest.BOTOCORE_SHARED_DATA)
               if not (data / name).exists()]  # fmt: skip
    if missing:
        raise DataError(f"botocore ships no {', '.join(sorted(missing))}")
    prefixes = set()
    for entry in data.iterdir():
        if entry.is_dir() and entry.name in services:
            prefixes.add(_keep_newest_models(entry))
        elif entry.name not in manifest.BOTOCORE_SHARED_DATA:
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    _trim_endpoints(data / "endpoints.json", prefixes)


def _keep_newest_models(service: Path) -> str:
    """Prune ``service`` to its newest models; returns its endpoint prefix."""
    versions = sorted(v for v in service.iterdir() if any(v.glob("service-2.json*")))
    newest = versions[-1]  # API versions are ISO dates
    for version in service.iterdir():
        if version != newest:
            shutil.rmtree(version)
    for path in sorted(newest.iterdir()):
        stem = path.name.removesuffix(".gz").removesuffix(".json")
        if stem in manifest.BOTOCORE_MODEL_FILES:
            _write_compact(path, without_documentation(_read(path)))
        else:
            path.unlink()
    prefix: str = _read(newest / "service-2.json")["metadata"]["endpointPrefix"]
    return prefix


def _trim_endpoints(path: Path, prefixes: set[str]) -> None:
    """The legacy endpoint data, per partition, for the kept services' endpoint prefixes."""
    endpoints = _read(path)
    for partition in endpoints["partitions"]:
        partition["services"] = {
            name: entry for name, entry in partition["services"].items() if name in prefixes
        }
    _write_compact(path, endpoints)
