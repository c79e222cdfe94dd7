"""certbot (from PyPI) against `lambdavault server -dev`: an http-01 certificate for a
loopback name through a role's ACME directory with certbot's standalone responder on a
free port, then a forced renewal; both verify against the mount's CA with `openssl
verify`, and a name the role forbids is refused. Then external account binding: certbot
without a key is refused, with one from new-eab it registers and gets its certificate."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from cryptography import x509

from tests.compat.conftest import BIN, ROOT_TOKEN, Server, free_port, start_server, stop_server


@pytest.fixture
def acme_server(tmp_path: Path) -> Iterator[tuple[Server, int]]:
    """A dev server whose http-01 validator connects to ``port`` (dev-only setting)."""
    port = free_port()
    server = start_server(["-dev", f"-dev-root-token-id={ROOT_TOKEN}"], tmp_path / "server.log",
                          env={"LAMBDAVAULT_ACME_HTTP01_PORT": str(port)})
    try:
        yield server, port
    finally:
        stop_server(server)


def configure(server: Server) -> str:
    """pki with a root CA, a role for names under localhost, and ACME on; the root PEM."""
    post(server, "sys/mounts/pki", {"type": "pki"})
    root = post(server, "pki/root/generate/internal", {
        "common_name": "Lambdavault ACME Root", "key_type": "ec", "ttl": "8760h"})
    post(server, "pki/roles/web", {"allowed_domains": "localhost", "allow_bare_domains": True,
                                   "allow_subdomains": True, "key_type": "any", "ttl": "24h"})
    post(server, "pki/config/cluster", {"path": f"{server.address}/v1/pki"})
    post(server, "pki/config/acme", {"enabled": True})
    return root["data"]["certificate"]


def post(server: Server, path: str, body: dict) -> dict:
    reply = requests.post(f"{server.address}/v1/{path}", json=body,
                          headers={"X-Vault-Token": ROOT_TOKEN}, timeout=30)
    assert reply.status_code in (200, 204), reply.text
    return reply.json() if reply.content else {}


def certbot(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "certbot"), *args, "--config-dir", str(tmp_path / "config"),
         "--work-dir", str(tmp_path / "work"), "--logs-dir", str(tmp_path / "logs"),
         "--non-interactive"],
        capture_output=True, text=True, timeout=60, check=False,
    )


def openssl_verify(root: Path, leaf: Path) -> None:
    done = subprocess.run(["openssl", "verify", "-CAfile", str(root), str(leaf)],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0 and done.stdout.strip().endswith(": OK"), done


def test_certbot_obtains_and_renews(acme_server: tuple[Server, int], tmp_path: Path) -> None:
    server, port = acme_server
    root = tmp_path / "root.pem"
    root.write_text(configure(server))
    directory = f"{server.address}/v1/pki/roles/web/acme/directory"
    obtain = ("certonly", "--standalone", "--http-01-port", str(port),
              "--http-01-address", "127.0.0.1", "--server", directory,
              "--register-unsafely-without-email", "--agree-tos")

    first = certbot(tmp_path, *obtain, "-d", "localhost", "-d", "app.localhost")
    assert first.returncode == 0, first.stderr
    archive = tmp_path / "config" / "archive" / "localhost"
    openssl_verify(root, archive / "cert1.pem")
    issued = x509.load_pem_x509_certificate((archive / "cert1.pem").read_bytes())
    names = issued.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sorted(names.get_values_for_type(x509.DNSName)) == ["app.localhost", "localhost"]

    renewed = certbot(tmp_path, "renew", "--force-renewal", "--no-random-sleep-on-renew")
    assert renewed.returncode == 0, renewed.stderr
    openssl_verify(root, archive / "cert2.pem")
    again = x509.load_pem_x509_certificate((archive / "cert2.pem").read_bytes())
    assert again.serial_number != issued.serial_number
    # The chain certbot saved is the mount's CA.
    assert (archive / "chain2.pem").read_text().strip() == root.read_text().strip()

    refused = certbot(tmp_path, *obtain, "-d", "www.example.com")
    assert refused.returncode != 0
    assert "role (web) will not issue certificate for name www.example.com" in refused.stderr
    assert "the server will not issue certificates for the identifier" in refused.stderr

    post(server, "pki/config/acme", {"eab_policy": "new-account-required"})
    fresh = tmp_path / "eab"
    unbound = certbot(fresh, *obtain, "-d", "localhost")
    assert unbound.returncode != 0
    assert "Server requires external account binding" in unbound.stderr
    eab = post(server, "pki/roles/web/acme/new-eab", {})["data"]
    bound = certbot(fresh, *obtain, "-d", "localhost", "--eab-kid", eab["id"],
                    "--eab-hmac-key", eab["key"])
    assert bound.returncode == 0, bound.stderr
    openssl_verify(root, fresh / "config" / "archive" / "localhost" / "cert1.pem")
