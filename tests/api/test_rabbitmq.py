"""The rabbitmq engine over HTTP: config/connection, config/lease and roles, with Vault's
texts (compared by hand with OpenBao 2.7.2's `bao server -dev` against this broker)."""

from __future__ import annotations

import time

import boto3
import pytest

from tests import rabbitmq_support, support
from tests.rabbitmq_support import MANAGEMENT_URL, Broker
from tests.support import REGION, VaultHTTP, free_port

broker = rabbitmq_support.broker
silent_port = support.silent_port

VHOSTS = '{"/": {"configure": ".*", "write": ".*", "read": ".*"}}'
TOPICS = '{"/": {"amq.topic": {"write": ".*", "read": ".*"}}}'


def errors(text: str) -> list[str]:
    return ["1 error occurred:\n\t* " + text + "\n\n"]


@pytest.fixture
def rabbit(vault: VaultHTTP) -> VaultHTTP:
    assert vault.post("sys/mounts/rabbitmq", {"type": "rabbitmq"}).status_code == 204
    return vault


def table_dump() -> str:
    table = boto3.resource("dynamodb", region_name=REGION).Table("lambdavault-test")
    return repr(table.scan(ConsistentRead=True)["Items"])


def test_connection_is_write_only_and_its_password_stays_sealed(rabbit: VaultHTTP,
                                                                broker: Broker):
    reply = rabbit.get("rabbitmq/config/connection")
    assert (reply.status_code, reply.json()) == (405, {"errors": errors("unsupported operation")})
    assert rabbit.post("rabbitmq/config/connection", broker.connection).status_code == 204
    reply = rabbit.get("rabbitmq/config/connection")
    assert reply.status_code == 405 and broker.admin[1] not in reply.text
    # The admin password reaches the table only through the barrier.
    config = {**broker.connection, "password": "sealed-canary-7f3a", "verify_connection": False}
    assert rabbit.post("rabbitmq/config/connection", config).status_code == 204
    assert "sealed-canary-7f3a" not in table_dump()


@pytest.mark.parametrize(("body", "message"), [
    ({}, "missing connection_uri"),
    ({"connection_uri": MANAGEMENT_URL}, "missing username"),
    ({"connection_uri": MANAGEMENT_URL, "username": "guest"}, "missing password"),
])
def test_connection_requires_uri_username_and_password(rabbit: VaultHTTP, body, message):
    reply = rabbit.post("rabbitmq/config/connection", body)
    assert (reply.status_code, reply.json()) == (400, {"errors": [message]})


def test_connection_refuses_a_username_template_that_does_not_work(rabbit: VaultHTTP,
                                                                  broker: Broker):
    bad = {**broker.connection, "username_template": "{{ .Foo"}
    reply = rabbit.post("rabbitmq/config/connection", bad)
    assert reply.status_code == 400
    assert reply.json()["errors"][0].startswith("unable to initialize username template: ")
    bad["username_template"] = "{{ .Foo }}"
    reply = rabbit.post("rabbitmq/config/connection", bad)
    assert reply.status_code == 400
    assert reply.json()["errors"][0].startswith("invalid username template: ")


def test_connection_is_verified_with_vaults_texts(rabbit: VaultHTTP, broker: Broker):
    """Vault answers these with a 500; they are the client's to fix, so 400 here."""
    path = "rabbitmq/config/connection"
    reply = rabbit.post(path, {**broker.connection, "password": "wrong-password"})
    assert (reply.status_code, reply.json()["errors"]) == (400, errors(
        "failed to validate the connection: Error: API responded with a 401 Unauthorized"))
    assert "wrong-password" not in reply.text
    port = free_port()
    reply = rabbit.post(path, {**broker.connection, "connection_uri": f"http://127.0.0.1:{port}"})
    assert (reply.status_code, reply.json()["errors"]) == (400, errors(
        f'failed to validate the connection: Get "http://127.0.0.1:{port}/api/users/": '
        f"dial tcp 127.0.0.1:{port}: connect: connection refused"))
    reply = rabbit.post(path, {**broker.connection, "connection_uri": "not a uri"})
    assert (reply.status_code, reply.json()["errors"]) == (400, errors(
        'failed to validate the connection: Get "not a uri/api/users/": '
        'unsupported protocol scheme ""'))
    # The AMQP port speaks no HTTP: it answers its protocol header and hangs up (which of
    # the two a client sees first varies).
    reply = rabbit.post(path, {**broker.connection, "connection_uri": "http://127.0.0.1:5672"})
    assert reply.status_code == 400
    assert reply.json()["errors"][0] in errors(
        'failed to validate the connection: Get "http://127.0.0.1:5672/api/users/": '
        "net/http: HTTP/1.x transport connection broken: malformed HTTP response "
        '"AMQP\\x00\\x00\\t\\x01"') + errors(
        'failed to validate the connection: Get "http://127.0.0.1:5672/api/users/": '
        "read: connection reset by peer")
    reply = rabbit.post(path, {**broker.connection, "connection_uri": "http://u:p@[::1"})
    assert (reply.status_code, reply.json()["errors"]) == (400, errors(
        "failed to validate the connection: parse connection_uri: Invalid IPv6 URL"))
    reply = rabbit.post(path, {**broker.connection, "connection_uri": "https://127.0.0.1:15672"})
    assert (reply.status_code, reply.json()["errors"]) == (400, errors(
        'failed to validate the connection: Get "https://127.0.0.1:15672/api/users/": '
        "tls: handshake failure"))
    # Userinfo in the URI is never echoed.
    reply = rabbit.post(path, {**broker.connection,
                               "connection_uri": f"http://guest:uri-secret@127.0.0.1:{port}"})
    assert reply.status_code == 400 and "uri-secret" not in reply.text
    # Unverified, anything is stored.
    unverified = {**broker.connection, "connection_uri": "uri", "verify_connection": False}
    assert rabbit.post(path, unverified).status_code == 204


def test_a_silent_management_api_fails_fast(rabbit: VaultHTTP, broker: Broker, silent_port: int):
    started = time.monotonic()
    reply = rabbit.post("rabbitmq/config/connection",
                        {**broker.connection, "connection_uri": f"http://127.0.0.1:{silent_port}"})
    assert time.monotonic() - started < 10
    assert (reply.status_code, reply.json()["errors"]) == (400, errors(
        f'failed to validate the connection: Get "http://127.0.0.1:{silent_port}/api/users/": '
        "context deadline exceeded (Client.Timeout exceeded while awaiting headers)"))


def test_lease_config(rabbit: VaultHTTP):
    assert rabbit.get("rabbitmq/config/lease").status_code == 404
    assert rabbit.post("rabbitmq/config/lease", {"ttl": "1h", "max_ttl": 7200}).status_code == 204
    assert rabbit.get("rabbitmq/config/lease").json()["data"] == {"ttl": 3600, "max_ttl": 7200}
    assert rabbit.post("rabbitmq/config/lease", {}).status_code == 204
    assert rabbit.get("rabbitmq/config/lease").json()["data"] == {"ttl": 0, "max_ttl": 0}
    assert rabbit.post("rabbitmq/config/lease", {"ttl": "bogus"}).status_code == 400


def test_roles_crud_and_paged_list(rabbit: VaultHTTP):
    role = {"tags": "management,policymaker", "vhosts": VHOSTS, "vhost_topics": TOPICS}
    assert rabbit.post("rabbitmq/roles/r1", role).status_code == 204
    assert rabbit.get("rabbitmq/roles/r1").json()["data"] == {
        "tags": "management,policymaker",
        "vhosts": {"/": {"configure": ".*", "write": ".*", "read": ".*"}},
        "vhost_topics": {"/": {"amq.topic": {"write": ".*", "read": ".*"}}},
    }
    # A write replaces the whole role.
    assert rabbit.post("rabbitmq/roles/r2", {"tags": "administrator"}).status_code == 204
    assert rabbit.get("rabbitmq/roles/r2").json()["data"] == {
        "tags": "administrator", "vhosts": {}, "vhost_topics": {}}
    assert rabbit.post("rabbitmq/roles/r1", {"tags": "x"}).status_code == 204
    assert rabbit.get("rabbitmq/roles/r1").json()["data"]["vhosts"] == {}
    assert rabbit.list("rabbitmq/roles").json()["data"]["keys"] == ["r1", "r2"]
    paged = rabbit.get("rabbitmq/roles", params={"list": "true", "after": "r1", "limit": 1})
    assert paged.json()["data"]["keys"] == ["r2"]
    assert rabbit.delete("rabbitmq/roles/r1").status_code == 204
    assert rabbit.delete("rabbitmq/roles/r1").status_code == 204
    assert rabbit.get("rabbitmq/roles/r1").status_code == 404


def test_roles_decode_json_as_vault_does(rabbit: VaultHTTP):
    """Unknown keys ignored, keys matched regardless of case (the last wins), null empty,
    and what follows the first JSON value ignored."""
    vhosts = '{"a": {"READ": "x", "read": "y", "extra": 1}, "b": null} trailing'
    assert rabbit.post("rabbitmq/roles/r", {"vhosts": vhosts}).status_code == 204
    assert rabbit.get("rabbitmq/roles/r").json()["data"]["vhosts"] == {
        "a": {"configure": "", "write": "", "read": "y"},
        "b": {"configure": "", "write": "", "read": ""},
    }


@pytest.mark.parametrize(("body", "message"), [
    ({}, "both tags and vhosts not specified"),
    ({"tags": "", "vhosts": ""}, "both tags and vhosts not specified"),
    ({"vhosts": "not json"},
     "failed to unmarshal vhosts: invalid character 'o' in literal null (expecting 'u')"),
    ({"vhosts": "[1]"}, "failed to unmarshal vhosts: json: cannot unmarshal array into Go value "
     "of type map[string]rabbitmq.vhostPermission"),
    ({"vhosts": '{"/": {"configure": 1}}'}, "failed to unmarshal vhosts: json: cannot unmarshal "
     "number into Go struct field .~1.configure of type string"),
    ({"vhosts": '{"a/b~c": "x"}'}, "failed to unmarshal vhosts: json: cannot unmarshal string "
     "into Go struct field .a~1b~0c of type rabbitmq.vhostPermission"),
    ({"tags": "t", "vhost_topics": "{bad"}, "failed to unmarshal vhost_topics: invalid "
     "character 'b' looking for beginning of object key string"),
    ({"tags": "t", "vhost_topics": '{"v": []}'}, "failed to unmarshal vhost_topics: json: "
     "cannot unmarshal array into Go struct field .v of type "
     "map[string]rabbitmq.vhostTopicPermission"),
    ({"tags": "t", "vhost_topics": '{"v": {"ex": {"write": 5}}}'}, "failed to unmarshal "
     "vhost_topics: json: cannot unmarshal number into Go struct field .v.ex.write of type "
     "string"),
    ({"tags": "t", "vhost_topics": '{"a":1'}, "failed to unmarshal vhost_topics: unexpected EOF"),
    ({"tags": "t", "vhost_topics": "[1,]"}, "failed to unmarshal vhost_topics: invalid "
     "character ']' looking for beginning of value"),
    # Go's limit is 10000 levels, ours 100 (Go would say "unexpected EOF" here).
    ({"vhosts": "[" * 5000}, "failed to unmarshal vhosts: exceeded max depth"),
])
def test_bad_roles_get_vaults_texts(rabbit: VaultHTTP, body, message):
    reply = rabbit.post("rabbitmq/roles/bad", body)
    assert (reply.status_code, reply.json()) == (400, {"errors": [message]})
    assert rabbit.get("rabbitmq/roles/bad").status_code == 404
