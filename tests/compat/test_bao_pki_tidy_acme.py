"""tidy_acme and config/urls templating side by side with OpenBao 2.7.2's `bao server -dev`:
an unused ACME account revoked by one tidy and deleted by the next (same counters, same
problem document for the revoked account), and {{cluster_path}} refused then filled in an
issued certificate's AIA and CRL distribution points.

OpenBao's tidy runs in the background, so its tidy-status is polled until it finishes;
its total_acme_account_count stays 0 (it never counts), ours counts the accounts seen."""

# The fixture both comes from test_bao_pki_acme, imported by name:
# ruff: noqa: F811

from __future__ import annotations

import time
from typing import Any

import pytest
from cryptography import x509

from tests.api.test_pki_acme import AcmeClient
from tests.compat.conftest import Server
from tests.compat.test_bao_pki_acme import both, each  # noqa: F401

pytestmark = pytest.mark.compat

_COUNTERS = ("acme_account_revoked_count", "acme_account_deleted_count",
             "acme_orders_deleted_count", "acme_account_safety_buffer", "tidy_acme", "state")


def tidied(server: Server) -> dict[str, Any]:
    server.bao("write", "pki/tidy", "tidy_acme=true", "acme_account_safety_buffer=1")
    for _ in range(100):
        status = server.bao("read", "-format=json", "pki/tidy-status").json()["data"]
        if status["state"] != "Running":
            return {name: status[name] for name in _COUNTERS}
        time.sleep(0.1)
    raise AssertionError(f"tidy still running on {server.address}")


def test_tidy_acme_matches_openbao(both: list[Server]) -> None:
    clients = []
    for server in both:
        server.bao("write", "pki/config/cluster", f"path={server.address}/v1/pki")
        server.bao("write", "pki/config/acme", "enabled=true")
        unused, busy = (AcmeClient(f"{server.address}/v1/pki/acme/directory")
                        for _ in range(2))
        assert unused.register().status_code == busy.register().status_code == 201
        assert busy.order("localhost").status_code == 201
        clients.append(unused)
    time.sleep(2.1)
    ours, theirs = (tidied(server) for server in both)
    assert ours == theirs == {"acme_account_revoked_count": 1, "acme_account_deleted_count": 0,
                              "acme_orders_deleted_count": 0, "acme_account_safety_buffer": 1,
                              "tidy_acme": True, "state": "Finished"}
    refused = [client.order("localhost") for client in clients]
    assert [(r.status_code, r.json()) for r in refused] == [(401, {
        "type": "urn:ietf:params:acme:error:unauthorized",
        "detail": "the client lacks sufficient authorization: account in status: revoked"})] * 2
    time.sleep(2.1)
    ours, theirs = (tidied(server) for server in both)
    assert ours == theirs and ours["acme_account_deleted_count"] == 1


def test_cluster_path_templating_matches_openbao(both: list[Server]) -> None:
    urls = ("enable_templating=true",
            "issuing_certificates={{cluster_path}}/issuer/{{issuer_id}}/der",
            "crl_distribution_points={{cluster_path}}/issuer/{{issuer_id}}/crl/der",
            "ocsp_servers={{cluster_path}}/ocsp")
    ours, theirs = each(both, "write", "pki/config/urls", *urls)
    assert (ours["data"], ours["warnings"]) == (theirs["data"], theirs["warnings"])
    words = ("error fetching CA certificate: unable to fetch AIA URL information: unable to "
             "template AIA URLs as we lack local cluster address information (path)")
    refused = [server.bao("write", "pki/issue/web", "common_name=localhost", "key_type=ec",
                          "ttl=1h", check=False)
               for server in both]
    # Ours 400, theirs 500 (the project's rule), with the same words.
    assert ["Code: 400" in refused[0].err, "Code: 500" in refused[1].err] == [True, True], refused
    assert all(words in r.err for r in refused), refused
    seen = []
    for server in both:
        server.bao("write", "pki/config/cluster", "path=https://vault.example.com/v1/pki")
        issuer_id = server.bao("list", "-format=json", "pki/issuers").json()[0]
        pem = server.bao("write", "-field=certificate", "pki/issue/web",
                         "common_name=localhost", "key_type=ec", "ttl=1h").out
        cert = x509.load_pem_x509_certificate(pem.encode())
        aia = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
        points = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
        seen.append(([d.access_location.value.replace(issuer_id, "ID") for d in aia],
                     [p.full_name[0].value.replace(issuer_id, "ID") for p in points]))
    assert seen[0] == seen[1] == (
        ["https://vault.example.com/v1/pki/ocsp",
         "https://vault.example.com/v1/pki/issuer/ID/der"],
        ["https://vault.example.com/v1/pki/issuer/ID/crl/der"])
