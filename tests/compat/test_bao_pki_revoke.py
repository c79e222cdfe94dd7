"""pki revocation, CRLs, OCSP and tidy through the real `bao` CLI, side by side with
OpenBao 2.7.2's `bao server -dev`: the same refusals (its 500s for what the request caused
are our 400s with its words), the same field names, CRLs and OCSP answers that say the same
things, tidy removing the same expired certificate, and `bao pki health-check` reporting
the same findings."""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509

from tests.compat.conftest import Server
from tests.compat.test_bao_userpass import same, same_words

pytestmark = pytest.mark.compat
_UUID = re.compile(r"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@pytest.fixture
def both(module_dev_server: Server, openbao_dev: Server) -> list[Server]:
    servers = [module_dev_server, openbao_dev]
    for server in servers:
        server.bao("secrets", "disable", "pki")  # both servers serve the whole module
        server.bao("secrets", "enable", "pki")
        server.bao("write", "pki/root/generate/internal", "common_name=Root", "key_type=ec",
                   "ttl=24h")
        server.bao("write", "pki/roles/web", "allowed_domains=example.com",
                   "allow_subdomains=true", "key_type=ec", "ttl=1h")
    return servers


def _json(server: Server, *args: str) -> Any:
    return server.bao(*args[:1], "-format=json", *args[1:]).json()


def _issue(servers: list[Server], name: str, ttl: str = "1h") -> list[dict[str, Any]]:
    return [_json(s, "write", "pki/issue/web", f"common_name={name}", f"ttl={ttl}")["data"]
            for s in servers]


def _crl(server: Server) -> x509.CertificateRevocationList:
    pem = server.bao("read", "-field=certificate", "pki/cert/crl").out
    return x509.load_pem_x509_crl(pem.encode())


def test_revoke_and_crl_match_openbao(both: list[Server], tmp_path: Path) -> None:
    leaves = _issue(both, "a.example.com")
    for args in (("write", "pki/revoke"), ("write", "pki/revoke", "serial_number=aa:bb"),
                 ("write", "pki/revoke", "serial_number=aa", "certificate=x"),
                 ("write", "pki/revoke-with-key", "serial_number=aa:bb"),
                 ("read", "pki/cert/zz"), ("write", "pki/crl/rotate"),
                 ("read", "-format=json", "pki/config/crl"),
                 ("write", "pki/config/crl", "enable_delta=true"),
                 ("read", "-format=json", "pki/config/urls"),
                 ("read", "-format=json", "pki/config/auto-tidy"),
                 ("write", "pki/config/auto-tidy", "enabled=true"),
                 ("write", "pki/tidy", "safety_buffer=0"),
                 ("write", "-format=json", "pki/tidy-cancel"),
                 ("read", "-format=json", "pki/crl/rotate-delta")):
        same(both, *args)
    same_words(both, "write", "pki/revoke", "certificate=short")
    answers = [_json(s, "write", "pki/revoke", f"serial_number={leaf['serial_number']}")
               for s, leaf in zip(both, leaves, strict=True)]
    assert [sorted(a["data"]) for a in answers] == [
        ["revocation_time", "revocation_time_rfc3339", "state"]] * 2
    shown = [_json(s, "read", f"pki/cert/{leaf['serial_number']}")["data"]
             for s, leaf in zip(both, leaves, strict=True)]
    assert sorted(shown[0]) == sorted(shown[1])
    listed = [_json(s, "list", "pki/certs/revoked") for s in both]
    assert listed == [[leaf["serial_number"]] for leaf in leaves]
    crls = [_crl(s) for s in both]
    assert [{e.serial_number for e in c} for c in crls] == [
        {int(leaf["serial_number"].replace(":", ""), 16)} for leaf in leaves]
    assert [sorted(e.oid.dotted_string for e in c.extensions) for c in crls] == [
        ["2.5.29.20", "2.5.29.35"]] * 2
    same(both, "read", "-format=json", "pki/crl/rotate")
    for server, leaf in zip(both, leaves, strict=True):
        assert ": revoked" in _openssl_ocsp(server, tmp_path, leaf)
    status = [_json(s, "read", "pki/tidy-status")["data"] for s in both]
    assert sorted(status[0]) == sorted(status[1]) and status[0]["state"] == "Inactive"


def _openssl_ocsp(server: Server, tmp_path: Path, leaf: dict[str, Any]) -> str:
    (tmp_path / "issuer.pem").write_text(leaf["issuing_ca"] + "\n")
    (tmp_path / "leaf.pem").write_text(leaf["certificate"] + "\n")
    done = subprocess.run(
        ["openssl", "ocsp", "-issuer", str(tmp_path / "issuer.pem"),
         "-cert", str(tmp_path / "leaf.pem"), "-url", f"{server.address}/v1/pki/ocsp",
         # What API Gateway and Chalice need for a binary answer (as ocsp_status in
         # tests/api/pki_revocation_support.py); OpenBao ignores it.
         "-header", "Accept=application/ocsp-response",
         "-CAfile", str(tmp_path / "issuer.pem")],
        capture_output=True, text=True, check=False, timeout=60)
    return done.stdout + done.stderr


def test_tidy_and_health_check_match_openbao(both: list[Server]) -> None:
    expired = _issue(both, "e.example.com", ttl="2s")
    time.sleep(3.2)
    for server in both:
        reply = server.bao("write", "-format=json", "pki/tidy", "tidy_cert_store=true",
                           "safety_buffer=1s")
        assert reply.code == 0, reply
    time.sleep(1)
    status = [_json(s, "read", "pki/tidy-status")["data"] for s in both]
    assert sorted(status[0]) == sorted(status[1])
    assert [(s["state"], s["cert_store_deleted_count"]) for s in status] == [
        ("Finished", 1)] * 2
    for server, leaf in zip(both, expired, strict=True):
        assert leaf["serial_number"] not in server.bao("list", "pki/certs").out
    reports = [_health(s) for s in both]
    assert reports[0] == reports[1]


def _health(server: Server) -> dict[str, Any]:
    """`bao pki health-check` findings, ids and dates blanked, each check's findings
    sorted (OpenBao lists audit_visibility in Go's random map order)."""
    out = server.bao("pki", "health-check", "-format=json", "pki", check=False).out
    report = json.loads(_DATE.sub("<date>", _UUID.sub("<uuid>", out)))
    return {check: sorted(found, key=json.dumps) for check, found in report.items()}
