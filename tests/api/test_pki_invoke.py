"""pki over a direct Lambda invoke (hvac's LambdaAdapter): the bare PEM and DER bodies of
the CA reads reach the client intact, as over HTTP."""

from __future__ import annotations

from typing import Any

import hvac
import pytest
from cryptography import x509

from chalicelib.clients import LambdaAdapter
from tests.support import ROOT_TOKEN
from tests.unit.clients.invoke_hook import FUNCTION_NAME

pytestmark = pytest.mark.compat


def test_ca_reads_over_invoke(lambda_client: Any) -> None:
    client = hvac.Client(token=ROOT_TOKEN,
                         adapter=LambdaAdapter(FUNCTION_NAME, lambda_client=lambda_client))
    client.sys.enable_secrets_engine("pki")
    root = client.secrets.pki.generate_root("internal", "Root CA", {"key_type": "ec"})
    pem = root["data"]["certificate"]
    assert client.secrets.pki.read_ca_certificate() == pem
    der = client.adapter.get("/v1/pki/ca").content
    assert x509.load_der_x509_certificate(der) == x509.load_pem_x509_certificate(pem.encode())
