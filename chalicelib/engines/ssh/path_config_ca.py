"""`config/ca` (write, read, delete) and the unauthenticated `public_key`; the write is
shared with path_issuers' `issuers/import` (``submit_issuer``).

A write stores a new default CA key pair, generated (ssh-rsa 4096 unless key_type and
key_bits say otherwise) or imported; a read and `public_key` show only the public half.
A delete removes every CA key pair of the mount, as OpenBao's does.
"""

from __future__ import annotations

from chalicelib.core.errors import BadRequest, multierror
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.engines.ssh import ca
from chalicelib.framework import Field, FieldData, FieldType, Path
from chalicelib.framework.storage import view_of

PUBLIC_KEY_HEADERS = {"Content-Type": "text/plain"}


def refusal(error: ca.CAError) -> BadRequest:
    """A refusal with OpenBao's words. Those OpenBao answers with a 500 in Go's multierror
    wording (a key type it cannot generate, a role whose signer does not fit the CA) keep
    that wording, but the request or the role caused them: here they are 400s."""
    return BadRequest(multierror(error.message) if error.internal else error.message)


def submit_issuer(request: Request, data: FieldData, name: str, set_default: bool) -> Response:
    """OpenBao's pathWriteIssuerHandler, behind config/ca (no name, always the default)
    and issuers/import: the key pair first, then the name, then the issuer."""
    generate = data["generate_signing_key"] if data.is_set("generate_signing_key") else None
    try:
        public_key, private_key, generated = ca.key_material(
            data["public_key"], data["private_key"], generate, data["key_type"],
            data["key_bits"],
        )
        issuer, existing = ca.import_issuer(view_of(request), public_key, private_key,
                                            generated, name, set_default)
    except ca.CAError as error:
        raise refusal(error) from None
    warnings = [ca.EXISTING_ISSUER_WARNING] if existing else None
    return Response(data=ca.issuer_view(issuer), warnings=warnings)


def path_config_ca_write(request: Request, data: FieldData) -> Response:
    return submit_issuer(request, data, "", set_default=True)


def path_config_ca_read(request: Request, data: FieldData) -> Response:
    try:
        return Response(data=ca.issuer_view(ca.fetch_default_issuer(view_of(request))))
    except ca.CAError as error:
        raise refusal(error) from None


def path_config_ca_delete(request: Request, data: FieldData) -> Response | None:
    deleted = ca.purge_issuers(view_of(request))
    if not deleted:
        return None
    return Response(
        warnings=[f"Deleted {deleted} issuers, including default issuer if configured."]
    )


def path_public_key_read(request: Request, data: FieldData) -> Response:
    """The default CA's public key as a bare text/plain body (OpenBao's raw response)."""
    try:
        issuer = ca.fetch_default_issuer(view_of(request))
    except ca.CAError as error:
        raise refusal(error) from None
    return Response(raw=issuer.public_key, headers=dict(PUBLIC_KEY_HEADERS))


# The key pair's fields, shared with issuers/import (OpenBao's addSubmitIssuerCommonFields).
SUBMIT_FIELDS = {
    "private_key": Field(FieldType.STRING, "", "Private half of the CA key pair to import."),
    "public_key": Field(FieldType.STRING, "", "Public half of the CA key pair to import."),
    "generate_signing_key": Field(
        FieldType.BOOL, True, "Make a new CA key pair instead of importing one."
    ),
    "key_type": Field(
        FieldType.STRING, "ssh-rsa", "Type of a generated key: ssh-rsa, ecdsa-sha2-nistp256, "
        "ecdsa-sha2-nistp384, ecdsa-sha2-nistp521, ssh-ed25519, or rsa, ec, ed25519.",
    ),
    "key_bits": Field(
        FieldType.INT, 0, "Bits of a generated RSA key (4096 when 0), or the curve of "
        "key_type ec (256, 384 or 521).",
    ),
}


def paths() -> list[Path]:
    return [
        Path(
            "config/ca",
            {
                Operation.UPDATE: path_config_ca_write,
                Operation.READ: path_config_ca_read,
                Operation.DELETE: path_config_ca_delete,
            },
            fields={
                "issuer_name": Field(
                    FieldType.STRING, "", "Ignored here: config/ca's issuer has no name."
                ),
                **SUBMIT_FIELDS,
            },
            synopsis="Set, read or remove the mount's default SSH CA key pair.",
        ),
        Path(
            "public_key",
            {Operation.READ: path_public_key_read},
            synopsis="The default CA's public key, for sshd's TrustedUserCAKeys.",
        ),
    ]
