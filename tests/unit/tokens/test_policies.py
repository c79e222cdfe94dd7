"""Which policies a new token gets (OpenBao's sanitising, subset and role rules)."""

from __future__ import annotations

import pytest

from chalicelib.core.errors import BadRequest
from chalicelib.tokens.policies import (
    PolicyRequest,
    glob_match,
    go_quoted,
    resolve_policies,
    sanitize,
)
from chalicelib.tokens.roles import Role


def _request(
    requested: list[str], parent: tuple[str, ...] = ("default", "web"), **kw: bool
) -> PolicyRequest:
    return PolicyRequest(
        requested=requested,
        no_default_policy=kw.get("no_default", False),
        parent_policies=parent,
        is_sudo=kw.get("sudo", False),
    )


def test_sanitize() -> None:
    assert sanitize([" Web", "web", "", "a"]) == ["a", "web"]
    assert sanitize(["a", "root", "b"]) == ["root"]
    assert sanitize(["b", "a"], add_default=True) == ["a", "b", "default"]


@pytest.mark.parametrize(
    ("pattern", "value", "matches"),
    [("w*", "web", True), ("w*", "aw", False), ("*", "", True), ("a*b*c", "aXbYc", True),
     ("dev-?", "dev-1", False), ("dev-?", "dev-?", True), ("", "", True)],
)
def test_glob(pattern: str, value: str, matches: bool) -> None:
    assert glob_match(pattern, value) is matches


def test_go_quoted() -> None:
    assert go_quoted(["bad", "default"]) == '["bad" "default"]'
    assert go_quoted([]) == "[]"


def test_without_role() -> None:
    assert resolve_policies(_request([]), None) == ["default", "web"]
    assert resolve_policies(_request(["web"]), None) == ["default", "web"]
    assert resolve_policies(_request(["web"], parent=("web",)), None) == ["web"]
    assert resolve_policies(_request(["web"], no_default=True), None) == ["web"]
    assert resolve_policies(_request(["other"], sudo=True), None) == ["default", "other"]
    with pytest.raises(BadRequest, match="child policies must be subset of parent"):
        resolve_policies(_request(["other"]), None)
    with pytest.raises(BadRequest, match='cannot assign policy "response-wrapping"'):
        resolve_policies(_request(["response-wrapping"], sudo=True), None)


def test_with_role() -> None:
    role = Role(name="r", allowed_policies=("a", "b"))
    assert resolve_policies(_request([]), role) == ["a", "b", "default"]
    assert resolve_policies(_request(["a"]), role) == ["a", "default"]
    with pytest.raises(BadRequest, match="must be subset of the role's allowed policies"):
        resolve_policies(_request(["c"]), role)
    denying = Role(name="r", disallowed_policies_glob=("def*",))
    assert resolve_policies(_request(["x"], sudo=True), denying) == ["x"]
    with pytest.raises(BadRequest, match='token policy "default" is disallowed'):
        role = Role(name="r", disallowed_policies=("x", "default"))
        resolve_policies(_request(["default"], sudo=True), role)
