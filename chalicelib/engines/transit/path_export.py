"""export/:type/:name[/:version]: key material of exportable keys, in Vault's encodings."""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization as ser

from chalicelib.core.errors import BadRequest
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.engines.transit.encoding import b64encode
from chalicelib.engines.transit.material import KeyVersion
from chalicelib.engines.transit.policy import KeyPolicy
from chalicelib.engines.transit.store import KeyStore
from chalicelib.framework import Field, FieldData, FieldType, Path

EXPORT_TYPES = ("encryption-key", "signing-key", "hmac-key", "public-key", "certificate-chain")
_FORMATS = ("", "raw", "der", "pem")
_PKCS8 = (ser.PrivateFormat.PKCS8, ser.NoEncryption())


def _pem_or_der(der: bytes, pem: bytes, format_name: str, *, trim: bool) -> str:
    if format_name == "der":
        return b64encode(der)
    return pem.decode().strip() if trim else pem.decode()


def _private(policy: KeyPolicy, version: KeyVersion, format_name: str) -> str:
    family = policy.type.family
    if family == "ed25519" and format_name in ("", "raw"):
        return b64encode(version.key)
    if format_name == "raw":
        kind = "rsa" if family == "rsa" else "ec"
        raise BadRequest(
            f"unknown key format for {kind} key; supported values are ``, `der`, or `pem`"
        )
    if not version.has_private:
        return ""
    key = version.private_key()
    der = key.private_bytes(ser.Encoding.DER, *_PKCS8)
    if format_name == "":
        legacy = ser.PrivateFormat.TraditionalOpenSSL  # PKCS#1 for RSA, SEC1 for EC
        pem = key.private_bytes(ser.Encoding.PEM, legacy, ser.NoEncryption())
    else:
        pem = key.private_bytes(ser.Encoding.PEM, *_PKCS8)
    return _pem_or_der(der, pem, format_name, trim=family != "rsa")


def _public(policy: KeyPolicy, version: KeyVersion, format_name: str) -> str:
    family = policy.type.family
    if family == "ed25519" and format_name in ("", "raw"):
        return version.public_key.strip()
    if format_name == "raw":
        kind = "rsa" if family == "rsa" else "ec"
        raise BadRequest(
            f"unknown key format for {kind} key; supported values are ``, `der`, or `pem`"
        )
    public = version.public()
    info = ser.PublicFormat.SubjectPublicKeyInfo
    der = public.public_bytes(ser.Encoding.DER, info)
    pem = public.public_bytes(ser.Encoding.PEM, info)
    return _pem_or_der(der, pem, format_name, trim=family != "rsa")


def export_key(policy: KeyPolicy, version: KeyVersion, export_type: str, format_name: str) -> str:
    family = policy.type.family
    symmetric = export_type == "hmac-key" or (export_type == "encryption-key" and family == "aead")
    if symmetric and format_name in ("der", "pem"):
        raise BadRequest("unknown format for HMAC key; supported values are `` or `raw`")
    if export_type == "hmac-key":
        return b64encode(version.key if family == "hmac" else version.hmac_key)
    if symmetric:
        return b64encode(version.key)
    if export_type in ("encryption-key", "signing-key"):
        return _private(policy, version, format_name)
    if export_type == "public-key":
        return _public(policy, version, format_name)
    raise BadRequest("selected key version does not have a certificate chain imported")


def _check_export(policy: KeyPolicy, export_type: str) -> None:
    if not policy.exportable and export_type not in ("public-key", "certificate-chain"):
        raise BadRequest("private key material is not exportable")
    kind = policy.type
    if export_type == "encryption-key" and not kind.encryption:
        raise BadRequest("encryption not supported for the key")
    if export_type == "signing-key" and not kind.signing:
        raise BadRequest("signing not supported for the key")
    if export_type in ("public-key", "certificate-chain") and not kind.signing:
        raise BadRequest("public key and certificate chain are only available for asymmetric "
                         "signing keys")


def _version_number(policy: KeyPolicy, text: str) -> int:
    if text == "latest":
        return policy.latest_version
    try:
        number = int(text.removeprefix("v"))
    except ValueError:
        raise BadRequest("invalid key version") from None
    if number < policy.min_decryption_version:
        raise BadRequest("version for export is below minimum decryption version")
    if number not in policy.versions:
        raise BadRequest("version does not exist or cannot be found")
    return number


def path_export_read(request: Request, data: FieldData) -> Response | None:
    export_type, format_name = data["type"], data["format"]
    if export_type not in EXPORT_TYPES:
        raise BadRequest(f"invalid export type: {export_type}")
    if format_name not in _FORMATS:
        raise BadRequest(f"invalid format: {format_name}")
    policy = KeyStore.of(request).load(data["name"])
    if policy is None:
        return None
    _check_export(policy, export_type)
    wanted = data.raw.get("version")
    numbers = [_version_number(policy, wanted)] if wanted else sorted(policy.versions)
    keys = {
        str(n): export_key(policy, policy.versions[n], export_type, format_name) for n in numbers
    }
    return Response(data={"name": policy.name, "type": policy.type.name, "keys": keys})


def paths() -> list[Path]:
    fields = {"format": Field(FieldType.STRING, "", "Encoding: '', raw, der or pem.")}
    handlers = {Operation.READ: path_export_read}
    return [
        Path("export/{type}/{name}", handlers, fields=fields, synopsis="Export a key."),
        Path(
            "export/{type}/{name}/{version}",
            handlers,
            fields=fields,
            synopsis="Export one version of a key.",
        ),
    ]

