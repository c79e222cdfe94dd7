"""rabbitmq through the real `bao` CLI, side by side with OpenBao 2.7.2's `bao server -dev`
against the same RabbitMQ: `bao secrets enable rabbitmq`, `bao write
rabbitmq/config/connection`, roles, `bao read rabbitmq/creds/...` (both users log in over
AMQP) and `bao lease renew/revoke`."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from tests import rabbitmq_support
from tests.compat.conftest import Server
from tests.compat.test_bao_userpass import same, same_words
from tests.rabbitmq_support import Broker, amqp_open, amqp_refused
from tests.support import free_port

pytestmark = pytest.mark.compat

broker = rabbitmq_support.broker


@pytest.fixture
def both(dev_server: Server, openbao_dev: Server, broker: Broker) -> list[Server]:
    servers = [dev_server, openbao_dev]
    for server in servers:
        server.bao("secrets", "disable", "rabbitmq")  # the OpenBao server is shared
        server.bao("secrets", "enable", "rabbitmq")
    return servers


def _connection(broker: Broker, **overrides: str) -> list[str]:
    return [f"{k}={v}" for k, v in {**broker.connection, **overrides}.items()]


def _role(broker: Broker) -> list[str]:
    vhosts = {broker.vhost: {"configure": ".*", "write": ".*", "read": ".*"}}
    topics = {broker.vhost: {"amq.topic": {"write": ".*", "read": ".*"}}}
    return ["tags=management", f"vhosts={json.dumps(vhosts)}", f"vhost_topics={json.dumps(topics)}"]


def test_configuration_and_roles_match_openbao(both: list[Server], broker: Broker) -> None:
    same(both, "write", "rabbitmq/config/connection", *_connection(broker))
    same(both, "read", "rabbitmq/config/connection")  # write only: 405 on both
    same(both, "write", "rabbitmq/config/connection", "connection_uri=x")
    same(both, "read", "rabbitmq/config/lease")
    same(both, "write", "rabbitmq/config/lease", "ttl=1h", "max_ttl=2h")
    same(both, "read", "-format=json", "rabbitmq/config/lease")
    same(both, "write", "rabbitmq/roles/app", *_role(broker))
    same(both, "read", "-format=json", "rabbitmq/roles/app")
    same(both, "write", "rabbitmq/roles/admin", "tags=administrator")
    same(both, "read", "-format=json", "rabbitmq/roles/admin")
    same(both, "list", "-format=json", "rabbitmq/roles")
    for bad in ("vhosts=not json", "vhosts=[1]", 'vhosts={"/": {"read": true}}',
                'vhost_topics={"v": []}'):
        same(both, "write", "rabbitmq/roles/bad", "tags=t", bad)
    same(both, "write", "rabbitmq/roles/bad", "tags=")
    same(both, "read", "rabbitmq/creds/nope")
    same(both, "delete", "rabbitmq/roles/admin")
    same(both, "list", "-format=json", "rabbitmq/roles")


def test_failed_verification_says_what_openbao_says(both: list[Server], broker: Broker) -> None:
    """OpenBao answers 500 here, we answer 400: the same words, another code."""
    port = free_port()
    for params in (_connection(broker, password="wrong"),
                   _connection(broker, connection_uri=f"http://127.0.0.1:{port}")):
        same_words(both, "write", "rabbitmq/config/connection", *params)


def _creds(server: Server) -> dict[str, Any]:
    return server.bao("read", "-format=json", "rabbitmq/creds/app").json()  # type: ignore[return-value]


def test_creds_log_in_and_leases_revoke_like_openbao(both: list[Server], broker: Broker) -> None:
    for server in both:
        server.bao("write", "rabbitmq/config/connection", *_connection(broker))
        server.bao("write", "rabbitmq/config/lease", "ttl=1h", "max_ttl=2h")
        server.bao("write", "rabbitmq/roles/app", *_role(broker))
    issued = [_creds(server) for server in both]
    for body in issued:
        assert body["lease_id"].startswith("rabbitmq/creds/app/")
        assert (body["lease_duration"], body["renewable"]) == (3600, True)
        assert sorted(body["data"]) == ["password", "username"]
        assert body["data"]["username"].startswith(broker.prefix + "app-")
        assert len(body["data"]["password"]) == 36
        amqp_open(body["data"]["username"], body["data"]["password"], broker.vhost)
    renewed = [server.bao("lease", "renew", "-format=json", "-increment=30m", body["lease_id"])
               .json() for server, body in zip(both, issued, strict=True)]
    assert [r["lease_duration"] for r in renewed] == [1800, 1800]  # type: ignore[index]
    ours, theirs = issued
    both[0].bao("lease", "revoke", "-sync", ours["lease_id"])
    both[1].bao("lease", "revoke", "-sync", theirs["lease_id"])
    assert broker.users() == set()
    assert amqp_refused(ours["data"]["username"], ours["data"]["password"], broker.vhost)
    # Without -sync the revocation is queued; the dev server's sweeper deletes the user.
    queued = _creds(both[0])
    assert "queued" in both[0].bao("lease", "revoke", queued["lease_id"]).out.lower()
    for server in both:
        for _ in range(2):
            _creds(server)
        server.bao("lease", "revoke", "-sync", "-prefix", "rabbitmq/creds/app")
    deadline = time.monotonic() + 30
    while broker.users() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert broker.users() == set()
    same(both, "list", "sys/leases/lookup/rabbitmq/creds/app/")
