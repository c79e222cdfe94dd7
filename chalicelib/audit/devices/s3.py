"""The ``s3`` device: records go through Kinesis Data Firehose into the audit bucket.

The delivery stream (``options.stream``, else the deployment's ``LAMBDAVAULT_AUDIT_STREAM``)
writes date-partitioned objects (``audit/year=…/month=…/day=…/``, see infra/) that Athena
reads as JSON lines. One ``PutRecord`` per record: the request record must be accepted
before the operation runs, so it cannot wait to be batched with the response record.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.audit import devices
from chalicelib.core import awsfaults
from chalicelib.settings import settings

if TYPE_CHECKING:
    from chalicelib.audit.table import AuditEntry

# Audit is fail-closed: a stalled Firehose must fail the request in seconds, not hang it
# until the Lambda times out (botocore's defaults: 60 s timeouts, 5 attempts). The policy
# of every AWS client of the runtime: 3 attempts, 2 s connect, 5 s read.
CLIENT_CONFIG = awsfaults.CLIENT_CONFIG


class Device(devices.Device):
    def __init__(self, entry: AuditEntry, context: devices.Context) -> None:
        super().__init__(entry, context)
        self.stream = entry.options.get("stream") or settings().audit_stream
        self._context = context

    def write(self, data: bytes) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        client = self._context.client("firehose", **CLIENT_CONFIG)
        try:
            client.put_record(DeliveryStreamName=self.stream, Record={"Data": data})
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "Unknown")
            raise devices.DeviceError(f'PutRecord to stream "{self.stream}": {code}') from None
        except BotoCoreError as error:
            name = type(error).__name__
            raise devices.DeviceError(f'PutRecord to stream "{self.stream}": {name}') from None
