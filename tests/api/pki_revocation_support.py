"""Shared steps of the pki revocation, CRL, OCSP and tidy tests: a mount with an EC root
and a role, issuing, and the openssl commands that check what we serve."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import requests
from cryptography import x509

from tests.support import VaultHTTP


def mount_with_root(vault: VaultHTTP, mount: str = "pki", **role: Any) -> str:
    """``mount`` with an EC root and the role "web"; the root's PEM."""
    assert vault.post(f"sys/mounts/{mount}", {"type": "pki"}).status_code == 204
    reply = vault.post(f"{mount}/root/generate/internal",
                       {"common_name": f"{mount} Root", "key_type": "ec", "ttl": "24h"})
    assert reply.status_code == 200, reply.text
    body = {"allowed_domains": "example.com", "allow_subdomains": True, "key_type": "ec",
            "ttl": "1h", **role}
    assert vault.post(f"{mount}/roles/web", body).status_code == 200
    return str(reply.json()["data"]["certificate"])


def issue(vault: VaultHTTP, name: str = "a.example.com", mount: str = "pki",
          role: str = "web", **fields: Any) -> dict[str, Any]:
    reply = vault.post(f"{mount}/issue/{role}", {"common_name": name, **fields})
    assert reply.status_code == 200, reply.text
    return dict(reply.json())


def crl_of(vault: VaultHTTP, path: str = "pki/crl") -> x509.CertificateRevocationList:
    reply = requests.get(f"{vault.url}/v1/{path}", timeout=30)  # unauthenticated
    assert reply.status_code == 200, reply.text
    return x509.load_der_x509_crl(reply.content)


def serials(crl: x509.CertificateRevocationList) -> set[int]:
    return {entry.serial_number for entry in crl}


def as_int(serial: str) -> int:
    return int(serial.replace(":", ""), 16)


def openssl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["openssl", *args], capture_output=True, text=True, check=False,
                          timeout=60)


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text.strip() + "\n")
    return str(path)


def ocsp_status(vault: VaultHTTP, tmp_path: Path, root: str, leaf: str,
                mount: str = "pki") -> str:
    """`openssl ocsp` against our server; its whole output (status line and -resp_text).

    The Accept header is what API Gateway (and Chalice, which checks it) needs before it
    sends a binary body back; openssl sends none unless told (see the README's OCSP notes)."""
    result = openssl("ocsp", "-issuer", write(tmp_path, "issuer.pem", root),
                     "-cert", write(tmp_path, "leaf.pem", leaf),
                     "-url", f"{vault.url}/v1/{mount}/ocsp", "-resp_text",
                     "-header", "Accept=application/ocsp-response",
                     "-CAfile", write(tmp_path, "root.pem", root))
    return result.stdout + result.stderr
