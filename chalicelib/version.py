"""Version strings reported by seal-status, health and the CLI."""

from importlib.metadata import PackageNotFoundError, version

# The Vault API level we speak; some clients (e.g. Terraform's provider) gate features on it.
# The build metadata says what actually answers.
API_VERSION = "1.15.0"


def lambdavault_version() -> str:
    try:
        return version("lambdavault")
    except PackageNotFoundError:
        return "0.0.0"


def reported_version() -> str:
    return f"{API_VERSION}+lambdavault.{lambdavault_version()}"
