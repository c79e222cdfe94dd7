"""`sign/<role>` (a certificate for the client's public key) and `issue/<role>` (a new
key pair and its certificate, the private key returned once and never stored)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from chalicelib.core.errors import BadRequest
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.engines.ssh import ca, certificates
from chalicelib.engines.ssh.issue_sign import sign_certificate
from chalicelib.engines.ssh.path_config_ca import refusal
from chalicelib.engines.ssh.role import KEY_TYPE_CA, ROLE_PREFIX, check_role_name, read_role
from chalicelib.framework import Field, FieldData, FieldType, Path
from chalicelib.framework.storage import view_of


def path_sign_write(request: Request, data: FieldData) -> Response:
    """OpenBao's pathSign: user errors 400, internal ones 500."""
    check_role_name(data["role"])
    role = read_role(view_of(request), data["role"])
    if role is None:
        raise BadRequest(f"Unknown role: {data['role']}")
    if not data["public_key"]:
        raise BadRequest("missing public_key")
    try:
        _, blob, public_key = ca.parse_public_key(data["public_key"])
    except ca.CAError as error:
        raise BadRequest(f"failed to parse public_key as SSH key: {error.message}") from None
    try:
        certificates.check_key_lengths(public_key, role.allowed_user_key_lengths)
    except ValueError as error:
        raise BadRequest(f"public_key failed to meet the key requirements: {error}") from None
    try:
        body, warnings = sign_certificate(request, data, role, public_key, blob)
    except ca.CAError as error:
        raise refusal(error) from None
    return Response(data=body, warnings=warnings)


def _check_key_spec(allowed: dict[str, list[int] | None], key_type: str, bits: int) -> None:
    """OpenBao's extractKeySpecs: the requested type and size must be on the role's list."""
    if not allowed:
        return
    listed = [alias for alias in certificates.key_aliases(key_type, bits) if alias in allowed]
    if not listed:
        raise BadRequest("provided key_type value not in allowed_user_key_types")
    if not any(bits in (allowed[alias] or []) for alias in listed):
        raise BadRequest("provided key_bits value not in list of role's allowed_user_key_types")


def path_issue_write(request: Request, data: FieldData) -> Response:
    """OpenBao's pathIssue: every refusal is a 400."""
    check_role_name(data["role"])
    role = read_role(view_of(request), data["role"])
    if role is None:
        raise BadRequest(f"unknown role: {data['role']}")
    if role.key_type != KEY_TYPE_CA:
        raise BadRequest(f"role key type '{role.key_type}' not allowed to issue key pairs")
    key_type, bits = data["key_type"], data["key_bits"]
    _check_key_spec(role.allowed_user_key_lengths, key_type, bits)
    try:
        public_line, private_key = ca.generate_key_pair(key_type, bits)
        _, blob, public_key = ca.parse_public_key(public_line)
        body, warnings = sign_certificate(request, data, role, public_key, blob)
    except ca.CAError as error:
        raise BadRequest(error.message) from None
    body.update(private_key=private_key, private_key_type=key_type)
    return Response(data=body, warnings=warnings)


def prefetch_role(captures: Mapping[str, str]) -> Sequence[str]:
    """The role and the pointer to the default CA, in the pipeline's first round trip."""
    return [ROLE_PREFIX + captures["role"], ca.ISSUERS_CONFIG_KEY]


_COMMON = {
    "role": Field(FieldType.STRING, "", "The role to sign with."),
    "ttl": Field(FieldType.DURATION, 0, "Certificate TTL (the role's when not sent)."),
    "valid_principals": Field(FieldType.STRING, "", "Comma list of users or hosts."),
    "cert_type": Field(FieldType.STRING, certificates.USER_CERT, "user or host."),
    "key_id": Field(FieldType.STRING, "", "Key ID, when the role allows one to be asked."),
    "critical_options": Field(FieldType.MAP, dict, "Critical options of the certificate."),
    "extensions": Field(FieldType.MAP, dict, "Extensions of the certificate."),
}


def paths() -> list[Path]:
    return [
        Path(
            "sign/{role}",
            {Operation.UPDATE: path_sign_write},
            fields={**_COMMON, "public_key": Field(FieldType.STRING, "",
                                                   "The SSH public key to sign.")},
            prefetch=prefetch_role,
            synopsis="Request signing an SSH key using a certain role.",
        ),
        Path(
            "issue/{role}",
            {Operation.UPDATE: path_issue_write},
            fields={
                **_COMMON,
                "key_type": Field(FieldType.STRING, "rsa", "Type of the key to make."),
                "key_bits": Field(FieldType.INT, 0, "Bits of the key (0: the type's)."),
            },
            prefetch=prefetch_role,
            synopsis="Request a key pair and its certificate using a certain role.",
        ),
    ]
