"""Run by tests/infra/test_package.py as ``python -I -S package_probe.py SPEC_JSON``: proves,
from an unpacked deployment zip alone, that the functions' code loads and works there.

SPEC_JSON: {"root": the unpacked zip, "handlers": app attribute names from sam.yaml,
"modules": third-party modules the shipped code imports, "services": botocore services}.
Prints one JSON report; exits non-zero on the first failure (its traceback on stderr).
"""

import importlib
import json
import os
import pkgutil
import sys


class Sent(Exception):
    """Raised by the before-send hook: the request was built and signed, nothing is sent."""


def _isolated(root: str) -> None:
    assert sys.flags.isolated and sys.flags.no_site, "run with python -I -S"
    sys.path.insert(0, root)
    leaks = [path for path in sys.path if "site-packages" in path]
    assert not leaks, f"site-packages on sys.path: {leaks}"


def _handlers(names: list[str]) -> list[str]:
    import app

    assert type(app.app).__name__ == "Chalice"
    for name in names:
        assert callable(getattr(app, name)), name
    return names


class _Context:
    aws_request_id = "probe"
    function_name = "APIHandler"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:APIHandler"
    log_group_name = log_stream_name = "probe"


def _api_handler_serves_the_ui() -> str:
    """The API function as Lambda calls it (a REST API event through Chalice's dispatch), on
    a route that needs no AWS: the web UI's page, from the zip's files."""
    import app

    request_context = {
        "resourcePath": "/ui/{proxy+}", "httpMethod": "GET", "path": "/api/ui/vault/auth",
        "requestId": "probe", "stage": "api", "identity": {"sourceIp": "127.0.0.1"},
    }  # fmt: skip
    event = {
        "resource": "/ui/{proxy+}", "path": "/ui/vault/auth", "httpMethod": "GET",
        "headers": {"Accept": "text/html"}, "multiValueHeaders": {"Accept": ["text/html"]},
        "queryStringParameters": None, "multiValueQueryStringParameters": None,
        "pathParameters": {"proxy": "vault/auth"}, "stageVariables": None,
        "requestContext": request_context, "body": None, "isBase64Encoded": False,
    }  # fmt: skip
    answer = app.app(event, _Context())
    assert answer["statusCode"] == 200, answer
    return str(answer["headers"]["Content-Type"])


def _chalicelib_modules() -> int:
    import chalicelib

    names = [info.name for info in pkgutil.walk_packages(chalicelib.__path__, "chalicelib.")]
    for name in names:
        importlib.import_module(name)
    return len(names)


def _stop(request: object, **_: object) -> None:
    raise Sent(getattr(request, "url", ""))


def _clients(services: list[str]) -> dict[str, dict[str, object]]:
    """Each client from the storage layer's session (as the functions build them), its
    paginators, and one call each up to the wire: endpoint rules, serialising, signing."""
    from chalicelib.storage.dynamotable import botocore_session

    session = botocore_session()
    session.register("before-send", _stop)
    report: dict[str, dict[str, object]] = {}
    for service in services:
        client = session.create_client(service, region_name="eu-west-1")
        methods = sorted(client.meta.method_to_api_mapping)
        paginated = [client.get_paginator(m) for m in methods if client.can_paginate(m)]
        try:
            getattr(client, _no_input_operation(client))()
        except Sent as done:
            report[service] = {"url": str(done), "paginators": len(paginated)}
    return report


def _no_input_operation(client: object) -> str:
    """An operation without required input (ListX, DescribeLimits, GetCallerIdentity)."""
    model = client.meta.service_model  # type: ignore[attr-defined]
    mapping = client.meta.method_to_api_mapping  # type: ignore[attr-defined]
    for method, api in sorted(mapping.items()):
        shape = model.operation_model(api).input_shape
        if api.startswith(("List", "Describe", "Get")) and not (shape and shape.required_members):
            return method
    raise AssertionError(f"{model.service_name}: no operation without input")


def _natives() -> dict[str, str]:
    """The compiled extensions the functions use, once each."""
    import io

    import bcrypt
    import httptools
    import orjson
    import psycopg
    import pybase64
    from aws_lambda_powertools.logging.logger import Logger
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from chalicelib.policy.hcl_parser import parse_hcl

    key = AESGCM.generate_key(bit_length=256)
    assert AESGCM(key).decrypt(b"0" * 12, AESGCM(key).encrypt(b"0" * 12, b"x", None), None)
    assert bcrypt.checkpw(b"pw", bcrypt.hashpw(b"pw", bcrypt.gensalt(4)))
    assert parse_hcl('path "secret/*" { capabilities = ["read"] }')
    written = io.StringIO()
    Logger(service="probe", stream=written).warning("packaged")
    assert orjson.loads(written.getvalue())["message"] == "packaged"
    body: list[bytes] = []
    callbacks = type("Answer", (), {"on_body": staticmethod(body.append)})
    parser = httptools.HttpResponseParser(callbacks)
    parser.feed_data(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
    return {
        "httptools": f"{parser.get_status_code()} {b''.join(body).decode()}",
        "psycopg": psycopg.pq.__impl__,
        "orjson": orjson.dumps({"a": 1}).decode(),
        "pybase64": pybase64.b64encode(b"x").decode(),
    }


def main() -> int:
    spec = json.loads(sys.argv[1])
    _isolated(spec["root"])
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_REGION="eu-west-1",
        AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull,
    )
    report = {
        "handlers": _handlers(spec["handlers"]),
        "ui": _api_handler_serves_the_ui(),
        "chalicelib_modules": _chalicelib_modules(),
        "modules": [importlib.import_module(name).__name__ for name in spec["modules"]],
        "clients": _clients(spec["services"]),
        "natives": _natives(),
        "version": importlib.import_module("chalicelib.version").lambdavault_version(),
        "outside_root": sorted(
            name for name, module in sys.modules.items()
            if (getattr(module, "__file__", None) or "").find("site-packages") >= 0
        ),
    }
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
