"""rabbitmq through hvac's ``client.secrets.rabbitmq`` against `lambdavault server -dev`."""

from __future__ import annotations

import json

import hvac
import pytest
from hvac.exceptions import InvalidRequest

from tests import rabbitmq_support
from tests.compat.conftest import ROOT_TOKEN, Server
from tests.rabbitmq_support import MANAGEMENT_URL, Broker, amqp_open, amqp_refused

pytestmark = pytest.mark.compat

broker = rabbitmq_support.broker


@pytest.fixture(scope="module")
def client(module_dev_server: Server) -> hvac.Client:
    connected = hvac.Client(url=module_dev_server.address, token=ROOT_TOKEN)
    connected.sys.enable_secrets_engine("rabbitmq")
    return connected


def test_configure_roles_and_credentials(client: hvac.Client, broker: Broker) -> None:
    rabbitmq = client.secrets.rabbitmq
    with pytest.raises(InvalidRequest, match="API responded with a 401 Unauthorized"):
        rabbitmq.configure(MANAGEMENT_URL, broker.admin[0], "wrong")
    rabbitmq.configure(MANAGEMENT_URL, *broker.admin)
    rabbitmq.configure_lease(1800, 3600)
    vhosts = json.dumps({broker.vhost: {"configure": "", "write": ".*", "read": ".*"}})
    rabbitmq.create_role("hvac", tags="monitoring", vhosts=vhosts)
    assert rabbitmq.read_role("hvac")["data"]["vhosts"] == {
        broker.vhost: {"configure": "", "write": ".*", "read": ".*"}}
    body = rabbitmq.generate_credentials("hvac")
    username = broker.track(body["data"]["username"])
    assert body["lease_duration"] == 1800 and body["renewable"] is True
    assert broker.user(username)["tags"] == ["monitoring"]
    amqp_open(username, body["data"]["password"], broker.vhost)
    client.sys.revoke_lease(body["lease_id"])  # the API revokes synchronously
    assert broker.user(username) is None
    assert amqp_refused(username, body["data"]["password"], broker.vhost)
    rabbitmq.delete_role("hvac")
    with pytest.raises(InvalidRequest, match="unknown role: hvac"):
        rabbitmq.generate_credentials("hvac")
