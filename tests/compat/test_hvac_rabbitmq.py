"""rabbitmq through hvac's ``client.secrets.rabbitmq`` against `lambdavault server -dev`."""

from __future__ import annotations

import json
from collections.abc import Iterator

import hvac
import pytest
from hvac.exceptions import InvalidRequest

from tests import rabbitmq_support
from tests.compat.conftest import ROOT_TOKEN, Server, start_server, stop_server
from tests.rabbitmq_support import MANAGEMENT_URL, Broker, amqp_open, amqp_refused

pytestmark = pytest.mark.compat

broker = rabbitmq_support.broker


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[hvac.Client]:
    log = tmp_path_factory.mktemp("hvac-rabbitmq") / "server.log"
    server: Server = start_server(["-dev", f"-dev-root-token-id={ROOT_TOKEN}"], log)
    try:
        connected = hvac.Client(url=server.address, token=ROOT_TOKEN)
        connected.sys.enable_secrets_engine("rabbitmq")
        yield connected
    finally:
        stop_server(server)


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
