"""`verify` (write, no token needed): vault-ssh-helper on a host trades the OTP a user
typed for the username, IP and role it was issued for. The OTP is consumed: of any
number of verifies of one OTP, across containers, exactly one gets the answer (otp.py);
the others, like an unknown or revoked OTP, get Vault's "OTP not found".

The OTP's lease is left to expire (Vault does the same); revoking it then finds nothing.
"""

from __future__ import annotations

from chalicelib.core.errors import BadRequest
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.engines.ssh.otp import consume_otp
from chalicelib.framework import Field, FieldData, FieldType, Path
from chalicelib.framework.storage import view_of

# The helper's connectivity check (Vault's api.VerifyEchoRequest and ...Response).
VERIFY_ECHO_REQUEST = "verify-echo-request"
VERIFY_ECHO_RESPONSE = "verify-echo-response"


def path_verify_write(request: Request, data: FieldData) -> Response:
    otp = data["otp"]
    if otp == VERIFY_ECHO_REQUEST:
        return Response(data={"message": VERIFY_ECHO_RESPONSE})
    entry = consume_otp(view_of(request), otp)
    if entry is None:
        raise BadRequest("OTP not found")
    return Response(data={"username": entry.username, "ip": entry.ip,
                          "role_name": entry.role_name})


def paths() -> list[Path]:
    return [
        Path(
            "verify",
            {Operation.UPDATE: path_verify_write},
            fields={"otp": Field(FieldType.STRING, "", "The one-time password to check and "
                                 "consume.")},
            synopsis="Check and consume a one-time password, for vault-ssh-helper.",
        )
    ]
