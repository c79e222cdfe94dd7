"""sys/policies/password: password policies, and a password from one of them.

As OpenBao: a policy is stored in the system view at ``password_policy/<name>`` as
``{"policy": <HCL>}`` (names may contain slashes), writes are ``update`` operations (no
existence check), none of these paths needs sudo, and each error is a one-item multierror.
"""

from __future__ import annotations

from http import HTTPStatus

from chalicelib.core import jsonio
from chalicelib.core.errors import BadRequest, NotFound, VaultError, multierror
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.framework import Field, FieldData, Path
from chalicelib.generators.passwords import POLICY_PREFIX, policy_key, read_policy_text
from chalicelib.storage.view import StorageView

MIN_PASSWORD_LENGTH = 4
MAX_PASSWORD_LENGTH = 100


def _view(request: Request) -> StorageView:
    assert request.storage is not None
    return request.storage


def _stored_text(request: Request, name: str) -> str:
    text = read_policy_text(_view(request), name)
    if text is None:
        raise NotFound(multierror("policy does not exist"))
    return text


def _list(request: Request, data: FieldData) -> Response | None:
    # CollectKeysWithPrefix: each folder's keys, then its subfolders', breadth first.
    names: list[str] = []
    folders = [""]
    for folder in folders:
        for child in _view(request).list(POLICY_PREFIX + folder):
            (folders if child.endswith("/") else names).append(folder + child)
    return Response(data={"keys": names}) if names else None


def _read(request: Request, data: FieldData) -> Response:
    return Response(data={"policy": _stored_text(request, data["name"])})


def _write(request: Request, data: FieldData) -> None:
    from chalicelib.generators.policy_text import PolicyError, parse_password_policy
    from chalicelib.policy.parser import decode_policy_text

    if not data["policy"]:
        raise BadRequest(multierror("missing policy"))
    text = decode_policy_text(data["policy"])  # base64 is optional, as in Vault
    try:
        generator = parse_password_policy(text)
    except PolicyError as error:
        raise BadRequest(multierror(f"invalid password policy: {error}")) from None
    if not MIN_PASSWORD_LENGTH <= generator.length <= MAX_PASSWORD_LENGTH:
        raise BadRequest(
            multierror(
                f"passwords must be between {MIN_PASSWORD_LENGTH} "
                f"and {MAX_PASSWORD_LENGTH} characters"
            )
        )
    if not generator.can_generate():
        raise BadRequest(
            multierror(
                "unable to construct test password from provided policy: are the rules impossible?"
            )
        )
    _view(request).put(policy_key(data["name"]), jsonio.dumpb({"policy": text}))


def _delete(request: Request, data: FieldData) -> None:
    _view(request).delete(policy_key(data["name"]))


def _generate(request: Request, data: FieldData) -> Response:
    from chalicelib.generators.generator import GeneratorError
    from chalicelib.generators.policy_text import PolicyError, parse_password_policy

    text = _stored_text(request, data["name"])
    try:
        password = parse_password_policy(text).generate()
    except PolicyError:
        raise _server_error("stored password policy configuration failed to parse") from None
    except GeneratorError as error:
        raise _server_error(f"failed to generate password from policy: {error}") from None
    return Response(data={"password": password})


def _server_error(message: str) -> VaultError:
    return VaultError(multierror(message), status=HTTPStatus.INTERNAL_SERVER_ERROR)


def paths() -> list[Path]:
    op = Operation
    name = {"name": Field(description="The name of the password policy.")}
    return [
        Path("policies/password/?", {op.LIST: _list}, synopsis="List the password policies."),
        Path(
            "policies/password/{name:path}/generate",
            {op.READ: _generate},
            name,
            synopsis="Generate a password from a password policy.",
        ),
        Path(
            "policies/password/{name:path}",
            {op.READ: _read, op.UPDATE: _write, op.DELETE: _delete},
            {**name, "policy": Field(description="The password policy")},
            synopsis="Read, write or delete a password policy.",
        ),
    ]
