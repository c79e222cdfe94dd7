"""rabbitmq credentials over HTTP: the user RabbitMQ gets (tags, vhost and topic
permissions), that it logs in over AMQP, its lease (renew, revoke, revoke-prefix, the
sweeper), and that a failure leaves neither a user nor a lease."""

from __future__ import annotations

import json
import time
from collections import Counter
from functools import partial

import pytest

from chalicelib.engines.rabbitmq import management
from tests import rabbitmq_support, support
from tests.api.test_leases import sweep
from tests.api.test_rabbitmq import errors, table_dump
from tests.rabbitmq_support import Broker, amqp_open, amqp_refused
from tests.support import VaultHTTP, free_port
from tests.support import creds as dynamic_creds

broker = rabbitmq_support.broker
silent_port = support.silent_port


@pytest.fixture
def rabbit(vault: VaultHTTP, broker: Broker) -> VaultHTTP:
    assert vault.post("sys/mounts/rabbitmq", {"type": "rabbitmq"}).status_code == 204
    assert vault.post("rabbitmq/config/connection", broker.connection).status_code == 204
    role = {
        "tags": "management,policymaker",
        "vhosts": json.dumps({broker.vhost: {"configure": "^lv-.*", "write": ".*", "read": ".*"}}),
        "vhost_topics": json.dumps({broker.vhost: {"amq.topic": {"write": "^a", "read": "^b"}}}),
    }
    assert vault.post("rabbitmq/roles/app", role).status_code == 204
    return vault


creds = partial(dynamic_creds, mount="rabbitmq")


def leases(vault: VaultHTTP, role: str = "app") -> list[str]:
    reply = vault.list(f"sys/leases/lookup/rabbitmq/creds/{role}/")
    return reply.json()["data"]["keys"] if reply.status_code == 200 else []


def test_creds_make_a_user_that_logs_in_with_the_roles_permissions(
    rabbit: VaultHTTP, broker: Broker, capfd: pytest.CaptureFixture[str]
):
    body = creds(rabbit)
    prefix, _, ident = body["lease_id"].rpartition("/")
    assert prefix == "rabbitmq/creds/app" and len(ident) == 24
    assert body["renewable"] is True
    assert body["lease_duration"] == 2764800  # no config/lease: the mount's default
    username, password = body["data"]["username"], body["data"]["password"]
    assert username.startswith(broker.prefix + "app-")
    assert len(password) == 36 and password.isalnum()
    assert broker.user(username)["tags"] == ["management", "policymaker"]
    assert broker.permissions(username) == [{
        "user": username, "vhost": broker.vhost, "configure": "^lv-.*", "write": ".*",
        "read": ".*",
    }]
    assert broker.topic_permissions(username) == [{
        "user": username, "vhost": broker.vhost, "exchange": "amq.topic", "write": "^a",
        "read": "^b",
    }]
    # The password works: over AMQP in the granted vhost only, and on the management API.
    amqp_open(username, password, broker.vhost)
    assert amqp_refused(username, password, "/")
    assert amqp_refused(username, "wrong", broker.vhost)
    assert broker.whoami(username, password).json()["name"] == username
    assert password not in table_dump()
    assert password not in "".join(capfd.readouterr())  # the logs (and audit) never show it


def test_default_username_template_and_a_password_policy(rabbit: VaultHTTP, broker: Broker):
    policy = 'length = 24\nrule "charset" { charset = "abcdef" }'
    assert rabbit.post("sys/policies/password/hexish", {"policy": policy}).status_code == 204
    config = {**broker.connection, "username_template": "", "password_policy": "hexish"}
    assert rabbit.post("rabbitmq/config/connection", config).status_code == 204
    body = creds(rabbit)
    username = broker.track(body["data"]["username"])
    display, _, uuid = username.partition("-")
    assert display == rabbit.get("auth/token/lookup-self").json()["data"]["display_name"]
    assert len(uuid) == 36
    assert set(body["data"]["password"]) <= set("abcdef") and len(body["data"]["password"]) == 24
    amqp_open(username, body["data"]["password"], broker.vhost)
    config["password_policy"] = "missing"
    assert rabbit.post("rabbitmq/config/connection", config).status_code == 204
    reply = rabbit.get("rabbitmq/creds/app")
    assert (reply.status_code, reply.json()["errors"]) == (400, errors("no password policy found"))


def test_unknown_role(rabbit: VaultHTTP):
    reply = rabbit.get("rabbitmq/creds/nope")
    assert (reply.status_code, reply.json()) == (400, {"errors": ["unknown role: nope"]})
    assert rabbit.post("rabbitmq/creds/app").status_code == 405  # read only, as Vault


@pytest.mark.parametrize("field", ["vhosts", "vhost_topics"])
def test_a_failed_permission_deletes_the_user_and_leaves_no_lease(
    rabbit: VaultHTTP, broker: Broker, field: str, capfd: pytest.CaptureFixture[str]
):
    grant = {"vhosts": {"no-such-vhost": {"configure": ".*", "write": ".*", "read": ".*"}},
             "vhost_topics": {"no-such-vhost": {"amq.topic": {"write": ".*", "read": ".*"}}}}
    assert rabbit.post("rabbitmq/roles/broken",
                       {"tags": "x", field: json.dumps(grant[field])}).status_code == 204
    reply = rabbit.get("rabbitmq/creds/broken")
    assert (reply.status_code, reply.json()["errors"]) == (
        400, errors("Error 400 (bad_request): vhost_or_user_not_found"))
    assert broker.users() == set()
    assert leases(rabbit, "broken") == []
    assert broker.admin[1] not in "".join(capfd.readouterr())  # nor the admin's password


def test_a_bad_permission_pattern_is_rabbitmqs_reason(rabbit: VaultHTTP, broker: Broker):
    role = {"vhosts": json.dumps({broker.vhost: {"configure": "(", "write": "", "read": ""}})}
    assert rabbit.post("rabbitmq/roles/regex", role).status_code == 204
    reply = rabbit.get("rabbitmq/creds/regex")
    assert reply.status_code == 400
    assert reply.json()["errors"][0].startswith(
        '1 error occurred:\n\t* Error 400 (bad_request): ["invalid_regexp"')
    assert broker.users() == set()


def test_rabbitmq_down_is_a_400_and_leaves_no_lease(rabbit: VaultHTTP, broker: Broker):
    down = {**broker.connection, "connection_uri": f"http://127.0.0.1:{free_port()}",
            "verify_connection": False}
    assert rabbit.post("rabbitmq/config/connection", down).status_code == 204
    reply = rabbit.get("rabbitmq/creds/app")
    assert (reply.status_code, reply.json()["errors"]) == (
        400, errors("failed to create a new user with the generated credentials"))
    assert leases(rabbit) == []


def test_a_silent_rabbitmq_fails_the_request_in_seconds(rabbit: VaultHTTP, broker: Broker,
                                                        silent_port: int):
    silent = {**broker.connection, "connection_uri": f"http://127.0.0.1:{silent_port}",
              "verify_connection": False}
    assert rabbit.post("rabbitmq/config/connection", silent).status_code == 204
    started = time.monotonic()
    reply = rabbit.get("rabbitmq/creds/app")
    assert time.monotonic() - started < 10
    assert reply.status_code == 400 and leases(rabbit) == []


def test_an_unconfigured_mount_cannot_make_users(vault: VaultHTTP):
    assert vault.post("sys/mounts/rabbitmq", {"type": "rabbitmq"}).status_code == 204
    assert vault.post("rabbitmq/roles/r", {"tags": "x"}).status_code == 204
    reply = vault.get("rabbitmq/creds/r")
    assert (reply.status_code, reply.json()["errors"]) == (
        400, errors("failed to create a new user with the generated credentials"))


def test_revoke_deletes_the_user_even_when_it_is_gone_already(rabbit: VaultHTTP,
                                                              broker: Broker):
    first, second = creds(rabbit), creds(rabbit)
    assert rabbit.post("sys/leases/revoke", {"lease_id": first["lease_id"]}).status_code == 204
    assert broker.user(first["data"]["username"]) is None
    assert amqp_refused(first["data"]["username"], first["data"]["password"], broker.vhost)
    broker.delete(second["data"]["username"])  # it vanishes behind Vault's back
    assert rabbit.post("sys/leases/revoke", {"lease_id": second["lease_id"]}).status_code == 204
    assert leases(rabbit) == []


def test_revoke_prefix_revokes_every_user_of_the_role(rabbit: VaultHTTP, broker: Broker):
    names = {creds(rabbit)["data"]["username"] for _ in range(3)}
    assert rabbit.post("rabbitmq/roles/other", {"tags": "x"}).status_code == 204
    other = creds(rabbit, "other")["data"]["username"]
    assert broker.users() == names | {other}
    assert rabbit.post("sys/leases/revoke-prefix/rabbitmq/creds/app").status_code == 204
    assert broker.users() == {other} and leases(rabbit) == []


def test_a_failed_revoke_keeps_the_lease_until_rabbitmq_is_back(rabbit: VaultHTTP,
                                                               broker: Broker):
    body = creds(rabbit)
    down = {**broker.connection, "connection_uri": f"http://127.0.0.1:{free_port()}",
            "verify_connection": False}
    assert rabbit.post("rabbitmq/config/connection", down).status_code == 204
    reply = rabbit.post("sys/leases/revoke", {"lease_id": body["lease_id"]})
    assert reply.status_code == 400
    assert reply.json()["errors"][0].startswith("failed to revoke lease: could not delete user: ")
    assert len(leases(rabbit)) == 1
    assert rabbit.post("rabbitmq/config/connection", broker.connection).status_code == 204
    assert rabbit.post("sys/leases/revoke", {"lease_id": body["lease_id"]}).status_code == 204
    assert broker.users() == set()


def test_renew_extends_within_config_lease(rabbit: VaultHTTP):
    lease = {"ttl": "1h", "max_ttl": "2h"}
    assert rabbit.post("rabbitmq/config/lease", lease).status_code == 204
    body = creds(rabbit)
    assert body["lease_duration"] == 3600
    reply = rabbit.post("sys/leases/renew", {"lease_id": body["lease_id"], "increment": 600})
    assert (reply.status_code, reply.json()["lease_duration"]) == (200, 600)
    reply = rabbit.post("sys/leases/renew", {"lease_id": body["lease_id"], "increment": "3h"})
    assert reply.status_code == 200
    assert 7190 <= reply.json()["lease_duration"] <= 7200
    assert reply.json()["warnings"][0].startswith('TTL of "3h" exceeded the effective max_ttl')


def test_the_sweeper_revokes_expired_users(rabbit: VaultHTTP, broker: Broker):
    assert rabbit.post("rabbitmq/config/lease", {"ttl": "5s"}).status_code == 204
    body = creds(rabbit)
    assert sweep().revoked == 0
    assert sweep(10).revoked == 1
    assert broker.user(body["data"]["username"]) is None and leases(rabbit) == []


def test_calls_per_creds_and_revoke(rabbit: VaultHTTP, calls: Counter[str],
                                    monkeypatch: pytest.MonkeyPatch):
    """What one credential and its revocation cost: DynamoDB operations (the pipeline's
    and the lease's) and management API calls (user, one vhost, one topic grant)."""
    api: Counter[str] = Counter()
    original = management.Management._call

    def counting(self, method, path, *args, **kwargs):
        api[f"{method} {path.split('/')[0]}"] += 1
        return original(self, method, path, *args, **kwargs)

    monkeypatch.setattr(management.Management, "_call", counting)
    creds(rabbit)  # warm: the container has read the mount table and its policies
    calls.clear()
    api.clear()
    body = creds(rabbit)
    issued, issued_api = dict(calls), dict(api)
    calls.clear()
    api.clear()
    assert rabbit.post("sys/leases/revoke", {"lease_id": body["lease_id"]}).status_code == 204
    revoked, revoked_api = dict(calls), dict(api)
    print(f"creds: dynamodb {issued} management {issued_api}")
    print(f"revoke: dynamodb {revoked} management {revoked_api}")
    assert issued_api == {"PUT users": 1, "PUT permissions": 1, "PUT topic-permissions": 1}
    assert revoked_api == {"DELETE users": 1}
    # Measured: creds 1 BatchGetItem (token, role, config, lease config), 2 UpdateItem and
    # 1 TransactWriteItems (the lease); revoke 1 BatchGetItem, 2 GetItem (lease, config),
    # 2 Query and 1 TransactWriteItems.
    assert sum(issued.values()) <= 4 and sum(revoked.values()) <= 6
