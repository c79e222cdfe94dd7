"""Turn ACL policy text (HCL1 or JSON) into an immutable :class:`Policy`.

OpenBao parses policies with HashiCorp's HCL1 library, whose quirks are part of
what a policy *means*: repeated ``path`` blocks and repeated keys accumulate
instead of overwriting, JSON objects whose members are all objects are flattened
into multi-key items, strings are unescaped Go-style, numbers use Go's literal
syntax.  pyhcl's lexer tokenizes HCL (:mod:`hcl_lexer`); on top of it we build a
small AST shaped like HCL1's (:mod:`hcl_parser`, :mod:`json_parser`) and decode
it the way OpenBao's decoder would (:mod:`decode`, :mod:`path_stanza`,
:mod:`rules`).

Validation errors carry the messages OpenBao returns (``failed to parse
policy: ...``) so clients see the same 400s.
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from typing import Final

from chalicelib.core.errors import BadRequest
from chalicelib.policy.control_group import check_control_group
from chalicelib.policy.decode import check_keys, decode_strings
from chalicelib.policy.errors import PolicyTextError, go_quote
from chalicelib.policy.hcl_parser import parse_hcl
from chalicelib.policy.json_parser import parse_json
from chalicelib.policy.model import Capability, MapList, PathRule, Policy
from chalicelib.policy.path_stanza import PATH_KEYS, decode_rule
from chalicelib.policy.rules import build_rule, rule_expiration
from chalicelib.policy.scalars import go_parse_duration, parse_duration_seconds
from chalicelib.policy.syntax import Node, ObjectType, filter_items
from chalicelib.policy.templates import template_validity

__all__ = [
    "Capability",
    "MapList",
    "PathRule",
    "Policy",
    "decode_policy_text",
    "go_parse_duration",
    "normalize_policy_name",
    "parse_duration_seconds",
    "parse_policy",
]

_TOP_LEVEL_KEYS: Final = ("name", "path")


def normalize_policy_name(name: str) -> str:
    """Policy names are case-insensitive and trimmed, as the policy store does."""
    return name.strip().lower()


def decode_policy_text(raw: str) -> str:
    """Accept base64-encoded policy text the way ``sys/policies/acl`` does.

    OpenBao tries a strict standard-base64 decode of every submitted policy and
    silently uses the decoded bytes when it succeeds, so text such as ``"abcd"``
    is really stored as its decoded form.  Go's decoder skips CR/LF characters.
    """
    compact = raw.replace("\r", "").replace("\n", "")
    try:
        decoded = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        return raw
    return decoded.decode("utf-8", errors="replace")


def _parse_document(text: str) -> ObjectType:
    if text.strip().startswith("{"):
        return parse_json(text)
    return parse_hcl(text)


def _parse_path_item(key: str, value: Node, now: datetime) -> PathRule | None:
    """Validate one path block; None when it has already expired."""
    try:
        templated = template_validity(key)
    except PolicyTextError as exc:
        raise PolicyTextError(f"failed to validate policy templating: {exc}") from None
    check_keys(value, PATH_KEYS)
    assert isinstance(value, ObjectType)
    check_control_group(value)
    try:
        rule = decode_rule(value)
    except PolicyTextError as exc:
        raise PolicyTextError(f"path {go_quote(key)}: {exc}") from None
    expiration = rule_expiration(key, rule)
    if expiration is not None and now > expiration:
        return None  # expired stanzas vanish before any further validation
    return build_rule(key, templated, rule, expiration)


def _parse_paths(root: ObjectType, now: datetime) -> tuple[PathRule, ...]:
    rules: list[PathRule] = []
    for item in filter_items(root.items, "path"):
        key = item.keys[0].value if item.keys else "path"
        try:
            parsed = _parse_path_item(key, item.value, now)
        except PolicyTextError as exc:
            raise PolicyTextError(f"path {go_quote(key)}: {exc}") from None
        if parsed is not None:
            rules.append(parsed)
    return tuple(rules)


def parse_policy(
    name: str,
    text: str,
    *,
    allow_wildcards_in_identity_templates: bool = False,
    allow_slashes_in_identity_templates: bool = False,
    now: datetime | None = None,
) -> Policy:
    """Parse and validate ``text`` exactly as OpenBao's policy store would.

    Raises :class:`BadRequest` with OpenBao's message when the policy is invalid.
    Path stanzas whose ``expiration`` lies in the past are dropped, as OpenBao
    drops them.  The two ``allow_*`` flags are the policy-level options of
    ``sys/policies/acl`` that relax what identity templates may substitute.
    """
    moment = now or datetime.now(UTC)
    try:
        root = _parse_document(text)
        check_keys(root, _TOP_LEVEL_KEYS)
        decode_strings("root.name", root.items, "name")  # type-checked, then unused
        paths = _parse_paths(root, moment)
    except PolicyTextError as exc:
        raise BadRequest(f"failed to parse policy: {exc}") from None
    return Policy(
        name=normalize_policy_name(name),
        raw=text,
        paths=paths,
        templated=any(rule.templated for rule in paths),
        allow_wildcards_in_identity_templates=allow_wildcards_in_identity_templates,
        allow_slashes_in_identity_templates=allow_slashes_in_identity_templates,
    )
