"""No directory password (the user's or the bind DN's) reaches the table, the logs or an
audit record in clear, through config writes and reads, logins that work and fail, and
renewal (the companion of test_login_canaries.py for the method that needs a slapd)."""

from __future__ import annotations

import logging
from pathlib import Path

import boto3
import pytest

from chalicelib import observability
from tests.api.audit_support import enable
from tests.ldap_support import ADMIN_PASSWORD, Directory, user_dn
from tests.support import REGION, VaultHTTP

PASSWORD = "canary-ldap-pw-51c0ffee"


def test_directory_passwords_stay_out_of_table_logs_and_audit(
    vault: VaultHTTP, slapd: Directory, tmp_path: Path, caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    log = tmp_path / "audit.log"
    enable(vault, "file", "file", file_path=str(log))
    caplog.set_level(logging.DEBUG)
    observability.logger.setLevel(logging.DEBUG)  # the access line is DEBUG
    admin = slapd.admin()
    dn = user_dn("canary")
    assert admin.add(dn, ["inetOrgPerson"], {"cn": "canary", "sn": "c", "userPassword": PASSWORD})
    try:
        vault.post("sys/auth/ldap", {"type": "ldap"})
        vault.post("auth/ldap/config", slapd.config(client_tls_cert=slapd.client_cert_pem,
                                                    client_tls_key=slapd.client_key_pem))
        assert vault.get("auth/ldap/config").status_code == 200
        wrong = vault.post("auth/ldap/login/canary", {"password": PASSWORD + "-x"}, token="")
        assert wrong.status_code == 400
        reply = vault.post("auth/ldap/login/canary", {"password": PASSWORD}, token="")
        token = reply.json()["auth"]["client_token"]
        assert vault.post("auth/token/renew-self", {}, token=token).status_code == 200
    finally:
        observability.logger.setLevel(logging.INFO)
        admin.delete(dn)
        admin.unbind()
    captured = capsys.readouterr()
    table = boto3.resource("dynamodb", region_name=REGION).Table("lambdavault-test")
    places = {
        "table": repr(table.scan(ConsistentRead=True)["Items"]),
        "logs": caplog.text + captured.out + captured.err,
        "audit": log.read_text(),
    }
    assert "auth/ldap/login" in places["audit"]
    key_body = slapd.client_key_pem.splitlines()[1]
    for where, text in places.items():
        for secret in (PASSWORD, ADMIN_PASSWORD, token, key_body):
            assert secret not in text, f"a directory credential is in the {where} in clear"
