"""hvac over lambda:Invoke and over API Gateway, and the Powertools provider, end to end."""

from __future__ import annotations

from typing import Any

import hvac
import pytest
from hvac.exceptions import Forbidden, InvalidPath, InvalidRequest

from chalicelib.clients import ApiGatewayAdapter, LambdaAdapter, VaultProvider
from tests.support import ROOT_TOKEN, VaultHTTP
from tests.unit.clients.invoke_hook import FUNCTION_NAME, InvokeHook

pytestmark = pytest.mark.compat


@pytest.fixture
def over_lambda(lambda_client: Any) -> hvac.Client:
    adapter = LambdaAdapter(function_name=FUNCTION_NAME, lambda_client=lambda_client)
    return hvac.Client(token=ROOT_TOKEN, adapter=adapter)


def test_hvac_over_invoke_creates_a_token_writes_reads_and_lists(
    over_lambda: hvac.Client, lambda_client: Any, invoke_hook: InvokeHook
) -> None:
    created = over_lambda.auth.token.create(policies=["default"], ttl="1h")
    assert created["auth"]["policies"] == ["default"]
    kv = over_lambda.secrets.kv.v2
    kv.create_or_update_secret(path="app/db", secret={"password": "hunter2"})
    kv.create_or_update_secret(path="app/cache", secret={"url": "redis://"})
    read = kv.read_secret_version(path="app/db", raise_on_deleted_version=True)
    assert read["data"]["data"] == {"password": "hunter2"}
    assert kv.list_secrets(path="app")["data"]["keys"] == ["cache", "db"]
    assert [e["method"] for e in invoke_hook.events][-1] == "LIST"  # the verb itself
    # The new token, through its own client: hvac's usual exceptions for error statuses.
    limited = hvac.Client(
        token=created["auth"]["client_token"],
        adapter=LambdaAdapter(FUNCTION_NAME, lambda_client=lambda_client),
    )
    assert limited.is_authenticated()
    with pytest.raises(Forbidden):
        limited.secrets.kv.v2.read_secret_version(path="app/db", raise_on_deleted_version=True)


def test_hvac_over_invoke_maps_errors(over_lambda: hvac.Client) -> None:
    with pytest.raises(InvalidPath):
        over_lambda.secrets.kv.v2.read_secret_version(path="missing", raise_on_deleted_version=True)
    with pytest.raises(InvalidRequest):
        over_lambda.adapter.post("/v1/secret/data/bad", json={"data": "not an object"})


def test_hvac_over_api_gateway_lists_with_get(vault: VaultHTTP) -> None:
    client = hvac.Client(url=vault.url, token=ROOT_TOKEN, adapter=ApiGatewayAdapter)
    kv = client.secrets.kv.v2
    kv.create_or_update_secret(path="team/a", secret={"k": "v"})
    sent: list[tuple[str, str]] = []
    send = client.adapter.session.send

    def recording(request: Any, **kwargs: Any) -> Any:
        sent.append((request.method, request.url))
        return send(request, **kwargs)

    client.adapter.session.send = recording
    assert kv.list_secrets(path="team")["data"]["keys"] == ["a"]
    assert sent == [("GET", f"{vault.url}/v1/secret/metadata/team?list=true")]
    read = kv.read_secret_version(path="team/a", raise_on_deleted_version=True)
    assert read["data"]["data"] == {"k": "v"}


def test_provider_reads_kv_and_caches_within_max_age(
    over_lambda: hvac.Client, lambda_client: Any, invoke_hook: InvokeHook
) -> None:
    over_lambda.secrets.kv.v2.create_or_update_secret(path="svc/db", secret={"user": "app"})
    provider = VaultProvider(
        client=hvac.Client(
            token=ROOT_TOKEN, adapter=LambdaAdapter(FUNCTION_NAME, lambda_client=lambda_client)
        )
    )
    before = invoke_hook.calls
    assert provider.get("svc/db", max_age=300) == {"user": "app"}
    assert invoke_hook.calls == before + 1
    assert provider.get("svc/db", max_age=300) == {"user": "app"}
    assert invoke_hook.calls == before + 1  # served from the cache
    assert provider.get("svc/db", max_age=300, force_fetch=True) == {"user": "app"}
    assert invoke_hook.calls == before + 2


def test_provider_reads_a_folder(over_lambda: hvac.Client, lambda_client: Any) -> None:
    kv = over_lambda.secrets.kv.v2
    kv.create_or_update_secret(path="cfg/a", secret={"n": "1"})
    kv.create_or_update_secret(path="cfg/b", secret={"n": "2"})
    kv.create_or_update_secret(path="cfg/deeper/c", secret={"n": "3"})
    provider = VaultProvider(client=over_lambda)
    assert provider.get_multiple("cfg") == {"a": {"n": "1"}, "b": {"n": "2"}}


def test_provider_builds_its_own_client_from_the_function_name(
    lambda_client: Any, invoke_hook: InvokeHook, monkeypatch: pytest.MonkeyPatch
) -> None:
    import boto3

    # The provider's own boto3 client comes from the default session: hook that one.
    session = boto3.Session()
    session.events.register("before-call.lambda.Invoke", invoke_hook)
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", session)
    monkeypatch.setenv("VAULT_TOKEN", ROOT_TOKEN)
    writer = LambdaAdapter(FUNCTION_NAME, lambda_client=lambda_client)
    hvac.Client(token=ROOT_TOKEN, adapter=writer).secrets.kv.v2.create_or_update_secret(
        path="own", secret={"a": "b"}
    )
    assert VaultProvider(function_name=FUNCTION_NAME).get("own") == {"a": "b"}
