"""`bao path-help` and the OpenAPI document, side by side with a real `bao server -dev`.

Our help texts and field lists are our own, so the comparison is of shape: the same exit
codes, request and section lines, the same documented OpenAPI paths for the same request,
and the same errors.
"""

from __future__ import annotations

import re
from typing import Any

import hvac
import pytest
from openapi_spec_validator import validate

from tests.compat.conftest import ROOT_TOKEN, Server

pytestmark = pytest.mark.compat

# Request path -> the OpenAPI path both servers document for it (relative to the mount).
PATHS = {
    "sys/mounts": "/mounts",
    "secret/data/foo": "/data/{path}",
    "secret/metadata/app/db": "/metadata/{path}",
    "transit/keys/k1": "/keys/{name}",
    "auth/userpass/users/bob": "/users/{username}",
    "auth/token/create": "/create",
}


@pytest.fixture(scope="module")
def both(module_dev_server: Server, openbao_dev: Server) -> list[Server]:
    for server in (module_dev_server, openbao_dev):
        server.bao("secrets", "enable", "transit")
        server.bao("auth", "enable", "userpass")
    return [module_dev_server, openbao_dev]


def _sections(text: str) -> list[str]:
    """The lines that give a help page its shape: request, route and section headings.
    A route is compared by its literal start and its captures' names (the regexes that
    capture are each server's own)."""
    return [
        line.split("(?P<")[0] + " ".join(re.findall(r"\(\?P<(\w+)>", line))
        for line in text.splitlines()
        if line.startswith(("Request:", "Matching Route:", "## "))
    ]


@pytest.mark.parametrize("path", sorted(PATHS))
def test_path_help_has_openbaos_shape(both: list[Server], path: str) -> None:
    ours, theirs = (server.bao("path-help", path) for server in both)
    assert _sections(ours.out) == _sections(theirs.out)
    ours_json, theirs_json = (
        server.bao("path-help", "-format=json", path).json() for server in both
    )
    for document in (ours_json, theirs_json):
        assert isinstance(document, dict) and list(document["paths"]) == [PATHS[path]]
    validate(ours_json)
    assert ours_json["openapi"] == theirs_json["openapi"]


@pytest.mark.parametrize("mount", ["sys/", "secret/", "transit/", "auth/userpass/"])
def test_mount_root_help_lists_the_mounts_paths(both: list[Server], mount: str) -> None:
    ours, theirs = (server.bao("path-help", mount) for server in both)
    for result in (ours, theirs):
        assert result.out.startswith("## DESCRIPTION") and "\n## PATHS\n" in result.out
    documents: list[Any] = [
        server.bao("path-help", "-format=json", mount).json() for server in both
    ]
    validate(documents[0])
    if mount == "auth/userpass/":
        # A small method declared path for path as OpenBao's: the same documented paths.
        assert set(documents[0]["paths"]) == set(documents[1]["paths"])


@pytest.mark.parametrize(
    ("path", "token"),
    [("transit/nosuch", ROOT_TOKEN), ("nomount/x", ROOT_TOKEN), ("transit/keys/k1", "not-a-token")],
)
def test_path_help_errors_match(both: list[Server], path: str, token: str) -> None:
    results = [server.bao("path-help", path, token=token, check=False) for server in both]
    ours, theirs = (
        result.err.replace(server.address, "ADDR")
        for result, server in zip(results, both, strict=True)
    )
    assert [result.code for result in results] == [2, 2]
    assert ours == theirs


def test_openapi_document_through_hvac(both: list[Server]) -> None:
    documents = []
    for server in both:
        client = hvac.Client(url=server.address, token=ROOT_TOKEN)
        documents.append(client.adapter.get("/v1/sys/internal/specs/openapi"))
        helped = client.adapter.get("/v1/transit/keys/k1", params={"help": 1})
        assert set(helped) == {"help", "openapi", "see_also"}
    ours, theirs = documents
    validate(ours)
    mounts = [{path.split("/")[1] for path in document["paths"]} for document in documents]
    assert mounts[0] == mounts[1]  # sys, secret, cubbyhole, identity, transit, auth
    for path in ("/secret/data/{path}", "/transit/keys/{name}", "/auth/userpass/users/{username}",
                 "/sys/mounts", "/auth/token/create"):  # fmt: skip
        assert set(ours["paths"][path]) >= {"get", "post"} & set(theirs["paths"][path]), path
