"""Passwords for generated credentials, from a named password policy or Vault's default.

Password policies live in the system view under ``password_policy/<name>``, as in Vault.
They are read on every generation (one GetItem): passwords are only made when a
credential is created, so a cache and its cross-container invalidation would buy nothing.
"""

from __future__ import annotations

from chalicelib.core import jsonio
from chalicelib.core.errors import BadRequest, InternalError
from chalicelib.storage.view import StorageView

POLICY_PREFIX = "password_policy/"


def policy_key(name: str) -> str:
    return POLICY_PREFIX + name


def read_policy_text(view: StorageView, name: str) -> str | None:
    """The stored HCL of policy ``name`` in the system view, or None."""
    entry = view.get(policy_key(name))
    return None if entry is None else str(jsonio.loads(entry.value)["policy"])


def system_view() -> StorageView:
    from chalicelib.core.mounts import SYSTEM_MOUNT
    from chalicelib.core.runtime import runtime

    return StorageView(runtime().barrier, SYSTEM_MOUNT.storage_prefix)


def generate_password(policy_name: str = "") -> str:
    """A password from policy ``policy_name``, or OpenBao's default generator for "".

    As Vault's SystemView.GeneratePasswordFromPolicy, with its texts (an engine may prefix
    them): an unknown policy is a 400, a stored policy that no longer parses or yields no
    password in a second is a 500. The default is the database engine's: 20 characters of
    [a-zA-Z0-9-] with at least one of each kind.
    """
    # Imported here: the system backend imports this module on every cold start, and only
    # credential creation needs the generator.
    from chalicelib.generators.generator import DEFAULT_GENERATOR, GeneratorError
    from chalicelib.generators.policy_text import PolicyError, parse_password_policy

    generator = DEFAULT_GENERATOR
    if policy_name:
        text = read_policy_text(system_view(), policy_name)
        if text is None:
            raise BadRequest("no password policy found")
        try:
            generator = parse_password_policy(text)
        except PolicyError as error:
            raise InternalError(f"stored password policy is invalid: {error}") from None
    try:
        return generator.generate()
    except GeneratorError as error:
        raise InternalError(str(error)) from None
