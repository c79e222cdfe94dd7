"""Replay OpenBao's recorded ACL decisions through our engine; every one must agree.

The data comes from ``record_openbao.py`` (real requests against a real server),
so this needs no server.  A request is allowed by OpenBao when the ACL allows it
and, on sudo-protected endpoints, the matching rule also grants ``sudo``.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from chalicelib.core.errors import BadRequest
from chalicelib.core.operation import Operation
from chalicelib.policy import (
    ACL,
    DEFAULT_POLICY,
    ROOT_POLICY,
    IdentityAlias,
    IdentityContext,
    IdentityGroup,
    Policy,
    parse_policy,
)

DATA_FILE = Path(__file__).parent / "data" / "openbao_decisions.json"
MIN_CASES = 750


@cache
def recorded() -> dict[str, Any]:
    return json.loads(DATA_FILE.read_text())


@cache
def policies() -> dict[str, Policy]:
    texts = dict(recorded()["policies"])
    texts["default"] = DEFAULT_POLICY  # ours, not the recorded text: that is the point
    return {name: parse_policy(name, text) for name, text in texts.items()}


def identity_of(token: dict[str, Any]) -> IdentityContext | None:
    raw = token.get("identity")
    if raw is None:
        return None
    return IdentityContext(
        entity_id=raw["entity_id"],
        entity_name=raw["entity_name"],
        metadata=raw["metadata"],
        aliases=tuple(IdentityAlias(**alias) for alias in raw["aliases"]),
        groups=tuple(IdentityGroup(**group) for group in raw["groups"]),
    )


def acl_for(token: dict[str, Any]) -> ACL:
    if token["policies"] == ["root"]:
        return ACL.compile([ROOT_POLICY])
    members = [policies()[name] for name in token["policies"]]
    return ACL.compile(members, identity=identity_of(token))


def request_data(case: dict[str, Any]) -> dict[str, Any] | None:
    """Query parameters reach OpenBao as strings, repeated ones as []string."""
    data = case["data"]
    if data is None or case["data_source"] != "query":
        return data
    return {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}


def our_verdict(acl: ACL, case: dict[str, Any]) -> bool:
    verdict = acl.authorize(
        Operation(case["operation"]),
        case["path"],
        request_data(case),
        wrap_ttl=case["wrap_ttl"],
    )
    return verdict.allowed and (not case["sudo_required"] or verdict.root_privs)


def describe(case: dict[str, Any]) -> str:
    extras = f" data={case['data']}" if case["data"] is not None else ""
    if case["wrap_ttl"] is not None:
        extras += f" wrap_ttl={case['wrap_ttl']}"
    expected = "allow" if case["allowed"] else "deny"
    return f"{case['operation']} {case['path']}{extras}: OpenBao says {expected}"


def token_ids() -> list[str]:
    return [token["name"] for token in recorded()["tokens"]]


def token_named(name: str) -> dict[str, Any]:
    return next(token for token in recorded()["tokens"] if token["name"] == name)


def test_recording_is_large_enough() -> None:
    tokens = recorded()["tokens"]
    single = [t for t in tokens if len(t["policies"]) == 1 and t["policies"] != ["root"]]
    assert len(single) >= 15
    assert all(len(t["cases"]) >= 50 for t in tokens)
    assert sum(len(t["cases"]) for t in tokens) >= MIN_CASES
    # Both outcomes must be well represented, or the comparison proves little.
    verdicts = [case["allowed"] for token in tokens for case in token["cases"]]
    assert verdicts.count(True) > 500 and verdicts.count(False) > 500


@pytest.mark.parametrize("name", token_ids())
def test_request_decisions_match_openbao(name: str) -> None:
    token = token_named(name)
    acl = acl_for(token)
    mismatches = [describe(c) for c in token["cases"] if our_verdict(acl, c) != c["allowed"]]
    assert not mismatches, "\n".join(mismatches)


@pytest.mark.parametrize("name", token_ids())
def test_capabilities_match_openbao(name: str) -> None:
    token = token_named(name)
    acl = acl_for(token)
    ours = {path: acl.capabilities(path) for path in token["capabilities"]}
    assert ours == token["capabilities"]


@pytest.mark.parametrize("name", token_ids())
def test_mount_visibility_matches_openbao(name: str) -> None:
    token = token_named(name)
    acl = acl_for(token)
    ours = {mount: acl.has_mount_access(mount) for mount in token["mount_access"]}
    assert ours == token["mount_access"]


def _rules(text: str) -> list[str]:
    lines = (line.strip() for line in text.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def test_default_policy_rules_are_openbaos() -> None:
    assert _rules(DEFAULT_POLICY) == _rules(recorded()["openbao_default_policy"])


# Same message, different "At line:col": HCL1's scanner keeps going after an
# unterminated string and reports where its *last* scanning error happened.
POSITION_MAY_DIFFER = frozenset({"newline-in-string"})


def without_position(message: str) -> str:
    return re.sub(r"At (\d+:\d+|-): ", "At <pos>: ", message)


def parse_case_ids() -> list[str]:
    return [case["name"] for case in recorded()["parse_cases"]]


@pytest.mark.parametrize("name", parse_case_ids())
def test_policy_parsing_matches_openbao(name: str) -> None:
    case = next(c for c in recorded()["parse_cases"] if c["name"] == name)
    if not case["accepted"]:
        with pytest.raises(BadRequest) as error:
            parse_policy(name, case["policy"])
        if name in POSITION_MAY_DIFFER:
            assert without_position(error.value.message) == without_position(case["error"])
        else:
            assert error.value.message == case["error"]
        return
    acl = ACL.compile([parse_policy(name, case["policy"])])
    assert {p: acl.capabilities(p) for p in case["capabilities"]} == case["capabilities"]
