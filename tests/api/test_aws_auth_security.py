"""What the aws login refuses before anything leaves Lambdavault, and how it treats STS:
only the configured endpoint is ever called, with a deadline, and its answer is checked.

STS here is a scripted fake that records what it was sent, so a refused login can be
shown to have forwarded nothing.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib.auth.aws import sts_forward
from tests.aws_auth_support import (
    ACCOUNT,
    GCI_BODY,
    FakeSTS,
    Keys,
    login_body,
)
from tests.support import VaultHTTP


@pytest.fixture(scope="module", name="vault")
def module_cluster(module_vault: VaultHTTP) -> VaultHTTP:
    """One cluster for the module's tests (each mounts its engine afresh)."""
    return module_vault


KEYS = Keys("AKIAEXAMPLE", "secret-example")
USER_ARN = f"arn:aws:iam::{ACCOUNT}:user/app"


@pytest.fixture
def sts() -> Iterator[FakeSTS]:
    fake = FakeSTS()
    fake.identity(USER_ARN, "AIDAEXAMPLE")
    try:
        yield fake
    finally:
        fake.close()


@pytest.fixture
def aws_auth(vault: VaultHTTP, sts: FakeSTS) -> VaultHTTP:
    vault.delete("sys/auth/aws")  # the module's tests share a cluster
    assert vault.post("sys/auth/aws", {"type": "aws"}).status_code == 204
    vault.post("auth/aws/config/client", {"sts_endpoint": sts.url})
    reply = vault.post(
        "auth/aws/role/app",
        {"bound_iam_principal_arn": [USER_ARN, f"arn:aws:iam::{ACCOUNT}:role/deployer"],
         "resolve_aws_unique_ids": False},
    )  # fmt: skip
    assert reply.status_code == 204, reply.text
    return vault


def login(vault: VaultHTTP, **options: Any) -> Any:
    return vault.post("auth/aws/login", login_body(KEYS, role="app", **options), token="")


def refused(vault: VaultHTTP, sts: FakeSTS, **options: Any) -> str:
    reply = login(vault, **options)
    assert reply.status_code == 400, reply.text
    assert sts.received == [], "a refused request must not reach STS"
    return str(reply.json()["errors"][0])


def test_the_request_goes_to_the_configured_endpoint_as_signed(
    aws_auth: VaultHTTP, sts: FakeSTS
) -> None:
    reply = login(aws_auth)
    assert reply.status_code == 200, reply.text
    [(path, headers, body)] = sts.received
    assert path == "/" and body == GCI_BODY
    assert headers["Host"] == "sts.amazonaws.com"  # the host the client signed for
    assert headers["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/")


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example.com/",
        "https://iam.amazonaws.com/",
        "https://sts.amazonaws.com.evil.example/",
        "https://sts.amazonaws.com@evil.example.com/",
    ],
)
def test_a_request_addressed_elsewhere_is_refused(
    aws_auth: VaultHTTP, sts: FakeSTS, url: str
) -> None:
    message = refused(aws_auth, sts, url=url)
    assert "not addressed to STS" in message or message == "error parsing iam_request_url"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"body": "Action=AssumeRole&Version=2011-06-15&RoleArn=x&RoleSessionName=y"},
         "iam request body is invalid"),
        ({"body": "Action=ListUsers&Version=2010-05-08"}, "iam request body is invalid"),
        ({"body": GCI_BODY + "&Action=AssumeRole"}, "iam request body is invalid"),
        ({"body": GCI_BODY + "&RoleArn=x"}, "iam request body is invalid"),
        ({"body": "Action=GetCallerIdentity"}, "iam request body is invalid"),
        ({"url": "https://sts.amazonaws.com/?Action=AssumeRole"}, "invalid request"),
        ({"url": "https://sts.amazonaws.com/other"}, "invalid request"),
        ({"url": "http://sts.amazonaws.com/"}, "invalid request"),
        ({"method": "GET"}, "invalid iam_http_request_method; currently only 'POST' is supported"),
    ],
)  # fmt: skip
def test_anything_but_get_caller_identity_is_refused(
    aws_auth: VaultHTTP, sts: FakeSTS, options: dict[str, str], message: str
) -> None:
    assert refused(aws_auth, sts, **options) == message


def test_missing_and_malformed_fields(aws_auth: VaultHTTP, sts: FakeSTS) -> None:
    good = login_body(KEYS, role="app")
    for field in ("iam_http_request_method", "iam_request_url", "iam_request_body",
                  "iam_request_headers"):  # fmt: skip
        reply = aws_auth.post("auth/aws/login", {**good, field: ""}, token="")
        assert reply.status_code == 400 and reply.json()["errors"] == [f"missing {field}"]
    bad = aws_auth.post("auth/aws/login", {**good, "iam_request_url": "%%%"}, token="")
    assert bad.json()["errors"] == ["failed to base64 decode iam_request_url"]
    listed = aws_auth.post(
        "auth/aws/login", {**good, "iam_request_headers": {"Authorization": 5}}, token=""
    )
    assert listed.status_code == 400
    assert sts.received == []


def test_an_unsigned_request_is_refused(aws_auth: VaultHTTP, sts: FakeSTS) -> None:
    unsigned = {"Content-Type": ["application/x-www-form-urlencoded; charset=utf-8"]}
    body = {**login_body(KEYS, role="app"), "iam_request_headers": unsigned}
    reply = aws_auth.post("auth/aws/login", body, token="")
    assert reply.json()["errors"] == ["the request's Host header is not signed"]
    assert sts.received == []


def test_headers_may_be_a_json_object(aws_auth: VaultHTTP, sts: FakeSTS) -> None:
    assert login(aws_auth, base64_headers=False).status_code == 200


def test_the_host_header_must_match_the_url(aws_auth: VaultHTTP, sts: FakeSTS) -> None:
    message = refused(aws_auth, sts, unsigned_headers={"Host": "evil.example.com"})
    assert message == "the Host header does not match iam_request_url"


def test_x_amz_headers_must_be_allowed(aws_auth: VaultHTTP, sts: FakeSTS) -> None:
    extra = {"X-Amz-Target": "AWSSecurityTokenServiceV20110615.AssumeRole"}
    assert refused(aws_auth, sts, extra_signed=extra) == "invalid request header: X-Amz-Target"
    aws_auth.post("auth/aws/config/client", {"allowed_sts_header_values": "x-amz-target"})
    assert login(aws_auth, extra_signed=extra).status_code == 200


def test_the_server_id_header_must_be_present_right_and_signed(
    aws_auth: VaultHTTP, sts: FakeSTS
) -> None:
    aws_auth.post("auth/aws/config/client", {"iam_server_id_header_value": "vault.example.com"})
    prefix = "error validating X-Vault-AWS-IAM-Server-ID header: "
    assert refused(aws_auth, sts) == prefix + 'missing header "X-Vault-AWS-IAM-Server-ID"'
    assert refused(aws_auth, sts, header_value="other.example.com") == (
        prefix + 'expected "vault.example.com" but got "other.example.com"'
    )
    assert refused(aws_auth, sts, header_value="vault.example.com", sign_server_id=False) == (
        prefix + "vault header wasn't signed"
    )
    assert login(aws_auth, header_value="vault.example.com").status_code == 200


def test_sts_refusing_the_signature_is_a_400(aws_auth: VaultHTTP, sts: FakeSTS) -> None:
    sts.status, sts.content_type = 403, "text/xml"
    sts.body = (
        b"<ErrorResponse><Error><Type>Sender</Type><Code>SignatureDoesNotMatch</Code>"
        b"<Message>The request signature we calculated does not match</Message></Error>"
        b"</ErrorResponse>"
    )
    reply = login(aws_auth)
    assert reply.status_code == 400
    assert reply.json()["errors"] == [
        "error making upstream request: received error code 403 from STS: "
        "SignatureDoesNotMatch: The request signature we calculated does not match"
    ]
    assert len(sts.received) == 1  # a 4xx is not retried


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/html", b"<html>hi</html>"),
        ("text/xml", b"<GetCallerIdentityResponse><nope/></GetCallerIdentityResponse>"),
        ("text/xml", b"not xml"),
        ("application/json", b'{"GetCallerIdentityResponse": 1}'),
    ],
)
def test_an_unreadable_sts_answer_is_refused(
    aws_auth: VaultHTTP, sts: FakeSTS, content_type: str, body: bytes
) -> None:
    sts.content_type, sts.body = content_type, body
    reply = login(aws_auth)
    assert reply.status_code == 400
    assert reply.json()["errors"] == ["error making upstream request: error parsing STS response"]


def test_a_json_answer_is_read_too(aws_auth: VaultHTTP, sts: FakeSTS) -> None:
    sts.content_type = "application/json"
    sts.body = (
        b'{"GetCallerIdentityResponse": {"GetCallerIdentityResult": {"Arn": "'
        + f"arn:aws:sts::{ACCOUNT}:assumed-role/deployer/s1".encode()
        + b'", "UserId": "AROAEXAMPLE:s1", "Account": "' + ACCOUNT.encode() + b'"}}}'
    )
    reply = login(aws_auth, extra_signed={"Accept": "application/json"})
    assert reply.status_code == 200, reply.text
    assert reply.json()["auth"]["metadata"]["account_id"] == ACCOUNT


def test_an_unbound_principal_is_refused(aws_auth: VaultHTTP, sts: FakeSTS) -> None:
    sts.identity(f"arn:aws:iam::{ACCOUNT}:user/intruder", "AIDAINTRUDER")
    reply = login(aws_auth)
    assert reply.status_code == 400
    assert reply.json()["errors"] == [
        f'IAM Principal "arn:aws:iam::{ACCOUNT}:user/intruder" does not belong to the role "app"'
    ]


def test_sts_unreachable_fails_fast(aws_auth: VaultHTTP, sts: FakeSTS) -> None:
    sts.close()
    started = time.monotonic()
    reply = login(aws_auth)
    assert reply.status_code == 400
    assert reply.json()["errors"][0].startswith(
        "error making upstream request: error making request: STS is unreachable"
    )
    assert time.monotonic() - started < 5


def test_a_silent_sts_costs_its_timeout_not_a_hang(
    aws_auth: VaultHTTP, sts: FakeSTS, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sts_forward, "READ_TIMEOUT", 0.3)
    monkeypatch.setattr(sts_forward, "DEADLINE", 1.5)
    aws_auth.post("auth/aws/config/client", {"max_retries": 1})
    sts.stall = True
    started = time.monotonic()
    reply = login(aws_auth)
    assert reply.status_code == 400
    assert "STS is unreachable (ReadTimeoutError)" in reply.json()["errors"][0]
    assert time.monotonic() - started < 3
    assert len(sts.received) == 2  # max_retries=1: one retry


def test_use_sts_region_from_client_needs_a_region(aws_auth: VaultHTTP, sts: FakeSTS) -> None:
    aws_auth.post("auth/aws/config/client", {"use_sts_region_from_client": True})
    body = login_body(KEYS, role="app")
    headers = base64.b64encode(b'{"Authorization": ["AWS4-HMAC-SHA256 nothing"]}').decode()
    reply = aws_auth.post("auth/aws/login", {**body, "iam_request_headers": headers}, token="")
    assert reply.json()["errors"] == ["region missing from Authorization header"]
