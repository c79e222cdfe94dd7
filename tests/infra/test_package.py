"""The deployment zip is lean and self-sufficient: only what the functions import, and every
handler, import and AWS client works from the unpacked zip alone (``python -I -S``)."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from infra import package_manifest as manifest
from infra.prune import normalise

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "build" / "package"
MAX_BYTES = 15_000_000
# What the zip's pruning is made of: a zip older than any of them is built again.
INPUTS = [
    ROOT / "requirements.txt",
    ROOT / "pyproject.toml",
    *sorted((ROOT / "infra").glob("*.py")),
]


def _fresh(package: Path) -> bool:
    archive = package / "deployment.zip"
    if not archive.exists() or not (package / "sam.yaml").exists():
        return False
    return all(path.stat().st_mtime <= archive.stat().st_mtime for path in INPUTS)


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`make test` packages first; a lone pytest run packages into a temporary folder."""
    if _fresh(PACKAGE):
        return PACKAGE
    target = tmp_path_factory.mktemp("package") / "package"
    subprocess.run(["make", "-s", "package", f"PACKAGE={target}"], cwd=ROOT, check=True)
    return target


@pytest.fixture(scope="module")
def unpacked(package: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("unpacked")
    with zipfile.ZipFile(package / "deployment.zip") as archive:
        archive.extractall(root)
    return root


def _shipped_sources() -> list[Path]:
    """Our code the zip holds: app.py and chalicelib, less the manifest's dropped paths."""
    dropped = tuple(path for path in manifest.DROPPED_PATHS if path.startswith("chalicelib/"))
    sources = [ROOT / "app.py", *sorted((ROOT / "chalicelib").rglob("*.py"))]
    return [path for path in sources if not path.relative_to(ROOT).as_posix().startswith(dropped)]


def _imported_modules() -> set[str]:
    """Every absolute import in the shipped code, lazy ones inside functions included."""
    found: set[str] = set()
    for path in _shipped_sources():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module)
    return found


def _third_party(modules: set[str]) -> list[str]:
    ours = {"app", "chalicelib", "__future__"}
    return sorted(
        name for name in modules
        if name.split(".")[0] not in sys.stdlib_module_names | ours
    )  # fmt: skip


def test_zip_stays_under_15_mb(package: Path) -> None:
    size = (package / "deployment.zip").stat().st_size
    # Next lever when this fails: SOURCES_KEPT = () ships our code as bytecode only too
    # (-0.7 MB; tracebacks keep file and line, lose the line's text).
    assert size <= MAX_BYTES, f"{size / 1e6:.2f} MB: see infra/package_manifest.py"


def test_dropped_distributions_are_gone(unpacked: Path) -> None:
    shipped = {normalise(info.name.split("-")[0]) for info in unpacked.glob("*.dist-info")}
    assert shipped, "no distribution metadata at all"
    assert not shipped & set(manifest.DROPPED_DISTRIBUTIONS)
    for name in ("pip", "setuptools", "click", "yaml", "boto3", "wcwidth", "inquirer"):
        assert not (unpacked / name).exists(), name
    assert sorted(p.name for p in (unpacked / "chalice").iterdir()) == ["__init__.pyc", "app.pyc"]
    assert not list(unpacked.glob("*.dist-info/RECORD"))


def test_botocore_data_holds_the_declared_services_only(unpacked: Path) -> None:
    data = unpacked / "botocore" / "data"
    services = sorted(p.name for p in data.iterdir() if p.is_dir())
    assert services == sorted(manifest.BOTOCORE_SERVICES)
    for service in services:
        versions = list((data / service).iterdir())
        assert len(versions) == 1, service  # the newest API version only
        kept = {p.name.removesuffix(".json") for p in versions[0].iterdir()}
        assert "service-2" in kept and kept <= set(manifest.BOTOCORE_MODEL_FILES)


def test_libraries_ship_as_bytecode_and_our_code_with_its_source(unpacked: Path) -> None:
    sources = {p.relative_to(unpacked).as_posix() for p in unpacked.rglob("*.py")}
    assert sources and all(s == "app.py" or s.startswith("chalicelib/") for s in sources)
    tag = sys.implementation.cache_tag
    assert (unpacked / "chalicelib" / "__pycache__" / f"settings.{tag}.pyc").is_file()
    assert (unpacked / "botocore" / "client.pyc").is_file()


def test_every_module_the_shipped_code_imports_is_in_the_zip(unpacked: Path) -> None:
    """Lazy imports included: a pruned module would fail only on the request that needs it."""
    missing = []
    for name in sorted(_imported_modules()):
        if name.split(".")[0] in sys.stdlib_module_names | {"__future__"}:
            continue
        path = unpacked.joinpath(*name.split("."))
        candidates = [path / "__init__.pyc", path / "__init__.py", path.with_suffix(".pyc"),
                      path.with_suffix(".py"), *path.parent.glob(path.name + ".*.so")]  # fmt: skip
        if not any(candidate.exists() for candidate in candidates):
            missing.append(name)
    assert not missing, f"imported by shipped code, missing from the zip: {missing}"


def test_handlers_imports_and_clients_work_from_the_zip_alone(
    package: Path, unpacked: Path
) -> None:
    handlers = re.findall(r"Handler:\s*app\.(\w+)", (package / "sam.yaml").read_text())
    modules = _third_party(_imported_modules())  # lazy ones too: each is imported
    spec = {
        "root": str(unpacked),
        "handlers": sorted(set(handlers)),
        "modules": modules,
        "services": list(manifest.BOTOCORE_SERVICES),
    }
    done = subprocess.run(
        [sys.executable, "-I", "-S", str(Path(__file__).with_name("package_probe.py")),
         json.dumps(spec)],
        capture_output=True, text=True, cwd=unpacked, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    assert "app" in report["handlers"] and "invoke" in report["handlers"]
    assert len(report["handlers"]) >= 3  # the API, the invoke handler, the schedules
    assert report["ui"].startswith("text/html")
    assert report["chalicelib_modules"] > 100
    clients = report["clients"]
    assert set(clients) == set(manifest.BOTOCORE_SERVICES)
    assert all(client["url"].startswith("https://") for client in clients.values())
    # The aws secrets engine pages through IAM, audit readback through S3.
    assert clients["iam"]["paginators"] > 0 and clients["s3"]["paginators"] > 0
    assert report["natives"]["psycopg"] == "binary"
    assert report["natives"]["httptools"] == "200 {}"  # the lean AWS path parses with it
    assert report["outside_root"] == []
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert report["version"] == project["version"]  # seal-status reports the real one
