"""Record OpenBao's real ACL decisions so our engine can be checked against them.

Run (needs the `bao` binary; takes about a minute):

    .venv/bin/python tests/policy_diff/record_openbao.py

It starts a throw-away dev server on 127.0.0.1 only, writes the policies below,
and for every token (one policy, or several to exercise merging; never the
`default` policy) performs every request of the universe below for real.  A 403
"permission denied" is a deny, anything else an allow.  Before each request the
target key is reset so that "does it exist?" - and therefore OpenBao's choice
between the `create` and `update` operations - is always the one recorded.

Output: tests/policy_diff/data/openbao_decisions.json (stable ordering).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
BAO = os.environ.get("BAO_BINARY", str(ROOT / ".venv" / "bin" / "bao"))
PORTS = range(8480, 8499, 2)  # the dev server also binds port+1 (cluster)
ADDRESS = "http://127.0.0.1:0"  # set once a free port pair is found
OUTPUT = Path(__file__).resolve().parent / "data" / "openbao_decisions.json"
COMMAND = ".venv/bin/python tests/policy_diff/record_openbao.py"

# Endpoints OpenBao's system backend protects with `sudo` (its PathsSpecial.Root).
SUDO_PREFIXES = ("sys/audit/", "sys/auth/")
SUDO_EXACT = ("sys/audit",)

# ---------------------------------------------------------------------------
# Data on the server before any request
# ---------------------------------------------------------------------------

KV1_EXISTING = (
    "exist",
    "cfg",
    "cfgx",
    "team/a/config",
    "team/a/notes",
    "team/b/config",
    "app/prod/db",
    "app/dev/db",
    "app/prod/sub/x",
    "pub/readme",
    "users/alice/profile",
    "wrap/secret",
    "params/open",
)
KV2_EXISTING = ("app/one", "app/three")

# ---------------------------------------------------------------------------
# Policies
# ---------------------------------------------------------------------------

POLICIES: dict[str, str] = {
    "p01-exact": """
path "kv1/exist" { capabilities = ["read"] }
path "kv1/cfg" { capabilities = ["read", "update"] }
path "kv1/team/a/config" { capabilities = ["create"] }
path "secret/data/app/one" { capabilities = ["read"] }
path "sys/mounts" { capabilities = ["read"] }
""",
    "p02-glob": """
path "kv1/team/*" { capabilities = ["read", "list"] }
path "kv1/app/*" { capabilities = ["create", "read"] }
path "kv1/cfg*" { capabilities = ["read", "delete"] }
path "secret/data/*" { capabilities = ["read"] }
path "secret/metadata/*" { capabilities = ["list"] }
path "nomount/*" { capabilities = ["read"] }
path "sys/policies/acl/*" { capabilities = ["read", "list"] }
""",
    "p03-plus": """
path "kv1/team/+/config" { capabilities = ["read", "update"] }
path "kv1/app/+/db" { capabilities = ["read"] }
path "kv1/users/+/profile" { capabilities = ["create", "update", "read"] }
path "kv1/+" { capabilities = ["read"] }
path "secret/data/+/one" { capabilities = ["read", "update"] }
path "sys/+" { capabilities = ["read"] }
""",
    "p04-plus-glob": """
path "kv1/app/+/sub*" { capabilities = ["read"] }
path "kv1/+/prod/*" { capabilities = ["read", "list"] }
path "kv1/team/+/*" { capabilities = ["list", "read"] }
path "secret/+/app/*" { capabilities = ["read", "list"] }
path "kv1/+/+" { capabilities = ["delete"] }
""",
    "p05-priority": """
path "kv1/*" { capabilities = ["read"] }
path "kv1/team/*" { capabilities = ["deny"] }
path "kv1/team/a/*" { capabilities = ["read", "list"] }
path "kv1/team/+/config" { capabilities = ["update"] }
path "kv1/app/prod/*" { capabilities = ["list"] }
path "kv1/app/+/db" { capabilities = ["delete"] }
path "kv1/app/+/d*" { capabilities = ["update"] }
path "kv1/+/prod/db" { capabilities = ["create"] }
path "kv1/cfg" { capabilities = ["update"] }
path "kv1/cf*" { capabilities = ["delete"] }
""",
    "p06-deny": """
path "kv1/*" { capabilities = ["create", "read", "update", "delete", "list"] }
path "kv1/app/prod/*" { capabilities = ["deny"] }
path "kv1/cfg" { capabilities = ["deny", "read"] }
path "secret/*" { capabilities = ["read", "list", "create", "update"] }
path "secret/data/app/one" { capabilities = ["deny"] }
path "sys/*" { capabilities = ["read", "sudo"] }
path "sys/mounts" { capabilities = ["deny"] }
""",
    "p07-sudo": """
path "sys/audit" { capabilities = ["read", "sudo"] }
path "sys/audit/*" { capabilities = ["update", "create"] }
path "sys/auth/*" { capabilities = ["create", "update", "sudo"] }
path "sys/auth" { capabilities = ["read"] }
path "sys/mounts" { capabilities = ["read", "sudo"] }
path "sys/mounts/*" { capabilities = ["read", "update", "delete"] }
path "sys/policies/acl/*" { capabilities = ["create", "update", "read", "delete", "list", "sudo"] }
""",
    "p08-create-update": """
path "kv1/*" { capabilities = ["create"] }
path "kv1/team/*" { capabilities = ["update"] }
path "kv1/users/*" { capabilities = ["create", "update"] }
path "secret/data/*" { capabilities = ["create", "read"] }
path "secret/metadata/*" { capabilities = ["update", "list"] }
path "secret/delete/*" { capabilities = ["create"] }
path "secret/undelete/*" { capabilities = ["update"] }
path "sys/policies/acl/*" { capabilities = ["create"] }
path "sys/mounts/*" { capabilities = ["update"] }
""",
    "p09-patch": """
path "secret/data/app/*" { capabilities = ["patch", "read"] }
path "secret/data/*" { capabilities = ["update"] }
path "secret/metadata/*" { capabilities = ["patch"] }
path "kv1/*" { capabilities = ["patch"] }
path "kv1/exist" { capabilities = ["patch", "update"] }
""",
    "p10-list": """
path "kv1/" { capabilities = ["list"] }
path "kv1/team" { capabilities = ["list"] }
path "kv1/app/*" { capabilities = ["list"] }
path "kv1/users/+" { capabilities = ["list"] }
path "secret/metadata/" { capabilities = ["list"] }
path "secret/metadata/app" { capabilities = ["list", "read"] }
path "sys/policies/acl" { capabilities = ["list"] }
path "kv1/pub/*" { capabilities = ["read"] }
""",
    "p11-allowed-params": """
path "kv1/params/*" {
  capabilities = ["create", "update", "read"]
  allowed_parameters = {
    "value" = ["v1", "prod-*", "*-suffix", "*mid*"]
    "owner" = []
    "count" = [5, "5"]
    "flag" = [true]
    "tags" = [["a", "b"]]
  }
}
path "kv1/exist" {
  capabilities = ["update", "read"]
  allowed_parameters = {
    "*" = []
    "value" = ["x"]
  }
}
path "kv1/cfg" {
  capabilities = ["update", "read"]
  allowed_parameters = {
    "*" = ["nothing-matches-this"]
  }
}
path "kv1/team/*" {
  capabilities = ["update", "create", "read"]
  allowed_parameters = {
    "Value" = ["*"]
  }
}
path "secret/data/*" {
  capabilities = ["create", "update", "read"]
  allowed_parameters = {
    "data" = []
    "version" = ["1"]
  }
}
""",
    "p12-denied-params": """
path "kv1/params/*" {
  capabilities = ["create", "update", "read"]
  denied_parameters = {
    "value" = ["forbidden", "bad-*"]
    "owner" = []
  }
}
path "kv1/exist" {
  capabilities = ["update", "read"]
  denied_parameters = {
    "*" = []
  }
}
path "kv1/cfg" {
  capabilities = ["update"]
  denied_parameters = {
    "Value" = []
  }
  allowed_parameters = {
    "owner" = []
  }
}
path "kv1/team/*" {
  capabilities = ["update", "create", "read"]
  denied_parameters = {
    "value" = ["*"]
    "count" = [5]
  }
}
""",
    "p13-required-params": """
path "kv1/params/*" {
  capabilities = ["create", "update", "read"]
  required_parameters = ["value", "Owner"]
}
path "kv1/exist" {
  capabilities = ["update", "read", "delete", "list"]
  required_parameters = ["value"]
}
path "kv1/team/*" {
  capabilities = ["update", "create", "read"]
  required_parameters = ["value"]
  allowed_parameters = { "value" = ["ok"] }
}
""",
    "p14-wrapping": """
path "kv1/wrap/*" {
  capabilities = ["read", "update", "create"]
  min_wrapping_ttl = "60s"
  max_wrapping_ttl = "1h"
}
path "kv1/exist" {
  capabilities = ["read", "update"]
  max_wrapping_ttl = "5m"
}
path "kv1/cfg" {
  capabilities = ["read", "update"]
  min_wrapping_ttl = 3600
}
path "kv1/team/*" {
  capabilities = ["read", "list"]
  min_wrapping_ttl = "30s"
}
""",
    "p15-legacy": """
path "kv1/team/*" { policy = "read" }
path "kv1/app/*" { policy = "write" }
path "kv1/app/prod/*" { policy = "deny" }
path "sys/audit" { policy = "sudo" }
path "kv1/exist" {
  policy = "write"
  capabilities = ["patch"]
}
path "kv1/cfg" {
  policy = "deny"
  capabilities = ["read"]
}
path "secret/*" { policy = "read" }
""",
    "p16-merge-a": """
path "kv1/params/*" {
  capabilities = ["create", "update"]
  allowed_parameters = { "value" = ["a"] }
}
path "kv1/team/*" { capabilities = ["read"] }
path "kv1/app/*" { capabilities = ["deny"] }
path "kv1/wrap/*" {
  capabilities = ["read"]
  max_wrapping_ttl = "10m"
}
path "kv1/exist" {
  capabilities = ["read", "update"]
  required_parameters = ["x"]
}
path "kv1/cfg" {
  capabilities = ["update"]
  denied_parameters = { "value" = [] }
}
path "kv1/users/+/profile" { capabilities = ["read"] }
path "sys/audit" { capabilities = ["read"] }
""",
    "p16-merge-b": """
path "kv1/params/*" {
  capabilities = ["update"]
  allowed_parameters = { "value" = ["b"], "owner" = [] }
}
path "kv1/team/*" { capabilities = ["list"] }
path "kv1/app/*" { capabilities = ["read", "list"] }
path "kv1/wrap/*" {
  capabilities = ["read"]
  min_wrapping_ttl = "2m"
  max_wrapping_ttl = "1h"
}
path "kv1/exist" {
  capabilities = ["read", "update"]
  denied_parameters = { "y" = [] }
}
path "kv1/cfg" {
  capabilities = ["update"]
  allowed_parameters = { "value" = [] }
}
path "kv1/users/+/profile" { capabilities = ["update", "sudo"] }
path "sys/audit" { capabilities = ["sudo"] }
""",
    "p16-merge-c": """
path "kv1/params/*" {
  capabilities = ["read"]
  allowed_parameters = { "value" = [] }
}
path "kv1/wrap/*" {
  capabilities = ["read"]
  min_wrapping_ttl = "90s"
}
path "kv1/exist" {
  capabilities = ["deny"]
}
path "kv1/team/a/*" { capabilities = ["update"] }
""",
    "p17-json": json.dumps(
        {
            "path": {
                "kv1/team/*": {"capabilities": ["read", "list"]},
                "kv1/app/+/db": {"capabilities": ["read", "update", "create"]},
                "kv1/params/*": {
                    "capabilities": ["create", "update"],
                    "allowed_parameters": {"value": ["json-*"], "owner": []},
                },
                "kv1/exist": {"policy": "write"},
            }
        },
        indent=2,
    ),
    "p18-pagination": """
path "kv1/team/*" {
  capabilities = ["list", "read"]
  pagination_limit = 2
}
path "kv1/app/*" {
  capabilities = ["list"]
  pagination_limit = 5
  required_parameters = ["limit"]
}
path "kv1/" { capabilities = ["list"] }
""",
    "p19-edges": """
path "kv1/exist*" { capabilities = ["update"] }
path "kv1/exist" { capabilities = ["read"] }
path "kv1/team/+/conf*" { capabilities = ["delete"] }
path "kv1/team/a/*" { capabilities = ["read"] }
path "kv1/+/a/*" { capabilities = ["list"] }
path "kv1/{{identity.entity.id}}/*" { capabilities = ["read", "list"] }
path "kv1/users/*" { capabilities = [] }
path "kv1/users/+/*" { capabilities = ["read"] }
path "/kv1/pub/*" { capabilities = ["read", "list"] }
path "kv1/app/prod/sub/x" {
  capabilities = ["read", "update"]
}
path "kv1/app/prod/sub/x" {
  capabilities = ["delete"]
}
path "secret/data/app/*" {
  capabilities = ["read"]
  capabilities = ["update"]
}
""",
    "p20-mixed": """
path "kv1/*" { capabilities = ["read", "list"] }
path "kv1/params/*" {
  capabilities = ["create", "update", "read"]
  allowed_parameters = { "value" = ["one", "two"] }
  denied_parameters = { "value" = ["two"] }
  min_wrapping_ttl = "1m"
  max_wrapping_ttl = "10m"
}
path "kv1/+/a/*" { capabilities = ["update"] }
path "sys/policies/acl" { capabilities = ["list"] }
path "sys/policies/acl/*" {
  capabilities = ["read", "update", "create"]
  allowed_parameters = { "policy" = [] }
}
path "sys/mounts/probe-*" { capabilities = ["update", "create", "delete"] }
""",
}

# Tokens: each holds exactly these policies (and never `default`).
TOKENS: dict[str, tuple[str, ...]] = {name: (name,) for name in POLICIES}
TOKENS.update(
    {
        "merge-ab": ("p16-merge-a", "p16-merge-b"),
        "merge-ba": ("p16-merge-b", "p16-merge-a"),
        "merge-abc": ("p16-merge-a", "p16-merge-b", "p16-merge-c"),
        "merge-glob-deny": ("p02-glob", "p06-deny"),
        "merge-legacy-priority": ("p15-legacy", "p05-priority"),
    }
)

# ---------------------------------------------------------------------------
# Requests
# ---------------------------------------------------------------------------


@dataclass
class Req:
    method: str
    path: str
    data: dict[str, Any] | None = None
    query: dict[str, Any] = field(default_factory=dict)
    wrap_ttl: str | None = None


def _kv1_requests() -> Iterator[Req]:
    for key in (
        "exist",
        "cfg",
        "cfgx",
        "team/a/config",
        "team/b/config",
        "team/a/notes",
        "app/prod/db",
        "app/dev/db",
        "app/prod/sub/x",
        "pub/readme",
        "users/alice/profile",
        "fresh",
        "team/c/config",
        "app/prod/newdb",
    ):
        yield Req("GET", f"kv1/{key}")
    for key in (
        "exist",
        "cfg",
        "cfgnew",
        "team/a/config",
        "team/c/config",
        "app/prod/db",
        "app/prod/newdb",
        "app/dev/db",
        "users/alice/profile",
        "users/bob/profile",
        "fresh",
        "pub/new",
        "app/prod/sub/x",
    ):
        yield Req("POST", f"kv1/{key}", {"value": "v"})
    for key in (
        "exist",
        "cfg",
        "cfgx",
        "team/b/config",
        "app/prod/db",
        "app/dev/db",
        "app/prod/sub/x",
        "fresh",
    ):
        yield Req("DELETE", f"kv1/{key}")
    yield Req("GET", "kv1/team/")
    yield Req("PATCH", "kv1/exist", {"value": "p"})


def _list_requests() -> Iterator[Req]:
    for path in (
        "kv1/",
        "kv1/team/",
        "kv1/team",
        "kv1/team/a/",
        "kv1/app/",
        "kv1/app/prod/",
        "kv1/users/",
        "kv1/users/alice/",
        "kv1/pub",
        "kv1/exist/",
    ):
        yield Req("LIST", path)
    yield Req("GET", "kv1/team", query={"list": "true"})
    yield Req("GET", "kv1/app/prod", query={"list": "true"})
    for limit in ("1", "2", "3", "0", "max", "-1", "abc"):
        yield Req("LIST", "kv1/team/", query={"limit": limit})
        yield Req("LIST", "kv1/app/", query={"limit": limit})


def _param_requests() -> Iterator[Req]:
    bodies: list[dict[str, Any]] = [
        {"value": "v1"},
        {"value": "prod-7"},
        {"value": "x-suffix"},
        {"value": "amidb"},
        {"value": "other"},
        {"value": "v1", "owner": "alice"},
        {"owner": "bob"},
        {"value": "v1", "extra": "1"},
        {"count": 5},
        {"count": "5"},
        {"flag": True},
        {"flag": "true"},
        {"tags": ["a", "b"]},
        {"tags": ["a"]},
        {"Value": "v1"},
        {"VALUE": "x"},
        {"value": "forbidden"},
        {"value": "bad-1"},
        {"value": "ok"},
        {"value": "a"},
        {"value": "b"},
        {"value": "b", "owner": "o"},
        {"x": "1", "value": "x"},
        {"y": "1", "x": "1"},
        {"value": "json-1"},
        {"value": "one"},
        {"value": "two"},
        {"value": "*"},
        {"value": None},
        {},
    ]
    for body in bodies:
        yield Req("POST", "kv1/params/open", body)
        yield Req("POST", "kv1/params/new", body)
    for body in ({"value": "x"}, {"value": "y"}, {"x": "1"}, {"x": "1", "y": "2"}, {}):
        yield Req("POST", "kv1/exist", body)
        yield Req("POST", "kv1/cfg", body)
        yield Req("POST", "kv1/team/a/config", body)
    for body in ({"owner": "o"}, {"value": "ok", "count": 5}, {"Value": "ok"}):
        yield Req("POST", "kv1/cfg", body)
        yield Req("POST", "kv1/team/a/config", body)
    for query in ({"value": "v1"}, {"value": "other"}, {"value": ["v1", "v1"]}, {"x": "1"}):
        yield Req("GET", "kv1/params/open", query=query)
        yield Req("GET", "kv1/exist", query=query)


def _wrap_requests() -> Iterator[Req]:
    for ttl in (None, "0", "30", "59", "60", "90s", "5m", "301", "1h", "3601", "2h"):
        yield Req("GET", "kv1/wrap/secret", wrap_ttl=ttl)
        yield Req("GET", "kv1/exist", wrap_ttl=ttl)
    for ttl in (None, "30s", "1h"):
        yield Req("GET", "kv1/cfg", wrap_ttl=ttl)
        yield Req("GET", "kv1/team/a/config", wrap_ttl=ttl)
        yield Req("POST", "kv1/wrap/secret", {"value": "w"}, wrap_ttl=ttl)
        yield Req("POST", "kv1/params/open", {"value": "one"}, wrap_ttl=ttl)
        yield Req("LIST", "kv1/team/", wrap_ttl=ttl)


def _kv2_requests() -> Iterator[Req]:
    yield Req("GET", "secret/data/app/one")
    yield Req("GET", "secret/data/app/one", query={"version": "1"})
    yield Req("GET", "secret/data/app/one", query={"version": "2"})
    yield Req("GET", "secret/data/app/two")
    yield Req("GET", "secret/data/other/one")
    yield Req("POST", "secret/data/app/one", {"data": {"k": "v"}})
    yield Req("POST", "secret/data/app/two", {"data": {"k": "v"}})
    yield Req("POST", "secret/data/app/one", {"data": {"k": "v"}, "options": {"cas": 0}})
    yield Req("PATCH", "secret/data/app/one", {"data": {"k": "p"}})
    yield Req("PATCH", "secret/data/app/two", {"data": {"k": "p"}})
    yield Req("DELETE", "secret/data/app/one")
    yield Req("LIST", "secret/metadata/")
    yield Req("LIST", "secret/metadata/app")
    yield Req("LIST", "secret/metadata/app/")
    yield Req("GET", "secret/metadata/app/one")
    yield Req("POST", "secret/metadata/app/one", {"max_versions": 3})
    yield Req("POST", "secret/metadata/app/two", {"max_versions": 3})
    yield Req("PATCH", "secret/metadata/app/one", {"max_versions": 4})
    yield Req("DELETE", "secret/metadata/app/three")
    yield Req("POST", "secret/delete/app/one", {"versions": [1]})
    yield Req("POST", "secret/undelete/app/one", {"versions": [1]})
    yield Req("POST", "secret/destroy/app/one", {"versions": [1]})
    yield Req("GET", "secret/config")
    yield Req("GET", "nomount/x")


def _sys_requests() -> Iterator[Req]:
    yield Req("GET", "sys/mounts")
    yield Req("GET", "sys/mounts/kv1")
    yield Req("POST", "sys/mounts/probe-mnt", {"type": "no-such-plugin"})
    yield Req("POST", "sys/mounts/other-mnt", {"type": "no-such-plugin"})
    yield Req("DELETE", "sys/mounts/probe-mnt")
    yield Req("GET", "sys/policies/acl/probe")
    yield Req("PUT", "sys/policies/acl/probe", {"policy": "path {"})
    yield Req("PUT", "sys/policies/acl/probe", {"policy": "path {", "cas": 0})
    yield Req("DELETE", "sys/policies/acl/probe")
    yield Req("LIST", "sys/policies/acl")
    yield Req("GET", "sys/policy")
    yield Req("GET", "sys/audit")
    yield Req("PUT", "sys/audit/probe", {"type": "no-such-device"})
    yield Req("GET", "sys/auth")
    yield Req("POST", "sys/auth/probe", {"type": "no-such-method"})


def requests_universe() -> list[Req]:
    groups = (
        _kv1_requests,
        _list_requests,
        _param_requests,
        _wrap_requests,
        _kv2_requests,
        _sys_requests,
    )
    return [req for group in groups for req in group()]


# ---------------------------------------------------------------------------
# Capabilities probes and parser probes
# ---------------------------------------------------------------------------

CAPABILITY_PATHS = (
    "kv1/exist",
    "kv1/exist/",
    "/kv1/exist",
    "kv1/existing",
    "kv1/cfg",
    "kv1/cfgx",
    "kv1/cf",
    "kv1/",
    "kv1",
    "kv1/team",
    "kv1/team/",
    "kv1/team/a",
    "kv1/team/a/",
    "kv1/team/a/config",
    "kv1/team/b/config",
    "kv1/team/b/configs",
    "kv1/team/b/c/config",
    "kv1/app/prod/db",
    "kv1/app/dev/db",
    "kv1/app/prod/sub/x",
    "kv1/app/prod/subz",
    "kv1/app/x/prod/y",
    "kv1/users/alice/profile",
    "kv1/users/alice",
    "kv1/users/",
    "kv1/users/alice/",
    "kv1/params/open",
    "kv1/wrap/secret",
    "kv1/pub/readme",
    "kv1/a/a/a",
    "secret/data/app/one",
    "secret/metadata/app",
    "secret/metadata/app/",
    "secret/delete/app/one",
    "secret/x/app/y",
    "sys/audit",
    "sys/audit/file",
    "sys/mounts",
    "sys/mounts/kv1",
    "sys/policies/acl",
    "sys/policies/acl/",
    "sys/policies/acl/probe",
    "sys/auth",
    "sys/x",
    "nomount/x",
    "kv1/{{identity.entity.id}}/x",
    "",
)

# Policies whose parsing we compare (accepted/rejected and the message).
PARSE_CASES: dict[str, str] = {
    "bad-top-block": 'foo "x" {\n}\n',
    "bad-top-assign": "\n\nfoo = 1\n",
    "bad-capability": 'path "a" { capabilities = ["read","bogus"] }',
    "deny-then-bogus": 'path "a" { capabilities = ["deny","bogus"] }',
    "bad-inner-keys": 'path "a" {\n  capabilities = ["read"]\n  bogus = 1\n  other = 2\n}',
    "plus-star": 'path "a/+*" { capabilities = ["read"] }',
    "plus-star-slash": 'path "/a/+*" { capabilities = ["read"] }',
    "bad-legacy": 'path "a" { policy = "foo" }',
    "caps-string": 'path "a" {\n capabilities = "read" }',
    "ident-value": 'path "a" { policy = read }',
    "min-above-max": 'path "a" { capabilities=["read"]\n min_wrapping_ttl = "2h"\n'
    ' max_wrapping_ttl = "1h" }',
    "bad-ttl": 'path "a" { capabilities=["read"]\n min_wrapping_ttl = "abc" }',
    "bad-ttl-days": 'path "a" { capabilities=["read"]\n max_wrapping_ttl = "1.5d" }',
    "bad-ttl-unit": 'path "a" { capabilities=["read"]\n max_wrapping_ttl = "5x" }',
    "bad-ttl-nounit": 'path "a" { capabilities=["read"]\n max_wrapping_ttl = "1h5" }',
    "bad-ttl-bool": 'path "a" { capabilities=["read"]\n max_wrapping_ttl = true }',
    "ttl-days-ok": 'path "a" { capabilities=["read"]\n max_wrapping_ttl = "2d" }',
    "unclosed-list": 'path "a" { capabilities = ["read" }',
    "json-flattened": '{"path": {"a": {"allowed_parameters": {"foo": []}}}}',
    "json-bad-key": '{"path": {"a": {"capabilities": ["read"], "bogus": 1}}}',
    "allowed-scalar": 'path "a" { capabilities=["read"]\n allowed_parameters = { "foo" = "bar" } }',
    "empty": " ",
    "path-literal": "path = 5",
    "filter-without-list": 'path "a" { capabilities=["read"]\n'
    ' list_scan_response_keys_filter_path = "x" }',
    "dup-blocks": 'path "a" { capabilities = ["read"] }\npath "a" { capabilities = ["list"] }',
    "dup-keys": 'path "a" {\n capabilities = ["read"]\n capabilities = ["list"] }',
    "multi-label": 'path "a" "b" { capabilities = ["read"] }',
    "json-list": '{"path": [{"a": {"capabilities": ["read"]}},'
    ' {"b": {"capabilities": ["list", true, "update"]}}]}',
    "json-dup": '{"path": {"a": {"capabilities": ["read"]}, "a": {"capabilities": ["list"]}}}',
    "path-assign": 'path = { capabilities = ["read"] }',
    "number-capability": 'path "a" { capabilities = [5] }',
    "escape": 'path "a\\u002fx" { capabilities = ["read"] }',
    "heredoc-key": 'path <<EOT\na\nEOT\n { capabilities = ["read"] }',
    "comma-separated": 'path "a" { capabilities = ["read"], policy = "write" }',
    "legacy-plus-caps": 'path "a" { policy = "read"\n capabilities = ["update"] }',
    "legacy-deny-caps": 'path "a" { policy = "deny"\n capabilities = ["update"] }',
    "unbalanced-template": 'path "a/{{identity.entity.id" { capabilities = ["read"] }',
    "unbalanced-template-2": 'path "a/}}x" { capabilities = ["read"] }',
    "template-ok": 'path "a/{{identity.entity.id}}" { capabilities = ["read"] }\n'
    'path "b" { capabilities = ["read"] }',
    "bad-expiration": 'path "a" { capabilities = ["read"]\n expiration = "tomorrow" }',
    "past-expiration-bad-caps": 'path "a" { capabilities = ["bogus"]\n'
    ' expiration = "2001-01-01T00:00:00Z" }\n'
    'path "b" { capabilities = ["read"] }',
    "future-expiration": 'path "a" { capabilities = ["read"]\n'
    ' expiration = "2999-01-01T00:00:00Z" }',
    "pagination-string": 'path "a" { capabilities = ["list"]\n pagination_limit = "7" }',
    "pagination-bad": 'path "a" { capabilities = ["list"]\n pagination_limit = "seven" }',
    "pagination-float": 'path "a" { capabilities = ["list"]\n pagination_limit = 1.5 }',
    "required-string": 'path "a" { capabilities = ["read"]\n required_parameters = "x" }',
    "policy-list": 'path "a" { policy = ["read"] }',
    "name-key": 'name = "foo"\npath "a" { capabilities = ["read"] }',
    "name-bool": 'name = true\npath "a" { capabilities = ["read"] }',
    "number-list-tail": 'path "a" { capabilities = ["read"]\n'
    ' allowed_parameters = { "n" = ["a", 1] } }',
    "bool-list": 'path "a" { capabilities = ["read"]\n allowed_parameters = { "b" = [true] } }',
    "nested-list": 'path "a" { capabilities = ["read"]\n'
    ' allowed_parameters = { "l" = [["x"], "y"] } }',
    "missing-brace": 'path "a" { capabilities = ["read"]',
    "stray-equals": 'path "a" = { capabilities = ["read"] }',
    "control-group": 'path "a" {\n capabilities = ["read"]\n control_group = {\n'
    '  ttl = "4h"\n  factor "ops" {\n   identity {\n'
    '    group_names = ["ops"]\n    approvals = 1\n   }\n  }\n }\n}',
    "control-group-bad-ttl": 'path "a" {\n capabilities = ["read"]\n control_group = {\n'
    '  ttl = "soon"\n }\n}',
    "mfa-methods": 'path "a" { capabilities = ["read"]\n mfa_methods = ["m1"] }',
    "comment-key": 'path "a" { capabilities = ["read"]\n comment = "hello" }',
    "upper-key": 'path "a" { Capabilities = ["read"] }',
    "json-trailing": '{"path": {"a": {"capabilities": ["read"]}}} trailing',
    "json-null-policy": '{"path": {"a": {"policy": null, "capabilities": ["read"]}}}',
    "deny-bad-ttl": 'path "a" { capabilities = ["deny"]\n min_wrapping_ttl = "abc" }',
    "cg-valid": 'path "a" {\n capabilities = ["read"]\n control_group = {\n  ttl = "4h"\n'
    '  factor "ops" {\n   controlled_capabilities = ["read", "renew"]\n'
    '   identity {\n    group_names = ["ops"]\n    approvals = "2"\n   }\n  }\n }\n}',
    "cg-no-factor": 'path "a" {\n capabilities = ["read"]\n control_group {\n  ttl = "1h"\n }\n}',
    "cg-bad-operation": 'path "a" {\n capabilities = ["read"]\n control_group = {\n'
    '  factor "f" {\n   controlled_capabilities = ["sudo"]\n  }\n }\n}',
    "cg-bad-keys": 'path "a" {\n capabilities = ["read"]\n control_group = {\n  bogus = 1\n'
    '  factor "f" {\n   x = 1\n  }\n }\n}',
    "cg-factor-keys": 'path "a" {\n capabilities = ["read"]\n control_group = {\n'
    '  factor "f" {\n   x = 1\n   y = 2\n  }\n  factor {\n  }\n }\n}',
    "cg-missing-groups": 'path "a" {\n capabilities = ["read"]\n control_group = {\n'
    '  factor "f" {\n   controlled_capabilities = ["read"]\n'
    "   identity {\n    approvals = 1\n   }\n  }\n }\n}",
    "cg-scalar": 'path "a" {\n capabilities = ["read"]\n control_group = 5\n}',
    "cg-self-auth-string": 'path "a" {\n capabilities = ["read"]\n control_group = {\n'
    '  self_auth_allowed = "yes"\n }\n}',
    "template-all": 'path "a/{{identity.entity.id}}/{{identity.groups.names.g.id}}/*" '
    '{ capabilities = ["read"] }',
    "octal-pagination": 'path "a" { capabilities = ["list"]\n pagination_limit = 010 }',
    "hex-ttl": 'path "a" { capabilities = ["read"]\n max_wrapping_ttl = 0x10 }',
    "float-ttl": 'path "a" { capabilities = ["read"]\n max_wrapping_ttl = 90.9 }',
    "exp-float": 'path "a" { capabilities = ["read"]\n allowed_parameters = { "x" = [1e3] } }',
    "bad-escape": 'path "a\\q" { capabilities = ["read"] }',
    "newline-in-string": 'path "a\nb" { capabilities = ["read"] }',
    "interpolation": 'path "a/${foo}" { capabilities = ["read"] }',
    "json-not-object": '{"path": [{"a": {"capabilities": ["read"]}}, 5]}',
    "json-path-list": '{"path": []}',
    "json-caps-string": '{"path": {"a": {"capabilities": "read"}}}',
    "json-number-keyed": '{"path": {"a": {"capabilities": ["read"], "pagination_limit": 3}}}',
    "bom-free-whitespace": '\n\n  path "a" {capabilities=["read"]}\n\n',
    "block-comment": '/* c */ path "a" { capabilities = ["read"] } # trailing',
    "slash-comment": '// c\npath "a" { capabilities = ["read"] }',
    "deny-upper": 'path "a" { capabilities = ["DENY"] }',
    "star-only": 'path "*" { capabilities = ["read"] }',
    "plus-only": 'path "+" { capabilities = ["read"] }',
    "plus-in-name": 'path "a+b/c" { capabilities = ["read"] }',
    "slash-plus-word": 'path "a/+b" { capabilities = ["read"] }',
    "map-scalar": 'path "a" { capabilities=["read"]\n allowed_parameters = "x" }',
    "map-list-json": '{"path": {"a": {"capabilities": ["read"], "allowed_parameters": ["x"]}}}',
    "name-object": "name = { a = 1 }",
    "name-empty-object": "name = {}",
    "policy-empty-object": 'path "a" { policy = {} }',
    "caps-object": 'path "a" { capabilities = { a = "read" } }',
    "caps-empty-object": 'path "a" { capabilities = {} }',
    "caps-bool-element": 'path "a" { capabilities = ["read", true] }',
    "caps-float": 'path "a" { capabilities = [1.5] }',
    "caps-hex": 'path "a" { capabilities = [0x10] }',
    "ttl-list": 'path "a" { capabilities = ["read"]\n min_wrapping_ttl = ["1h"] }',
    "ttl-negative": 'path "a" { capabilities = ["read"]\n min_wrapping_ttl = -5 }',
    "bool-prefixed-key": 'path "a" { capabilities = ["read"]\n trueish = 1 }',
    "bool-prefixed-value": 'path "a" { capabilities = ["read"]\n comment = trueish }',
    "dup-allowed-maps": 'path "a" { capabilities = ["read"]\n'
    ' allowed_parameters = { "x" = ["1"] }\n'
    ' allowed_parameters = { "x" = ["2"], "y" = [] } }',
    "top-level-commas": 'path "a" { capabilities = ["read"] },'
    ' path "b" { capabilities = ["list"] }',
    "crlf-lines": 'path "a" {\r\n capabilities = ["read"]\r\n bogus = 1\r\n}',
    "unicode-path": 'path "\u00e4/\u00f6" { capabilities = ["read"] }',
    "escaped-backslash-end": 'path "a\\\\" { capabilities = ["read"] }\n'
    'path "b" { capabilities = ["list"] }',
    "escaped-quote": 'path "a\\"b" { capabilities = ["read"] }',
    "unterminated-string": 'path "a { capabilities = ["read"] }',
    "unterminated-interpolation": 'path "a/${x" { capabilities = ["read"] }',
    "backslash-at-eof": 'path "a\\',
    "interpolation-newline": 'path "a/${x\n}" { capabilities = ["read"] }',
    "identity-scalar": 'path "a" {\n capabilities = ["read"]\n control_group = {\n factor "f" {\n'
    ' controlled_capabilities = ["read"]\n identity = 5\n }\n }\n}',
}
PARSE_CAPABILITY_PATHS = ("a", "b", "a/x", "path", "a/b", "a/", "x", "a\\", 'a"b', "a/${x\n}")


# Mount prefixes whose visibility (sys/internal/ui/mounts/...) is recorded.
MOUNT_ACCESS_PATHS = ("kv1/", "secret/", "sys/", "cubbyhole/", "auth/token/", "auth/userpass/")

# Extra capability probes for tokens that carry an identity entity.
IDENTITY_CAPABILITY_PATHS = (
    "cubbyhole/x",
    "auth/token/lookup-self",
    "identity/entity/name/alice",
    "identity/entity/name/bob",
    "sys/tools/hash/sha2-256",
    "identity/oidc/provider/p/authorize",
    "sys/wrapping/wrap",
    "sys/leases/lookup",
    "kv1/users/alice/x",
    "kv1/team/a/x",
    "kv1/app/prod/x",
    "kv1/alice/x",
    "kv1/x/ops",
    "kv1/missing/x",
    "kv1/y/ops/z",
)


def templated_policy(identity: dict[str, str]) -> str:
    """Identity templates; the accessor and group id only exist at record time."""
    return f"""
path "kv1/users/{{{{identity.entity.name}}}}/*" {{ capabilities = ["read", "list"] }}
path "kv1/team/{{{{identity.entity.metadata.team}}}}/*" {{ capabilities = ["read"] }}
path "kv1/app/{{{{identity.groups.names.ops.metadata.env}}}}/*" {{ capabilities = ["read"] }}
path "kv1/{{{{identity.entity.aliases.{identity["accessor"]}.name}}}}/*" {{
  capabilities = ["read"]
}}
path "kv1/x/{{{{identity.groups.ids.{identity["group_id"]}.name}}}}" {{ capabilities = ["read"] }}
path "kv1/{{{{identity.entity.id}}}}" {{ capabilities = ["read", "update"] }}
path "kv1/missing/{{{{identity.entity.metadata.nope}}}}/*" {{ capabilities = ["read"] }}
path "kv1/y/{{{{ identity.groups.names.ops.name }}}}/*" {{ capabilities = ["list"] }}
path "kv1/exist" {{ capabilities = ["read"] }}
"""


def setup_identity() -> dict[str, str]:
    """An entity (with alias, metadata and a group) to render templates against."""
    root("POST", "sys/auth/userpass", {"type": "userpass"})
    accessor = root("GET", "sys/auth")["data"]["userpass/"]["accessor"]
    entity = root("POST", "identity/entity", {"name": "alice", "metadata": {"team": "a"}})
    alias = root(
        "POST",
        "identity/entity-alias",
        {"name": "alice", "canonical_id": entity["data"]["id"], "mount_accessor": accessor},
    )
    group = root(
        "POST",
        "identity/group",
        {"name": "ops", "member_entity_ids": [entity["data"]["id"]], "metadata": {"env": "prod"}},
    )
    return {
        "entity_id": entity["data"]["id"],
        "entity_name": "alice",
        "accessor": accessor,
        "alias_id": alias["data"]["id"],
        "alias_name": "alice",
        "group_id": group["data"]["id"],
        "group_name": "ops",
    }


def identity_token(policies: tuple[str, ...]) -> str:
    """Log in as alice (bound to the entity) holding exactly ``policies``."""
    no_default = "default" not in policies
    root(
        "POST",
        "auth/userpass/users/alice",
        {
            "password": "pw",
            "token_policies": [p for p in policies if p != "default"],
            "token_no_default_policy": no_default,
        },
    )
    status, payload = call("POST", "auth/userpass/login/alice", "", {"password": "pw"})
    if status != 200:
        raise RuntimeError(f"login failed: {payload}")
    return payload["auth"]["client_token"]


def identity_context(identity: dict[str, str]) -> dict[str, Any]:
    """What the replay needs to render templates (mirrors IdentityContext)."""
    return {
        "entity_id": identity["entity_id"],
        "entity_name": "alice",
        "metadata": {"team": "a"},
        "aliases": [
            {"mount_accessor": identity["accessor"], "id": identity["alias_id"], "name": "alice"}
        ],
        "groups": [{"id": identity["group_id"], "name": "ops", "metadata": {"env": "prod"}}],
    }


def record_mount_access(token: str) -> dict[str, bool]:
    access = {}
    for mount in MOUNT_ACCESS_PATHS:
        status, payload = call("GET", f"sys/internal/ui/mounts/{mount.rstrip('/')}", token)
        if status not in (200, 403):
            raise RuntimeError(f"mount access {mount}: {status} {payload}")
        access[mount] = status == 200
    return access


# ---------------------------------------------------------------------------
# Talking to the server
# ---------------------------------------------------------------------------


def call(
    method: str,
    path: str,
    token: str,
    body: Any = None,
    query: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any]:
    url = f"{ADDRESS}/v1/{path}"
    if query:
        url += "?" + urllib.parse.urlencode(query, doseq=True)
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("X-Vault-Token", token)
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            text = response.read().decode()
            return response.status, json.loads(text) if text else None
    except urllib.error.HTTPError as error:
        text = error.read().decode()
        try:
            return error.code, json.loads(text) if text else None
        except json.JSONDecodeError:
            return error.code, text


def root(method: str, path: str, body: Any = None, query: dict[str, Any] | None = None) -> Any:
    status, payload = call(method, path, "root", body, query)
    if status >= 400 and not (method == "DELETE" and status == 404):
        raise RuntimeError(f"{method} {path} -> {status} {payload}")
    return payload


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _pick_listen_address() -> str:
    """A loopback port whose neighbour (the cluster port) is free as well."""
    for port in PORTS:
        if _port_free(port) and _port_free(port + 1):
            return f"127.0.0.1:{port}"
    raise RuntimeError("no free port pair in 8480-8499")


@contextlib.contextmanager
def dev_server() -> Iterator[str]:
    global ADDRESS
    listen = _pick_listen_address()
    ADDRESS = f"http://{listen}"
    workdir = tempfile.mkdtemp(prefix="bao-dev-")
    log = open(os.path.join(workdir, "server.log"), "w")  # noqa: SIM115
    process = subprocess.Popen(
        [BAO, "server", "-dev", "-dev-root-token-id=root", f"-dev-listen-address={listen}"],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=workdir,
        env={**os.environ, "HOME": workdir, "BAO_ADDR": ADDRESS},
    )
    try:
        _wait_ready(process)
        yield _server_version()
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        shutil.rmtree(workdir, ignore_errors=True)


def _wait_ready(process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        # Never talk to a server we did not start (e.g. if the port got taken).
        if process.poll() is not None:
            raise RuntimeError("bao exited early; see its log")
        try:
            status, _ = call("GET", "sys/health", "")
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError("OpenBao dev server did not become ready")


def _server_version() -> str:
    output = subprocess.run([BAO, "version"], capture_output=True, text=True, check=True)
    return output.stdout.strip()


# ---------------------------------------------------------------------------
# Fixture state, classification and execution
# ---------------------------------------------------------------------------


def setup_mounts() -> None:
    root("POST", "sys/mounts/kv1", {"type": "kv", "options": {"version": "1"}})
    deadline = time.monotonic() + 60
    while True:  # the dev server's kv-v2 mount upgrades itself asynchronously
        status, _ = call("POST", "secret/data/ready", "root", {"data": {"ok": "1"}})
        if status < 400:
            break
        if time.monotonic() > deadline:
            raise RuntimeError("kv v2 mount never became writable")
        time.sleep(0.5)
    root("DELETE", "secret/metadata/ready")


def kv_target(path: str) -> tuple[str, str] | None:
    """("kv1"|"kv2", key) when a request's outcome depends on a key existing."""
    if path.startswith("kv1/") and not path.endswith("/"):
        return "kv1", path.removeprefix("kv1/")
    for prefix in (
        "secret/data/",
        "secret/metadata/",
        "secret/delete/",
        "secret/undelete/",
        "secret/destroy/",
    ):
        if path.startswith(prefix) and not path.endswith("/") and path != prefix:
            return "kv2", path.removeprefix(prefix)
    return None


def reset_key(target: tuple[str, str] | None) -> None:
    if target is None:
        return
    engine, key = target
    if engine == "kv1":
        if key in KV1_EXISTING:
            root("POST", f"kv1/{key}", {"value": "seed"})
        else:
            root("DELETE", f"kv1/{key}")
        return
    if key in KV2_EXISTING:
        root("POST", f"secret/data/{key}", {"data": {"seed": "1"}})
    else:
        root("DELETE", f"secret/metadata/{key}")


def seed_all() -> None:
    for key in KV1_EXISTING:
        reset_key(("kv1", key))
    for key in KV2_EXISTING:
        reset_key(("kv2", key))


def classify(req: Req) -> str:
    """The operation OpenBao's router assigns (create vs update by existence)."""
    if req.method == "GET":
        return "list" if req.query.get("list") == "true" else "read"
    if req.method in ("LIST", "DELETE", "PATCH"):
        return req.method.lower()
    target = kv_target(req.path)
    if target is None or req.path.startswith(
        ("secret/delete/", "secret/undelete/", "secret/destroy/")
    ):
        return "update"  # sys endpoints and kv-v2 version actions have no existence check
    engine, key = target
    existing = KV1_EXISTING if engine == "kv1" else KV2_EXISTING
    return "update" if key in existing else "create"


def sudo_required(path: str) -> bool:
    return path in SUDO_EXACT or path.startswith(SUDO_PREFIXES)


def perform(req: Req, token: str) -> tuple[int, Any]:
    headers: dict[str, str] = {}
    if req.wrap_ttl is not None:
        headers["X-Vault-Wrap-TTL"] = req.wrap_ttl
    if req.method == "PATCH":
        headers["Content-Type"] = "application/merge-patch+json"
    return call(req.method, req.path, token, req.data, req.query, headers)


def make_token(policies: tuple[str, ...]) -> str:
    payload = root(
        "POST",
        "auth/token/create",
        {"policies": list(policies), "no_default_policy": True, "ttl": "2h"},
    )
    return payload["auth"]["client_token"]


def wrap_seconds(ttl: str | None) -> int | None:
    if ttl is None:
        return None
    units = {"s": 1, "m": 60, "h": 3600}
    return int(ttl[:-1]) * units[ttl[-1]] if ttl[-1] in units else int(ttl)


def record_request(req: Req, token: str) -> dict[str, Any]:
    reset_key(kv_target(req.path))
    status, payload = perform(req, token)
    errors = payload.get("errors") if isinstance(payload, dict) else None
    if status == 403 and not any("permission denied" in str(e) for e in errors or ()):
        raise RuntimeError(f"unexpected 403 body for {req}: {payload}")
    query = {k: v for k, v in req.query.items() if k != "list"}
    return {
        "method": req.method,
        "operation": classify(req),
        "path": req.path,
        "data": req.data if req.data is not None else (query or None),
        "data_source": "body" if req.data is not None else ("query" if query else None),
        "wrap_ttl": wrap_seconds(req.wrap_ttl),
        "sudo_required": sudo_required(req.path),
        "status": status,
        "allowed": status != 403,
    }


def record_capabilities(token: str, paths: tuple[str, ...]) -> dict[str, list[str]]:
    payload = root("POST", "sys/capabilities", {"token": token, "paths": [p for p in paths if p]})
    answers = {path: payload["data"][path] for path in paths if path}
    return answers


def record_parse_cases() -> list[dict[str, Any]]:
    results = []
    for name, text in PARSE_CASES.items():
        status, payload = call("PUT", f"sys/policies/acl/parse-{name}", "root", {"policy": text})
        entry: dict[str, Any] = {"name": name, "policy": text, "accepted": status < 400}
        if status >= 400:
            entry["error"] = payload["errors"][0]
        else:
            token = make_token((f"parse-{name}",))
            entry["capabilities"] = record_capabilities(token, PARSE_CAPABILITY_PATHS)
        results.append(entry)
    return results


def record_token(
    name: str,
    policies: tuple[str, ...],
    token: str,
    universe: list[Req],
    identity: dict[str, Any] | None = None,
) -> dict[str, Any]:
    paths = CAPABILITY_PATHS + (IDENTITY_CAPABILITY_PATHS if identity else ())
    entry: dict[str, Any] = {"name": name, "policies": list(policies)}
    if identity is not None:
        entry["identity"] = identity
    entry["cases"] = [record_request(req, token) for req in universe]
    entry["capabilities"] = record_capabilities(token, paths)
    entry["mount_access"] = record_mount_access(token)
    print(f"{name}: {len(entry['cases'])} requests", file=sys.stderr)
    return entry


def identity_requests(identity: dict[str, str]) -> list[Req]:
    return [
        Req("GET", f"kv1/{identity['entity_id']}"),
        Req("POST", f"kv1/{identity['entity_id']}", {"value": "v"}),
        Req("GET", "kv1/alice/x"),
        Req("GET", "kv1/x/ops"),
        Req("GET", "kv1/missing/x"),
        Req("LIST", "kv1/y/ops/"),
        Req("LIST", "kv1/users/alice"),
    ]


def record_all(version: str) -> dict[str, Any]:
    setup_mounts()
    identity = setup_identity()
    policies = {**POLICIES, "p21-templated": templated_policy(identity)}
    for name, text in policies.items():
        root("PUT", f"sys/policies/acl/{name}", {"policy": text})
    seed_all()
    universe = requests_universe() + identity_requests(identity)
    tokens = [
        record_token(name, members, make_token(members), universe)
        for name, members in TOKENS.items()
    ]
    tokens.append(record_token("root", ("root",), "root", universe))
    context = identity_context(identity)
    for name, members in (
        ("identity-templated", ("p21-templated",)),
        ("identity-default", ("default",)),
        ("identity-default-plus", ("default", "p10-list")),
    ):
        tokens.append(record_token(name, members, identity_token(members), universe, context))
    default_text = root("GET", "sys/policies/acl/default")["data"]["policy"]
    return {
        "header": {
            "openbao_version": version,
            "generated_by": COMMAND,
            "server": "bao server -dev -dev-root-token-id=root"
            " -dev-listen-address=127.0.0.1:<free port in 8480-8499>",
            "notes": "allowed = HTTP status other than 403; tokens have no default policy",
        },
        "policies": policies,
        "openbao_default_policy": default_text,
        "tokens": tokens,
        "parse_cases": record_parse_cases(),
    }


def render(result: dict[str, Any]) -> str:
    """Indented JSON, but one line per request case / capability answer (diffable)."""
    compact: dict[str, str] = {}

    def inline(value: Any) -> str:
        marker = f"@@{len(compact)}@@"
        compact[marker] = json.dumps(value, separators=(", ", ": "))
        return marker

    shaped = dict(result)
    shaped["tokens"] = [
        {
            **token,
            "cases": [inline(c) for c in token["cases"]],
            "capabilities": {p: inline(c) for p, c in token["capabilities"].items()},
        }
        for token in result["tokens"]
    ]
    shaped["parse_cases"] = [
        {**case, "capabilities": {p: inline(c) for p, c in case["capabilities"].items()}}
        if "capabilities" in case
        else case
        for case in result["parse_cases"]
    ]
    text = json.dumps(shaped, indent=1)
    for marker, value in compact.items():
        text = text.replace(f'"{marker}"', value, 1)
    return text + "\n"


def main() -> None:
    with dev_server() as version:
        result = record_all(version)
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(render(result))
    total = sum(len(t["cases"]) for t in result["tokens"])
    print(f"recorded {total} request cases into {OUTPUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
