"""The AWS side of ``lambdavault server -dev``: moto in server mode, the deployment's
resources inside it, the environment the Lambda code reads, and periodic background jobs.

In AWS the resources come from infra/ (CloudFormation) and schedules from EventBridge; here
the same names are created in moto so the unchanged Lambda code finds them.
"""

from __future__ import annotations

import http.client
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, MutableMapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from typing import Any

from chalicelib.observability import logger

__all__ = [
    "AwsEmulator",
    "BackgroundTasks",
    "DevEnvironment",
    "DevResources",
    "apply_environ",
    "create_resources",
    "dev_environ",
    "dev_environment",
    "firehose_keys_as_aws",
]

# moto accepts any credentials; these fixed ones also keep a developer's real keys away
# from the emulator and every request away from real AWS.
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}
# moto's default account: the ARNs below must name it for moto to resolve them.
MOTO_ACCOUNT_ID = "123456789012"
# Firehose requires an error prefix whenever the prefix uses !{timestamp:…} expressions.
AUDIT_PREFIX = "audit/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/"
AUDIT_ERROR_PREFIX = "audit-errors/!{firehose:error-output-type}/year=!{timestamp:yyyy}/"


@dataclass(frozen=True, slots=True)
class DevResources:
    """Names of the deployment's AWS resources, as the dev server creates them."""

    table_name: str = "lambdavault"
    kms_alias: str = "alias/lambdavault"
    audit_bucket: str = "lambdavault-audit"
    audit_stream: str = "lambdavault-audit"
    region: str = "us-east-1"
    # Delivery streams: <audit_stream>, <audit_stream>-2, … (infra/'s AuditStreams).
    audit_streams: int = 2


@dataclass(frozen=True, slots=True)
class DevEnvironment:
    """A running emulator with the resources created and the environment pointing at it."""

    endpoint_url: str
    resources: DevResources


class AwsEmulator:
    """moto in server mode on a loopback port, so boto3 and ``aws`` can inspect it too."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self._server: Any = None

    @property
    def endpoint_url(self) -> str:
        host, port = self._server.get_host_and_port()
        return f"http://{host}:{port}"

    def start(self) -> str:
        """Start moto and return its endpoint URL; port 0 picks a free port."""
        from moto.server import ThreadedMotoServer  # heavy: only the dev server needs it

        # Werkzeug logs every request at INFO unless its logger already has a level.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        firehose_keys_as_aws()
        self._server = ThreadedMotoServer(ip_address=self.host, port=self.port, verbose=False)
        self._server.start()
        # moto keeps its state in the process, not the server: start from an empty account
        # even if an earlier emulator (or mock_aws) in this process left resources behind.
        host, port = self._server.get_host_and_port()
        connection = http.client.HTTPConnection(host, port, timeout=10)
        try:
            connection.request("POST", "/moto-api/reset")
            connection.getresponse().read()
        finally:
            connection.close()
        return self.endpoint_url

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None


def firehose_keys_as_aws(set_attribute: Callable[[Any, str, Any], None] = setattr) -> None:
    """Make moto's Firehose name its S3 objects as AWS does (``set_attribute`` may be a test's
    monkeypatch). moto keeps ``!{timestamp:…}`` expressions literally and adds its default
    ``YYYY/MM/DD/HH/``; AWS evaluates them, and sys/audit-query lists the evaluated days.
    """
    import uuid
    from datetime import UTC, datetime

    from moto.firehose.models import FirehoseBackend

    from chalicelib.audit.s3keys import evaluate

    original = FirehoseBackend._format_s3_object_path
    if getattr(original, "as_aws", False):
        return

    def object_path(stream: str, version: str, prefix: str) -> str:
        if "!{" not in prefix:
            return str(original(stream, version, prefix))
        now = datetime.now(UTC)
        return f"{evaluate(prefix, now)}{stream}-{version}-{now:%Y-%m-%d-%H-%M-%S}-{uuid.uuid4()}"

    object_path.as_aws = True  # type: ignore[attr-defined]
    set_attribute(FirehoseBackend, "_format_s3_object_path", staticmethod(object_path))


def dev_environ(endpoint_url: str, resources: DevResources) -> dict[str, str]:
    """The environment variables the Lambda code reads (see ``chalicelib.settings``)."""
    return {
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_REGION": resources.region,
        "AWS_DEFAULT_REGION": resources.region,
        **FAKE_CREDENTIALS,
        "LAMBDAVAULT_TABLE": resources.table_name,
        "LAMBDAVAULT_KMS_KEY_ID": resources.kms_alias,
        "LAMBDAVAULT_AUDIT_BUCKET": resources.audit_bucket,
        "LAMBDAVAULT_AUDIT_STREAM": resources.audit_stream,
        "LAMBDAVAULT_AUDIT_STREAMS": str(resources.audit_streams),
        "LAMBDAVAULT_DEV": "true",
    }


def apply_environ(values: dict[str, str], environ: MutableMapping[str, str] = os.environ) -> None:
    """Set ``values`` in the environment and drop the settings cached from the old one."""
    from chalicelib.settings import settings

    environ.update(values)
    settings.cache_clear()


def create_resources(resources: DevResources, endpoint_url: str) -> None:
    """Create the table, KMS key and alias, audit bucket and Firehose streams in the emulator.

    Expects the environment from ``dev_environ`` to be applied: the table is created by the
    storage layer's own ``create_table``, which reads the settings.
    """
    import boto3

    from chalicelib.audit.devices.s3 import numbered_streams
    from chalicelib.storage.dynamotable import create_table

    create_table(resources.table_name)

    def client(service: str) -> Any:
        return boto3.client(service, endpoint_url=endpoint_url, region_name=resources.region)

    _create_kms_key(client("kms"), resources.kms_alias)
    client("s3").create_bucket(Bucket=resources.audit_bucket)
    role_arn = _create_firehose_role(client("iam"), resources.audit_stream)
    firehose = client("firehose")
    for name in numbered_streams(resources.audit_stream, resources.audit_streams):
        _create_audit_stream(firehose, replace(resources, audit_stream=name), role_arn)


def _create_kms_key(kms: Any, alias: str) -> None:
    key = kms.create_key(
        Description="Lambdavault root key wrapping (dev)",
        KeySpec="SYMMETRIC_DEFAULT",
        KeyUsage="ENCRYPT_DECRYPT",
    )
    kms.create_alias(AliasName=alias, TargetKeyId=key["KeyMetadata"]["KeyId"])


def _create_firehose_role(iam: Any, stream: str) -> str:
    trust = (
        '{"Version":"2012-10-17","Statement":[{"Effect":"Allow",'
        '"Principal":{"Service":"firehose.amazonaws.com"},"Action":"sts:AssumeRole"}]}'
    )
    role = iam.create_role(RoleName=f"{stream}-firehose", AssumeRolePolicyDocument=trust)
    return str(role["Role"]["Arn"])


def _create_audit_stream(firehose: Any, resources: DevResources, role_arn: str) -> None:
    """The stream ``resources.audit_stream``; one that exists already is kept."""
    with suppress(firehose.exceptions.ResourceInUseException):
        firehose.create_delivery_stream(
            DeliveryStreamName=resources.audit_stream,
            DeliveryStreamType="DirectPut",
            ExtendedS3DestinationConfiguration={
                "RoleARN": role_arn,
                "BucketARN": f"arn:aws:s3:::{resources.audit_bucket}",
                "Prefix": AUDIT_PREFIX,
                "ErrorOutputPrefix": AUDIT_ERROR_PREFIX,
                "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 60},
                "CompressionFormat": "UNCOMPRESSED",
            },
        )


@contextmanager
def dev_environment(
    host: str = "127.0.0.1", port: int = 0, resources: DevResources | None = None
) -> Iterator[DevEnvironment]:
    """Start moto, point the environment at it, create the resources; stop moto on exit.

    The environment is left pointing at the stopped emulator: the process is ending.
    """
    resources = resources or DevResources()
    emulator = AwsEmulator(host, port)
    endpoint_url = emulator.start()
    try:
        apply_environ(dev_environ(endpoint_url, resources))
        create_resources(resources, endpoint_url)
        yield DevEnvironment(endpoint_url=endpoint_url, resources=resources)
    finally:
        emulator.stop()


Task = tuple[float, Callable[[], object]]


class BackgroundTasks:
    """Periodic jobs on one daemon thread: the dev server's stand-in for EventBridge schedules.

    Each job first runs one interval after ``start`` (as a ``rate()`` schedule does). A
    failing job is logged and retried at its next interval; it never stops the others. With
    ``lock``, a job runs while holding it, so it never overlaps a request invocation (Lambda
    runs each scheduled invocation in a container of its own).
    """

    def __init__(self, tasks: Sequence[Task], lock: threading.Lock | None = None) -> None:
        for interval, _ in tasks:
            if interval <= 0:
                raise ValueError(f"a background task interval must be positive, not {interval}")
        self.tasks = tuple(tasks)
        self._lock = lock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if not self.tasks or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="lambdavault-tasks", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop scheduling; a job already running may finish within ``timeout``."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        now = time.monotonic()
        due = [now + interval for interval, _ in self.tasks]
        while not self._stop.wait(max(0.0, min(due) - time.monotonic())):
            for index, (interval, job) in enumerate(self.tasks):
                now = time.monotonic()
                if due[index] <= now:
                    self._run_job(job)
                    due[index] += interval
                    if due[index] <= time.monotonic():
                        # Skip missed runs rather than bursting to catch up after a slow job.
                        due[index] = time.monotonic() + interval

    def _run_job(self, job: Callable[[], object]) -> None:
        try:
            if self._lock is None:
                job()
            else:
                with self._lock:
                    job()
        except Exception:
            logger.exception("background task failed", task=getattr(job, "__name__", repr(job)))
