"""Usernames of generated credentials, from an engine's ``username_template``.

As Vault's database and rabbitmq engines: the template sees ``.DisplayName`` (the caller's
token display name) and ``.RoleName``, and is rendered with sdk/helper/template's language.
"""

from __future__ import annotations

from chalicelib.core.errors import BadRequest
from chalicelib.generators.template import Template, TemplateError


def check_template(template: str) -> Template:
    """The parsed template; 400 with Vault's text when it does not parse (as at config
    write, where Vault refuses such a template)."""
    try:
        return Template.parse(template)
    except TemplateError as error:
        raise BadRequest(f"unable to initialize username template: {error}") from None


def render_username(template: str, *, display_name: str, role_name: str) -> str:
    """The username ``template`` gives; 400 when it does not parse or fails to render."""
    parsed = check_template(template)
    try:
        return parsed.render({"DisplayName": display_name, "RoleName": role_name})
    except TemplateError as error:
        raise BadRequest(f"failed to generate username: {error}") from None
