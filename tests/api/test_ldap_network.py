"""Reaching the directory: several servers, dead and silent ones, StartTLS and LDAPS with
a test CA. A dead peer costs at most its timeouts and answers a clear 400, never a 500."""

from __future__ import annotations

import time
from typing import Any

import pytest

from chalicelib.auth.ldap import directory
from tests.ldap_support import USERS, Directory, closed_url, silent_server
from tests.support import VaultHTTP


@pytest.fixture
def ldap(vault: VaultHTTP) -> VaultHTTP:
    assert vault.post("sys/auth/ldap", {"type": "ldap"}).status_code == 204
    return vault


def login_with(vault: VaultHTTP, config: dict[str, Any]) -> Any:
    written = vault.post("auth/ldap/config", config)
    assert written.status_code in (200, 204), written.text
    return vault.post("auth/ldap/login/alice", {"password": USERS["alice"]}, token="")


def errors_of(reply: Any) -> str:
    assert reply.status_code == 400, reply.text
    (error,) = reply.json()["errors"]
    return error


def test_servers_are_tried_in_order(ldap: VaultHTTP, slapd: Directory) -> None:
    dead = closed_url()
    reply = login_with(ldap, slapd.config(url=f"{dead},{slapd.url}"))
    assert reply.status_code == 200, reply.text


def test_no_server_answering_names_each(ldap: VaultHTTP, slapd: Directory) -> None:
    dead = closed_url()
    error = errors_of(login_with(ldap, slapd.config(url=f"{dead},foo://x")))
    assert error.startswith("2 errors occurred:\n\t* error connecting to host")
    assert f'"{dead}"' in error and 'invalid LDAP scheme in url "x:"' in error
    assert slapd.config()["bindpass"] not in error


def test_a_silent_server_costs_its_timeouts(ldap: VaultHTTP, slapd: Directory) -> None:
    with silent_server() as url:
        started = time.monotonic()
        reply = login_with(ldap, slapd.config(url=url, connection_timeout=1, request_timeout=1))
        elapsed = time.monotonic() - started
    assert "ldap operation failed" in errors_of(reply) or "error connecting" in errors_of(reply)
    assert elapsed < 5


def test_a_silent_ldaps_server_times_out_in_its_handshake(
    ldap: VaultHTTP, slapd: Directory
) -> None:
    with silent_server() as url:
        config = slapd.config(url=url.replace("ldap:", "ldaps:"), connection_timeout=1)
        started = time.monotonic()
        assert "error connecting to host" in errors_of(login_with(ldap, config))
    assert time.monotonic() - started < 5


def test_the_login_budget_caps_long_configured_timeouts(
    ldap: VaultHTTP, slapd: Directory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Vault's 90 s request timeout would outlive API Gateway's 29 s: the budget wins."""
    monkeypatch.setattr(directory, "LOGIN_BUDGET", 1.5)
    with silent_server() as url:
        started = time.monotonic()
        reply = login_with(ldap, slapd.config(url=url))
        elapsed = time.monotonic() - started
    assert errors_of(reply).startswith("ldap operation failed")
    assert elapsed < 4


def test_starttls_verifies_the_server(ldap: VaultHTTP, slapd: Directory) -> None:
    trusted = slapd.config(starttls=True, certificate=slapd.ca_pem)
    assert login_with(ldap, trusted).status_code == 200
    untrusted = slapd.config(starttls=True, certificate="")
    assert "error connecting to host" in errors_of(login_with(ldap, untrusted))
    insecure = slapd.config(starttls=True, insecure_tls=True)
    assert login_with(ldap, insecure).status_code == 200


def test_ldaps_with_a_ca_and_a_client_pair(ldap: VaultHTTP, slapd: Directory) -> None:
    config = slapd.config(
        url=slapd.ldaps_url, certificate=slapd.ca_pem, client_tls_cert=slapd.client_cert_pem,
        client_tls_key=slapd.client_key_pem, tls_max_version="tls13",
    )  # fmt: skip
    assert login_with(ldap, config).status_code == 200
    untrusted = {**config, "certificate": ""}  # the system's CAs do not know the test CA
    assert "error connecting to host" in errors_of(login_with(ldap, untrusted))
