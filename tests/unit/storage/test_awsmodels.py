"""The lean botocore loader serves exactly what botocore's own loader serves."""

from __future__ import annotations

import pytest
from botocore.exceptions import UnknownServiceError
from botocore.loaders import Loader
from botocore.session import get_session

from chalicelib.storage.awsmodels import LeanLoader, use_lean_loader

SERVICES = ["dynamodb", "kms", "firehose", "iam", "sts", "lambda"]
TYPES = ["service-2", "endpoint-rule-set-1"]


@pytest.fixture(scope="module")
def stock() -> Loader:
    return Loader()


@pytest.mark.parametrize("type_name", TYPES)
def test_service_names_match_botocore(stock: Loader, type_name: str) -> None:
    names = LeanLoader().list_available_services(type_name)
    listed = stock.list_available_services(type_name)
    for name in [*SERVICES, "no-such-service", "", "dynamodb/2012-08-10", "..", "."]:
        assert (name in names) == (name in listed), name
    assert list(names) == listed
    assert len(names) == len(listed) and names[0] == listed[0]


@pytest.mark.parametrize("service", SERVICES)
def test_models_match_botocore(stock: Loader, service: str) -> None:
    lean = LeanLoader()
    for type_name in TYPES:
        assert lean.load_service_model(service, type_name) == stock.load_service_model(
            service, type_name
        )
    for name in ["endpoints", "partitions", "_retry", "sdk-default-configuration"]:
        assert lean.load_data(name) == stock.load_data(name)


def test_unknown_service_is_refused_as_botocore_does() -> None:
    with pytest.raises(UnknownServiceError, match="dynamodb"):  # the known names are listed
        LeanLoader().load_service_model("no-such-service", "service-2")


def test_session_clients_are_built_with_it_once() -> None:
    session = use_lean_loader(get_session())
    loader = session.get_component("data_loader")
    assert isinstance(loader, LeanLoader)
    assert use_lean_loader(session).get_component("data_loader") is loader
    client = session.create_client("dynamodb", region_name="us-east-1")
    assert client.meta.service_model.operation_model("BatchGetItem").name == "BatchGetItem"
    assert client.meta.endpoint_url == "https://dynamodb.us-east-1.amazonaws.com"


def test_the_storage_session_has_it() -> None:
    from chalicelib.storage.dynamotable import botocore_session

    assert isinstance(botocore_session().get_component("data_loader"), LeanLoader)
