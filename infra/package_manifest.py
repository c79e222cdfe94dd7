"""What the Lambda deployment zip keeps: the one list `make package` prunes by.

`chalice package` bundles every distribution requirements.txt pulls in, chalice's
command-line dependencies and botocore's ~440 service models included. The functions
import a small part of that. Each entry here says what goes and why; infra/prune.py
applies it and tests/infra/test_package.py checks the result (every import the shipped
code makes resolves, every client below builds, from the unpacked zip alone).

To call a new AWS service from the functions, add it to ``BOTOCORE_SERVICES``.
"""

from __future__ import annotations

# Distributions removed whole (every file their RECORD lists), by normalised name.
DROPPED_DISTRIBUTIONS: dict[str, str] = {
    # chalice's command line (deploy, package, new-project), never its runtime chalice.app
    **dict.fromkeys(
        ("click", "pip", "setuptools", "wheel", "packaging", "pyyaml", "inquirer", "blessed",
         "jinxed", "wcwidth", "readchar", "editor", "runs", "xmod"),
        "a dependency of chalice's command line only",
    ),
    # Runtime code reaches AWS through botocore sessions (chalicelib.core.awsclient, the
    # storage and KMS clients); only the CLI and chalicelib.clients import boto3.
    "boto3": "not imported by the functions (botocore clients only)",
    "s3transfer": "boto3's dependency",
    "pycparser": "cffi's C parser, for building bindings, never used by compiled ones",
}

# Distributions cut down to the listed files and folders (paths relative to the zip root).
KEPT_PARTS: dict[str, tuple[str, ...]] = {
    # Compiled bindings load only cffi's backend; the cffi package builds new ones.
    "cffi": ("_cffi_backend.",),
    # chalice/__init__.py imports chalice.app only, and chalice.app only the standard library.
    "chalice": ("chalice/__init__.py", "chalice/app.py"),
    # chalicelib.observability imports Logger (which pulls in the package's __init__, its
    # Metrics and Tracer) and, with tracing on, Tracer; never the event handler or utilities.
    "aws_lambda_powertools": tuple(
        f"aws_lambda_powertools/{part}"
        for part in (
            "__init__.py", "package_logger.py", "exceptions/", "logging/", "metrics/",
            "middleware_factory/", "shared/", "tracing/", "warnings/",
            "utilities/__init__.py", "utilities/jmespath_utils/",
        )
    ),
}

# Folders and files no function imports or reads, inside kept distributions and our own code.
DROPPED_PATHS: dict[str, str] = {
    # The `lambdavault` CLI and the client-side helpers (hvac adapters, a Powertools
    # parameters provider) run on users' machines, never in a function.
    "chalicelib/cli/": "the lambdavault command line, not a Lambda entry point",
    "chalicelib/clients/": "client-side helpers (hvac, requests, boto3)",
    # The database plugin's redis.Redis never calls the Redis Stack modules' commands
    # (r.ft(), r.json(), ...) nor builds a multi-database failover client.
    **dict.fromkeys(
        ("redis/commands/bf/", "redis/commands/json/", "redis/commands/search/",
         "redis/commands/timeseries/", "redis/commands/vectorset/", "redis/multidb/",
         "redis/asyncio/multidb/", "redis/http/", "redis/asyncio/http/"),
        "Redis Stack module commands and the multi-database client",
    ),
    "ldap3/protocol/schemas/": "offline server schemas; directory.py connects get_info=NONE",
    "dateutil/zoneinfo/dateutil-zoneinfo.tar.gz": "a tz database copy; Lambda has the system's",
}

# The AWS services the functions call (storage, seal, audit devices and audit queries, the
# aws secrets engine and aws auth method). Every other service model is removed.
BOTOCORE_SERVICES: tuple[str, ...] = ("dynamodb", "firehose", "iam", "kms", "s3", "sts")

# botocore/data files every client needs (endpoints, partitions, defaults, legacy retries).
BOTOCORE_SHARED_DATA: tuple[str, ...] = (
    "_retry.json", "endpoints.json", "partitions.json", "sdk-default-configuration.json",
)  # fmt: skip

# Per kept service, in its newest API version only: the model, its extras, the endpoint
# rules, and paginators (the aws engine pages through IAM, audit readback through S3).
# Examples and waiters are never loaded by the functions.
BOTOCORE_MODEL_FILES: tuple[str, ...] = (
    "service-2", "service-2.sdk-extras", "endpoint-rule-set-1", "paginators-1",
    "paginators-1.sdk-extras",
)  # fmt: skip

# What stays in a kept distribution's .dist-info: METADATA answers importlib.metadata
# (psycopg, redis and dnspython read versions at run time) and the licences travel with
# the code. RECORD and the rest describe an installation that pruning changed.
DIST_INFO_KEPT_FILES: tuple[str, ...] = ("METADATA",)
LICENCE_PREFIXES: tuple[str, ...] = ("licenses/", "LICENSE", "LICENCE", "COPYING", "NOTICE")

# Files no function reads, wherever they are: type stubs, typing markers, stale bytecode
# (everything is compiled again), Cython sources beside their compiled modules (httptools),
# and wheel `.data` folders (scripts chalice left unpacked).
DROPPED_SUFFIXES: tuple[str, ...] = (".pyi", "/py.typed", ".pyc", ".pyx", ".pxd")
DROPPED_TOP_LEVEL_GLOB = "*.data"

# Where sources stay beside their bytecode: our own code, so that a traceback logged in
# CloudWatch shows the failing line. Every other module ships as bytecode only.
SOURCES_KEPT: tuple[str, ...] = ("app.py", "chalicelib/")
