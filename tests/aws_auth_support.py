"""Shared by the aws auth tests: signed GetCallerIdentity login bodies, IAM principals in
moto, STS as moto's server (sharing the in-process moto state) or as a scripted fake."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple

import pytest

from tests.support import REGION

GCI_BODY = "Action=GetCallerIdentity&Version=2011-06-15"
STS_URL = "https://sts.amazonaws.com/"
ACCOUNT = "123456789012"


class Keys(NamedTuple):
    access_key: str
    secret_key: str
    session_token: str | None = None


def login_body(
    keys: Keys,
    *,
    role: str = "",
    header_value: str | None = None,
    url: str = STS_URL,
    body: str = GCI_BODY,
    method: str = "POST",
    sign_server_id: bool = True,
    unsigned_headers: dict[str, str] | None = None,
    extra_signed: dict[str, str] | None = None,
    base64_headers: bool = True,
) -> dict[str, Any]:
    """The login fields hvac's iam_login sends, signed with botocore's SigV4 (as the
    bao CLI and our own clients do); knobs to bend every part of the request."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    headers.update(extra_signed or {})
    if header_value is not None and sign_server_id:
        headers["X-Vault-AWS-IAM-Server-ID"] = header_value
    request = AWSRequest(method=method, url=url, data=body, headers=headers)
    credentials = Credentials(keys.access_key, keys.secret_key, keys.session_token)
    SigV4Auth(credentials, "sts", REGION).add_auth(request)
    sent = {k: [v] for k, v in request.headers.items()}
    if header_value is not None and not sign_server_id:
        sent["X-Vault-AWS-IAM-Server-ID"] = [header_value]
    for name, value in (unsigned_headers or {}).items():
        sent[name] = [value]
    encoded: Any = sent
    if base64_headers:
        encoded = base64.b64encode(json.dumps(sent).encode()).decode()
    fields = {
        "iam_http_request_method": method,
        "iam_request_url": base64.b64encode(url.encode()).decode(),
        "iam_request_body": base64.b64encode(body.encode()).decode(),
        "iam_request_headers": encoded,
    }
    if role:
        fields["role"] = role
    return fields


class Principals:
    """IAM users and assumed roles in moto (the in-process mock)."""

    def __init__(self) -> None:
        import boto3

        self.iam = boto3.client("iam", region_name=REGION)
        self.sts = boto3.client("sts", region_name=REGION)

    def user(self, name: str, path: str = "/") -> tuple[str, Keys]:
        arn = self.iam.create_user(UserName=name, Path=path)["User"]["Arn"]
        key = self.iam.create_access_key(UserName=name)["AccessKey"]
        return arn, Keys(key["AccessKeyId"], key["SecretAccessKey"])

    def delete_user(self, name: str) -> None:
        for key in self.iam.list_access_keys(UserName=name)["AccessKeyMetadata"]:
            self.iam.delete_access_key(UserName=name, AccessKeyId=key["AccessKeyId"])
        self.iam.delete_user(UserName=name)

    def role(self, name: str) -> str:
        trust = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"},
                           "Action": "sts:AssumeRole"}],
        }  # fmt: skip
        return self.iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))[
            "Role"
        ]["Arn"]

    def assume(self, role_arn: str, session: str) -> Keys:
        creds = self.sts.assume_role(RoleArn=role_arn, RoleSessionName=session)["Credentials"]
        return Keys(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])


@contextmanager
def moto_server() -> Iterator[str]:
    """moto in server mode: it answers from the same in-process state as mock_aws, so
    STS there knows the access keys a test created through the mock."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


class FakeSTS:
    """A scripted STS: answers every POST with ``status``/``content_type``/``body`` and
    records what it was sent (path, headers, body)."""

    def __init__(self) -> None:
        self.status = 200
        self.content_type = "text/xml"
        self.body = b""
        self.received: list[tuple[str, dict[str, str], str]] = []
        self.stall = False
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                fake.received.append(
                    (self.path, dict(self.headers), self.rfile.read(length).decode())
                )
                if fake.stall:
                    threading.Event().wait(5)
                    return
                self.send_response(fake.status)
                self.send_header("Content-Type", fake.content_type)
                self.send_header("Content-Length", str(len(fake.body)))
                self.end_headers()
                self.wfile.write(fake.body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def identity(self, arn: str, user_id: str, account: str = ACCOUNT) -> None:
        self.status, self.content_type = 200, "text/xml"
        self.body = (
            '<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
            f"<GetCallerIdentityResult><Arn>{arn}</Arn><UserId>{user_id}</UserId>"
            f"<Account>{account}</Account></GetCallerIdentityResult>"
            "<ResponseMetadata><RequestId>r</RequestId></ResponseMetadata>"
            "</GetCallerIdentityResponse>"
        ).encode()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake_sts() -> Iterator[FakeSTS]:
    fake = FakeSTS()
    try:
        yield fake
    finally:
        fake.close()
