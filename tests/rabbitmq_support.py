"""The machine's RabbitMQ for the rabbitmq engine's tests: its management API (what the
engine drives and the tests inspect) and AMQP (where generated credentials prove they
work). `scripts/test-deps.sh` enables the management plugin.

Each test gets its own vhost and a unique username prefix, and everything it made is
deleted afterwards, so tests run side by side under pytest-xdist against one broker.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import pika
import pytest
import requests
from pika.exceptions import AMQPConnectionError

MANAGEMENT_URL = "http://127.0.0.1:15672"
AMQP_PORT = 5672
ADMIN = ("guest", "guest")
FIX = (
    "RabbitMQ with its management plugin is needed on 127.0.0.1 (AMQP 5672, HTTP 15672, "
    "guest/guest): start it with `rabbitmq-server -detached` and run scripts/test-deps.sh "
    "(it enables rabbitmq_management)"
)


def _api(method: str, path: str, **kwargs: Any) -> requests.Response:
    return requests.request(method, f"{MANAGEMENT_URL}/api/{path}", auth=ADMIN, timeout=10,
                            **kwargs)


def segment(value: str) -> str:
    return quote(value, safe="")


@dataclass
class Broker:
    """One test's corner of the broker: a fresh vhost, a username prefix, and an
    administrator of its own (a password no other text contains, to look for in logs)."""

    vhost: str
    prefix: str
    admin: tuple[str, str]
    created: set[str] = field(default_factory=set)

    @property
    def connection(self) -> dict[str, str]:
        """A config/connection body naming this broker, usernames under ``prefix``."""
        return {
            "connection_uri": MANAGEMENT_URL, "username": self.admin[0],
            "password": self.admin[1],
            "username_template": self.prefix + '{{ .RoleName }}-{{ random 12 }}',
        }

    def track(self, username: str) -> str:
        """Delete ``username`` after the test too (one made outside ``prefix``)."""
        self.created.add(username)
        return username

    def users(self) -> set[str]:
        names = {user["name"] for user in _api("GET", "users/").json()}
        return {n for n in names if n.startswith(self.prefix) or n in self.created}

    def user(self, name: str) -> dict[str, Any] | None:
        reply = _api("GET", f"users/{segment(name)}")
        return reply.json() if reply.status_code == 200 else None

    def permissions(self, name: str) -> list[dict[str, Any]]:
        return _api("GET", f"users/{segment(name)}/permissions").json()

    def topic_permissions(self, name: str) -> list[dict[str, Any]]:
        return _api("GET", f"users/{segment(name)}/topic-permissions").json()

    def whoami(self, name: str, password: str) -> requests.Response:
        return requests.get(f"{MANAGEMENT_URL}/api/whoami", auth=(name, password), timeout=10)

    def delete(self, username: str) -> None:
        _api("DELETE", f"users/{segment(username)}")

    def cleanup(self) -> None:
        for name in {*self.users(), self.admin[0]}:
            self.delete(name)
        _api("DELETE", f"vhosts/{segment(self.vhost)}")


def amqp_open(username: str, password: str, vhost: str) -> None:
    """An AMQP connection to ``vhost`` as ``username``, opened and closed (raises
    pika's AMQPConnectionError when refused)."""
    parameters = pika.ConnectionParameters(
        "127.0.0.1", AMQP_PORT, vhost, pika.PlainCredentials(username, password),
        connection_attempts=1, socket_timeout=5, blocked_connection_timeout=5,
    )
    pika.BlockingConnection(parameters).close()


def amqp_refused(username: str, password: str, vhost: str) -> bool:
    try:
        amqp_open(username, password, vhost)
    except AMQPConnectionError:
        return True
    return False


@pytest.fixture
def broker() -> Iterator[Broker]:
    """This test's vhost and user prefix; fails (never skips) without a broker."""
    try:
        reply = _api("GET", "overview")
    except requests.ConnectionError:
        pytest.fail(f"the RabbitMQ management API does not answer at {MANAGEMENT_URL}. {FIX}")
    if reply.status_code != 200:
        pytest.fail(f"the RabbitMQ management API answered {reply.status_code}. {FIX}")
    unique = uuid.uuid4().hex[:10]
    admin = (f"lva-{unique}", f"admin-pw-{uuid.uuid4().hex}")
    made = Broker(vhost=f"lv-{unique}", prefix=f"lvt-{unique}-", admin=admin)
    assert _api("PUT", f"vhosts/{segment(made.vhost)}").status_code in (201, 204)
    created = _api("PUT", f"users/{admin[0]}", json={"password": admin[1],
                                                     "tags": "administrator"})
    assert created.status_code in (201, 204)
    try:
        yield made
    finally:
        made.cleanup()


