"""AWS failures as Vault reports them: "<action>: <code>: <message>", 502 when throttled."""

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from chalicelib.core.errors import VaultError
from chalicelib.engines.aws.errors import reported_as


def client_error(code: str, message: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, "CreateUser")


@pytest.mark.parametrize(
    ("error", "status", "message"),
    [
        (
            client_error("EntityAlreadyExists", "User with name u already exists."),
            400, "Error creating IAM user: EntityAlreadyExists: User with name u already exists.",
        ),
        (client_error("Throttling", "Rate exceeded"), 502, "upstream rate limited"),
        (
            EndpointConnectionError(endpoint_url="http://127.0.0.1:1"),
            400, 'Error creating IAM user: Could not connect to the endpoint URL: "http://127.0.0.1:1"',
        ),
    ],
)
def test_reported_as(error, status, message):
    with pytest.raises(VaultError) as raised, reported_as("Error creating IAM user"):
        raise error
    assert (raised.value.status, raised.value.message) == (status, message)
