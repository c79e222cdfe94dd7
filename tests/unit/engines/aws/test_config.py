"""config/root, config/rotate-root, config/lease, and the clients they shape."""

import pytest

from chalicelib.engines.aws.clients import client_for, iam_client, spec_for, sts_client
from chalicelib.engines.aws.config import DEFAULT_USERNAME_TEMPLATE, RootConfig, write_root
from tests.support import REGION
from tests.unit.engines.aws.conftest import READ, UPDATE, ok


def test_root_config_read_never_shows_the_secret_key(aws_mount):
    assert aws_mount.send(READ, "config/root").status == 404
    ok(aws_mount, UPDATE, "config/root", {
        "access_key": "AKIAEXAMPLE", "secret_key": "very-secret", "region": "eu-west-1",
    })
    data = ok(aws_mount, READ, "config/root")["data"]
    assert data == {
        "access_key": "AKIAEXAMPLE",
        "region": "eu-west-1",
        "iam_endpoint": "",
        "sts_endpoint": "",
        "max_retries": -1,
        "username_template": DEFAULT_USERNAME_TEMPLATE,
    }
    assert "very-secret" not in str(aws_mount.send(READ, "config/root").body)


def test_root_config_write_replaces_everything(aws_mount):
    ok(aws_mount, UPDATE, "config/root", {"access_key": "A", "secret_key": "S", "max_retries": 3})
    ok(aws_mount, UPDATE, "config/root", {"region": "us-west-2"})
    data = ok(aws_mount, READ, "config/root")["data"]
    assert (data["access_key"], data["region"], data["max_retries"]) == ("", "us-west-2", -1)


def test_root_config_refuses_a_broken_username_template(aws_mount):
    reply = aws_mount.send(UPDATE, "config/root", {"username_template": "{{ nope }}"})
    assert reply.status == 400
    assert reply.body == {
        "errors": ['unable to initialize username template: function "nope" not defined']
    }


def test_clients_follow_the_configuration(aws):
    config = RootConfig(
        access_key="AKIAEXAMPLE", secret_key="s3cr3t", region="eu-west-1",
        iam_endpoint="http://127.0.0.1:1/iam", sts_endpoint="http://127.0.0.1:1/sts",
        max_retries=2,
    )
    iam, sts = iam_client(config), sts_client(config)
    assert iam.meta.endpoint_url == "http://127.0.0.1:1/iam"
    assert sts.meta.endpoint_url == "http://127.0.0.1:1/sts"
    assert sts.meta.region_name == "eu-west-1"
    assert iam.meta.config.retries["total_max_attempts"] == 3  # the first try and 2 retries
    assert iam._request_signer._credentials.access_key == "AKIAEXAMPLE"
    assert iam_client(config) is iam  # built once per container
    assert "s3cr3t" not in repr(spec_for("iam", config))


def test_without_keys_clients_use_the_default_chain_and_environment(
    aws, monkeypatch: pytest.MonkeyPatch
):
    from chalicelib.settings import settings
    from chalicelib.storage.dynamotable import botocore_session

    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:2")
    settings.cache_clear()
    spec = spec_for("sts", RootConfig())
    assert (spec.region, spec.endpoint_url, spec.access_key) == (REGION, "http://127.0.0.1:2", "")
    client = client_for(spec)
    assert client.meta.endpoint_url == "http://127.0.0.1:2"
    # The storage session's own credentials: the Lambda's role in AWS.
    default_chain = botocore_session().get_credentials().access_key
    assert client._request_signer._credentials.access_key == default_chain


def test_lease_config(aws_mount):
    assert aws_mount.send(READ, "config/lease").status == 404
    for data, error in [
        ({"lease_max": "1h"}, "'lease' is a required parameter"),
        ({"lease": "1h"}, "'lease_max' is a required parameter"),
        ({"lease": "soon", "lease_max": "1h"}, 'Invalid lease: time: invalid duration "soon"'),
        # Vault checks both are present before parsing either.
        ({"lease": "soon"}, "'lease_max' is a required parameter"),
    ]:
        assert aws_mount.send(UPDATE, "config/lease", data).body == {"errors": [error]}
    ok(aws_mount, UPDATE, "config/lease", {"lease": "30m", "lease_max": 43200})
    assert ok(aws_mount, READ, "config/lease")["data"] == {"lease": "30m0s", "lease_max": "12h0m0s"}


def test_rotate_root_replaces_the_key_and_deletes_the_old_one(aws_mount, iam):
    iam.create_user(UserName="vault-root")
    old = iam.create_access_key(UserName="vault-root")["AccessKey"]
    ok(aws_mount, UPDATE, "config/root", {
        "access_key": old["AccessKeyId"], "secret_key": old["SecretAccessKey"],
    })
    rotated = ok(aws_mount, UPDATE, "config/rotate-root")["data"]["access_key"]
    assert rotated != old["AccessKeyId"]
    keys = iam.list_access_keys(UserName="vault-root")["AccessKeyMetadata"]
    assert [key["AccessKeyId"] for key in keys] == [rotated]
    assert ok(aws_mount, READ, "config/root")["data"]["access_key"] == rotated
    # The stored secret key is the new one: the engine keeps working with it.
    ok(aws_mount, UPDATE, "roles/r", {"credential_type": "session_token"})
    assert ok(aws_mount, READ, "creds/r")["data"]["access_key"]


def test_rotate_root_loses_to_a_concurrent_config_write(aws_mount, iam):
    iam.create_user(UserName="vault-root")
    old = iam.create_access_key(UserName="vault-root")["AccessKey"]
    config = RootConfig(access_key=old["AccessKeyId"], secret_key=old["SecretAccessKey"])
    write_root(aws_mount.storage, config)

    def another_container_writes(**kwargs):
        write_root(aws_mount.storage, RootConfig(region="eu-west-1"))

    events = iam_client(config).meta.events
    events.register("after-call.iam.CreateAccessKey", another_container_writes)
    try:
        reply = aws_mount.send(UPDATE, "config/rotate-root")
    finally:
        events.unregister("after-call.iam.CreateAccessKey", another_container_writes)
    assert reply.status == 412
    assert reply.body == {"errors": ["config/root changed during the rotation; retry"]}
    keys = iam.list_access_keys(UserName="vault-root")["AccessKeyMetadata"]
    assert [key["AccessKeyId"] for key in keys] == [old["AccessKeyId"]]
    assert ok(aws_mount, READ, "config/root")["data"]["region"] == "eu-west-1"


def test_rotate_root_needs_static_keys(aws_mount):
    reply = aws_mount.send(UPDATE, "config/rotate-root")
    assert reply.body == {"errors": ["no configuration found for config/root"]}
    ok(aws_mount, UPDATE, "config/root", {"region": REGION})
    reply = aws_mount.send(UPDATE, "config/rotate-root")
    assert reply.status == 400
    assert reply.body == {
        "errors": ["Cannot call config/rotate-root when either access_key or secret_key is empty"]
    }


def test_rotate_root_reports_aws_refusals(aws_mount):
    ok(aws_mount, UPDATE, "config/root", {"access_key": "AKIAUNKNOWN", "secret_key": "x"})
    reply = aws_mount.send(UPDATE, "config/rotate-root")
    assert reply.status == 400
    assert reply.body["errors"][0].startswith("error calling ")
    assert "x" not in reply.body["errors"][0].split(": ", 1)[0]
