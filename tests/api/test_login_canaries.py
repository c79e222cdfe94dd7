"""No password, secret ID or token reaches the table, the logs or an audit record in clear.

Each login method is driven through success and failure with canary credentials while a
file audit device and debug logging are on; then everything written is scanned.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import boto3
import pytest

from chalicelib import observability
from tests.api.audit_support import enable
from tests.support import REGION, VaultHTTP

PASSWORD = "canary-pw-3b9e41d7"


def _table_dump() -> str:
    table = boto3.resource("dynamodb", region_name=REGION).Table("lambdavault-test")
    return repr(table.scan(ConsistentRead=True)["Items"])


@pytest.fixture
def audited(vault: VaultHTTP, tmp_path: Path) -> Iterator[tuple[VaultHTTP, Path]]:
    log = tmp_path / "audit.log"
    enable(vault, "file", "file", file_path=str(log))
    observability.logger.setLevel(logging.DEBUG)  # the access line is DEBUG
    try:
        yield vault, log
    finally:
        observability.logger.setLevel(logging.INFO)


def _userpass(vault: VaultHTTP) -> list[str]:
    vault.post("sys/auth/userpass", {"type": "userpass"})
    vault.post("auth/userpass/users/canary", {"password": PASSWORD})
    vault.post("auth/userpass/login/canary", {"password": PASSWORD + "-wrong"}, token="")
    auth = vault.post("auth/userpass/login/canary", {"password": PASSWORD}, token="").json()
    token = auth["auth"]["client_token"]
    assert vault.get("auth/token/lookup-self", token=token).status_code == 200
    vault.post("auth/userpass/users/canary/password", {"password": PASSWORD + "-2"})
    return [PASSWORD, token]


def _approle(vault: VaultHTTP) -> list[str]:
    vault.post("sys/auth/approle", {"type": "approle"})
    vault.post("auth/approle/role/canary", {"token_policies": "default"})
    role_id = vault.get("auth/approle/role/canary/role-id").json()["data"]["role_id"]
    secret_id = vault.post("auth/approle/role/canary/secret-id").json()["data"]["secret_id"]
    vault.post("auth/approle/login", {"role_id": role_id, "secret_id": "wrong"}, token="")
    body = {"role_id": role_id, "secret_id": secret_id}
    token = vault.post("auth/approle/login", body, token="").json()["auth"]["client_token"]
    assert vault.get("auth/token/lookup-self", token=token).status_code == 200
    lookup = vault.post("auth/approle/role/canary/secret-id/lookup", {"secret_id": secret_id})
    assert lookup.status_code == 200
    return [secret_id, token]


LOGINS: dict[str, Callable[[VaultHTTP], list[str]]] = {
    "userpass": _userpass, "approle": _approle,
}


@pytest.mark.parametrize("method", sorted(LOGINS))
def test_credentials_stay_out_of_table_logs_and_audit(
    audited: tuple[VaultHTTP, Path],
    method: str,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    vault, log = audited
    secrets = LOGINS[method](vault)
    captured = capsys.readouterr()
    places = {
        "table": _table_dump(),
        "logs": caplog.text + captured.out + captured.err,
        "audit": log.read_text(),
    }
    assert "login" in places["audit"]  # the logins were audited
    for where, text in places.items():
        for secret in secrets:
            assert secret not in text, f"a {method} credential is in the {where} in clear"
