"""Transit through hvac's ``client.secrets.transit`` against `lambdavault server -dev`."""

from __future__ import annotations

import base64

import hvac
import pytest
from hvac.exceptions import InvalidRequest

from tests.compat.conftest import ROOT_TOKEN, Server

pytestmark = pytest.mark.compat


@pytest.fixture(scope="module")
def client(module_dev_server: Server) -> hvac.Client:
    connected = hvac.Client(url=module_dev_server.address, token=ROOT_TOKEN)
    connected.sys.enable_secrets_engine("transit")
    return connected


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_key_lifecycle(client: hvac.Client) -> None:
    transit = client.secrets.transit
    transit.create_key("life", key_type="chacha20-poly1305", exportable=True)
    assert transit.read_key("life")["data"]["type"] == "chacha20-poly1305"
    assert "life" in transit.list_keys()["data"]["keys"]
    transit.rotate_key("life")
    transit.rotate_key("life")
    transit.update_key_configuration("life", min_decryption_version=2, min_encryption_version=3,
                                     deletion_allowed=True)
    transit.trim_key("life", min_version=2)
    key = transit.read_key("life")["data"]
    assert key["min_available_version"] == 2 and list(key["keys"]) == ["2", "3"]
    exported = transit.export_key("life", key_type="encryption-key", version="latest")
    assert len(base64.b64decode(exported["data"]["keys"]["3"])) == 32
    transit.delete_key("life")
    with pytest.raises(hvac.exceptions.InvalidPath):
        transit.read_key("life")


def test_encrypt_decrypt_batches_and_datakeys(client: hvac.Client) -> None:
    transit = client.secrets.transit
    transit.create_key("data")
    sealed = transit.encrypt_data("data", plaintext=b64(b"one"))["data"]["ciphertext"]
    assert base64.b64decode(
        transit.decrypt_data("data", ciphertext=sealed)["data"]["plaintext"]) == b"one"
    batch = transit.encrypt_data("data", batch_input=[{"plaintext": b64(b"a")},
                                                      {"plaintext": b64(b"b")}])
    ciphertexts = [{"ciphertext": item["ciphertext"]} for item in batch["data"]["batch_results"]]
    opened = transit.decrypt_data("data", batch_input=ciphertexts)["data"]["batch_results"]
    assert [base64.b64decode(item["plaintext"]) for item in opened] == [b"a", b"b"]
    with pytest.raises(InvalidRequest, match="illegal base64 data"):
        transit.encrypt_data("data", plaintext="not base64!")
    rewrapped = transit.rewrap_data("data", ciphertext=sealed)["data"]["ciphertext"]
    assert rewrapped.startswith("vault:v1:")
    datakey = transit.generate_data_key("data", key_type="plaintext", bits=128)["data"]
    assert len(base64.b64decode(datakey["plaintext"])) == 16


def test_sign_verify_hmac_hash_random(client: hvac.Client) -> None:
    transit = client.secrets.transit
    transit.create_key("sig", key_type="rsa-2048")
    signed = transit.sign_data("sig", hash_input=b64(b"doc"), hash_algorithm="sha2-512",
                               signature_algorithm="pkcs1v15")["data"]["signature"]
    verdict = transit.verify_signed_data("sig", hash_input=b64(b"doc"), signature=signed,
                                         hash_algorithm="sha2-512",
                                         signature_algorithm="pkcs1v15")
    assert verdict["data"]["valid"] is True
    transit.create_key("mac")  # every key has an HMAC key (hvac refuses type "hmac")
    mac = transit.generate_hmac("mac", hash_input=b64(b"doc"))["data"]["hmac"]
    assert transit.verify_signed_data("mac", hash_input=b64(b"doc"), hmac=mac)["data"]["valid"]
    digest = transit.hash_data(hash_input=b64(b"abc"), algorithm="sha2-512")["data"]["sum"]
    assert digest.startswith("ddaf35a193617aba")
    random = transit.generate_random_bytes(n_bytes=8, output_format="hex")["data"]
    assert len(random["random_bytes"]) == 16


def test_backup_restore(client: hvac.Client) -> None:
    transit = client.secrets.transit
    transit.create_key("kept", exportable=True, allow_plaintext_backup=True)
    sealed = transit.encrypt_data("kept", plaintext=b64(b"x"))["data"]["ciphertext"]
    backup = transit.backup_key("kept")["data"]["backup"]
    transit.restore_key(backup, name="copy")
    plain = transit.decrypt_data("copy", ciphertext=sealed)["data"]["plaintext"]
    assert base64.b64decode(plain) == b"x"
