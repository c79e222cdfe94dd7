"""A consumer Lambda with no token anywhere: the clients log in to the aws auth method
as the function's IAM identity (moto: an IAM user's or an assumed role's keys in the
environment), keep the token, renew it, and are refused once the ARN is unbound.

lambda:Invoke is answered in-process (invoke_hook); STS is moto's server, which shares
the in-process moto state, so it knows the keys the test created.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hvac
import pytest
from hvac.exceptions import Forbidden

from chalicelib.clients import ApiGatewayAdapter, LambdaAdapter, VaultProvider, aws_login
from tests.aws_auth_support import Keys, Principals, moto_server
from tests.support import ROOT_TOKEN, VaultHTTP
from tests.unit.clients.invoke_hook import FUNCTION_NAME, InvokeHook

ROOT = Path(__file__).resolve().parents[3]
POLICY = 'path "secret/data/app/*" { capabilities = ["read"] }'


@pytest.fixture(scope="module")
def moto_sts() -> Iterator[str]:
    with moto_server() as url:
        yield url


@pytest.fixture(autouse=True)
def fresh_container() -> Iterator[None]:
    aws_login.clear()
    yield
    aws_login.clear()


class Consumer:
    """The admin's side (root over HTTP-free Invoke) and the consumer's identity."""

    def __init__(self, admin: hvac.Client, moto_sts: str, monkeypatch: pytest.MonkeyPatch):
        self.admin = admin
        self.monkeypatch = monkeypatch
        self.principals = Principals()
        admin.sys.enable_auth_method("aws")
        admin.write("auth/aws/config/client", sts_endpoint=moto_sts)
        admin.sys.create_or_update_policy("app-read", POLICY)
        admin.secrets.kv.v2.create_or_update_secret(path="app/db", secret={"password": "pw"})

    def bind(self, arn: str, **fields: Any) -> None:
        self.admin.write("auth/aws/role/consumer", bound_iam_principal_arn=arn,
                         token_policies="app-read", **fields)  # fmt: skip

    def become(self, keys: Keys) -> None:
        """The function's credentials, as Lambda sets them in its environment."""
        self.monkeypatch.setenv("AWS_ACCESS_KEY_ID", keys.access_key)
        self.monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", keys.secret_key)
        if keys.session_token:
            self.monkeypatch.setenv("AWS_SESSION_TOKEN", keys.session_token)
        self.monkeypatch.delenv("VAULT_TOKEN", raising=False)


@pytest.fixture
def consumer(lambda_client: Any, moto_sts: str, monkeypatch: pytest.MonkeyPatch) -> Consumer:
    admin = hvac.Client(
        token=ROOT_TOKEN, adapter=LambdaAdapter(FUNCTION_NAME, lambda_client=lambda_client)
    )
    return Consumer(admin, moto_sts, monkeypatch)


def role_client(lambda_client: Any) -> hvac.Client:
    return hvac.Client(
        adapter=LambdaAdapter(FUNCTION_NAME, lambda_client=lambda_client, aws_role="consumer")
    )


def read(client: hvac.Client) -> dict[str, Any]:
    kv = client.secrets.kv.v2
    return kv.read_secret_version(path="app/db", raise_on_deleted_version=True)["data"]["data"]


def paths(hook: InvokeHook) -> list[str]:
    return [event["path"] for event in hook.events]


def test_an_iam_user_reads_a_secret_with_no_token_configured(
    consumer: Consumer, lambda_client: Any, invoke_hook: InvokeHook
) -> None:
    arn, keys = consumer.principals.user("orders-fn")
    consumer.bind(arn)
    consumer.become(keys)
    before = len(invoke_hook.events)
    assert read(role_client(lambda_client)) == {"password": "pw"}
    assert paths(invoke_hook)[before:] == ["auth/aws/login", "secret/data/app/db"]
    assert invoke_hook.events[-1]["token"]  # the login's token, from nowhere configured
    # A second client in the same container reuses the token: no second login.
    assert read(role_client(lambda_client)) == {"password": "pw"}
    assert paths(invoke_hook).count("auth/aws/login") == 1


def test_an_assumed_role_session_logs_in_too(consumer: Consumer, lambda_client: Any) -> None:
    role_arn = consumer.principals.role("orders-exec")
    consumer.bind(role_arn)
    consumer.become(consumer.principals.assume(role_arn, "orders-fn"))
    assert read(role_client(lambda_client)) == {"password": "pw"}


def test_a_revoked_token_is_replaced_and_an_unbound_arn_is_refused(
    consumer: Consumer, lambda_client: Any, invoke_hook: InvokeHook
) -> None:
    arn, keys = consumer.principals.user("orders-fn")
    other, _ = consumer.principals.user("someone-else")
    consumer.bind(arn)
    consumer.become(keys)
    client = role_client(lambda_client)
    read(client)
    consumer.admin.auth.token.revoke(client.token)
    assert read(client) == {"password": "pw"}  # 403, fresh login, retried once
    assert paths(invoke_hook).count("auth/aws/login") == 2
    # A policy refusal is a 403 too, but the token lives on: no new login for it.
    with pytest.raises(Forbidden):
        client.secrets.kv.v2.read_secret_version(path="other", raise_on_deleted_version=True)
    assert paths(invoke_hook).count("auth/aws/login") == 2
    consumer.bind(other)
    consumer.admin.auth.token.revoke(client.token)
    with pytest.raises(Forbidden, match="does not belong to the role"):
        read(client)


def test_the_token_is_renewed_and_renewal_stops_once_unbound(
    consumer: Consumer, lambda_client: Any, invoke_hook: InvokeHook
) -> None:
    arn, keys = consumer.principals.user("orders-fn")
    other, _ = consumer.principals.user("someone-else")
    consumer.bind(arn, token_ttl="3s", token_max_ttl="1h")
    consumer.become(keys)
    client = role_client(lambda_client)
    read(client)
    time.sleep(2.1)  # past two thirds of the TTL
    assert read(client) == {"password": "pw"}
    assert paths(invoke_hook).count("auth/token/renew-self") == 1
    assert paths(invoke_hook).count("auth/aws/login") == 1
    consumer.bind(other, token_ttl="3s")
    time.sleep(2.1)
    with pytest.raises(Forbidden, match="does not belong to the role"):
        read(client)
    assert paths(invoke_hook).count("auth/token/renew-self") == 2


def _running_as_bound_function(
    consumer: Consumer, invoke_hook: InvokeHook, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The consumer function's credentials bound in the role, and its default boto3
    session (where a provider builds its own Lambda client) answered by the hook."""
    import boto3

    arn, keys = consumer.principals.user("orders-fn")
    consumer.bind(arn)
    consumer.become(keys)
    session = boto3.Session()
    session.events.register("before-call.lambda.Invoke", invoke_hook)
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", session)


def test_the_provider_logs_in_by_itself(
    consumer: Consumer, invoke_hook: InvokeHook, monkeypatch: pytest.MonkeyPatch
) -> None:
    _running_as_bound_function(consumer, invoke_hook, monkeypatch)
    provider = VaultProvider(function_name=FUNCTION_NAME, aws_role="consumer")
    assert provider.get("app/db") == {"password": "pw"}


def test_over_api_gateway_too(
    vault: VaultHTTP, moto_sts: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = hvac.Client(url=vault.url, token=ROOT_TOKEN)
    consumer = Consumer(admin, moto_sts, monkeypatch)
    arn, keys = consumer.principals.user("orders-fn")
    consumer.bind(arn)
    consumer.become(keys)
    client = hvac.Client(url=vault.url, adapter=ApiGatewayAdapter, aws_role="consumer")
    assert read(client) == {"password": "pw"}
    provider = VaultProvider(url=vault.url, aws_role="consumer")
    assert provider.get("app/db") == {"password": "pw"}
    consumer.bind(consumer.principals.user("someone-else")[0])
    admin.auth.token.revoke(client.token)
    with pytest.raises(Forbidden):
        read(client)


def test_a_regional_signature_for_a_regional_sts_endpoint(
    consumer: Consumer, lambda_client: Any, invoke_hook: InvokeHook
) -> None:
    import base64

    arn, keys = consumer.principals.user("orders-fn")
    consumer.bind(arn)
    consumer.become(keys)
    adapter = LambdaAdapter(
        FUNCTION_NAME, lambda_client=lambda_client, aws_role="consumer",
        aws_sts_region="eu-west-1",
    )  # fmt: skip
    assert read(hvac.Client(adapter=adapter)) == {"password": "pw"}
    login = next(e for e in invoke_hook.events if e["path"] == "auth/aws/login")
    url = base64.b64decode(login["data"]["iam_request_url"]).decode()
    assert url == "https://sts.eu-west-1.amazonaws.com/"
    headers = base64.b64decode(login["data"]["iam_request_headers"]).decode()
    assert "/eu-west-1/sts/aws4_request" in headers


def test_the_example_consumer_function_reads_its_secret(
    consumer: Consumer, invoke_hook: InvokeHook, monkeypatch: pytest.MonkeyPatch
) -> None:
    """infra/consumer/handler.py as its stack configures it: no token anywhere."""
    import importlib.util

    _running_as_bound_function(consumer, invoke_hook, monkeypatch)
    for name, value in {
        "LAMBDAVAULT_FUNCTION": FUNCTION_NAME, "LAMBDAVAULT_AWS_ROLE": "consumer",
        "LAMBDAVAULT_AWS_MOUNT": "aws", "SECRET_PATH": "app/db",
    }.items():
        monkeypatch.setenv(name, value)
    spec = importlib.util.spec_from_file_location(
        "consumer_handler", ROOT / "infra" / "consumer" / "handler.py"
    )
    assert spec is not None and spec.loader is not None
    handler = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(handler)
    before = invoke_hook.calls
    assert handler.handler({}, None) == {"keys": ["password"]}
    assert invoke_hook.calls - before == 2  # one login, one read
    assert handler.handler({}, None) == {"keys": ["password"]}
    assert invoke_hook.calls - before == 2  # the provider's cache: no call at all
