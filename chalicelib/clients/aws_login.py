"""Log in to Lambdavault's aws auth method as the running function's own IAM role.

No token is configured anywhere: the function's credentials (boto3's default chain; in
Lambda, its execution role) sign an sts:GetCallerIdentity request, which Lambdavault
forwards to STS to learn who signed it. The token that login returns is kept for the
container's life (module-level, keyed by target, mount and role; thread-safe), renewed
with ``auth/token/renew-self`` once two thirds of its TTL have passed, and replaced by a
fresh login when renewal fails or the token nears its max TTL.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, NamedTuple

__all__ = ["AwsRoleLogin", "cached_token", "forget", "login_fields"]

# What hvac's iam_login signs: STS's global endpoint, which signs in us-east-1.
STS_URL = "https://sts.amazonaws.com/"
_GLOBAL_REGION = "us-east-1"
_BODY = "Action=GetCallerIdentity&Version=2011-06-15"
SERVER_ID_HEADER = "X-Vault-AWS-IAM-Server-ID"
# Renew once this share of the TTL has passed; a renewal that grants less than the
# remaining share means the max TTL is near: log in afresh next time instead.
_RENEW_AT = 2 / 3
_MAX_ENTRIES = 32

# (method, url, json body or None, token or None) -> the JSON answer; raises hvac's errors.
Call = Callable[[str, str, "dict[str, Any] | None", "str | None"], dict[str, Any]]


class AwsRoleLogin(NamedTuple):
    """Which aws auth role to log in as, on which mount, for which Lambdavault."""

    target: str  # the function name or API URL: tokens are per Lambdavault
    role: str
    mount: str = "aws"
    header_value: str | None = None
    # Sign for this region's STS endpoint instead of the global one: for a Lambdavault
    # that reaches STS through a regional (VPC) endpoint set as its sts_endpoint.
    sts_region: str | None = None

    @property
    def login_url(self) -> str:
        return f"/v1/auth/{self.mount.strip('/')}/login"


def sts_url(region: str | None) -> str:
    if not region:
        return STS_URL
    return f"https://sts.{region}.amazonaws.com{'.cn' if region.startswith('cn-') else ''}/"


def login_fields(
    role: str, header_value: str | None = None, sts_region: str | None = None
) -> dict[str, Any]:
    """The login body of hvac's ``auth.aws.iam_login``, signed with the default
    credentials (botocore's SigV4, as the bao CLI signs)."""
    import boto3
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    credentials = boto3.session.Session().get_credentials()
    if credentials is None:
        raise RuntimeError("no AWS credentials to sign the aws auth login with")
    headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    if header_value:
        headers[SERVER_ID_HEADER] = header_value
    url = sts_url(sts_region)
    request = AWSRequest(method="POST", url=url, data=_BODY, headers=headers)
    region = sts_region or _GLOBAL_REGION
    SigV4Auth(credentials.get_frozen_credentials(), "sts", region).add_auth(request)
    signed = {name: [value] for name, value in request.headers.items()}

    def b64(text: str) -> str:
        return base64.b64encode(text.encode()).decode()

    return {
        "role": role,
        "iam_http_request_method": "POST",
        "iam_request_url": b64(url),
        "iam_request_body": b64(_BODY),
        "iam_request_headers": b64(json.dumps(signed)),
    }


class _Held(NamedTuple):
    token: str
    ttl: float  # seconds granted by the last login or renewal (0: never expires)
    renew_after: float  # monotonic time
    renewable: bool


class _Cache:
    """Tokens by login; one lock per login so a cold burst logs in once."""

    def __init__(self) -> None:
        self._held: OrderedDict[AwsRoleLogin, _Held] = OrderedDict()
        self._locks: dict[AwsRoleLogin, threading.Lock] = {}
        self._guard = threading.Lock()

    def lock(self, login: AwsRoleLogin) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(login, threading.Lock())

    def get(self, login: AwsRoleLogin) -> _Held | None:
        with self._guard:
            return self._held.get(login)

    def put(self, login: AwsRoleLogin, held: _Held) -> None:
        with self._guard:
            self._held[login] = held
            self._held.move_to_end(login)
            while len(self._held) > _MAX_ENTRIES:
                evicted, _ = self._held.popitem(last=False)
                self._locks.pop(evicted, None)

    def drop(self, login: AwsRoleLogin, token: str) -> bool:
        with self._guard:
            held = self._held.get(login)
            if held is None or held.token != token:
                return False
            del self._held[login]
            return True

    def clear(self) -> None:
        with self._guard:
            self._held.clear()
            self._locks.clear()


_cache = _Cache()


def cached_token(login: AwsRoleLogin, call: Call) -> str:
    """The held token, renewed or replaced when due (see the module docstring)."""
    held = _cache.get(login)
    if held is not None and time.monotonic() < held.renew_after:
        return held.token
    with _cache.lock(login):
        held = _cache.get(login)
        now = time.monotonic()
        if held is not None and now < held.renew_after:
            return held.token
        if held is not None and held.renewable:
            renewed = _renewed(held, call)
            if renewed is not None:
                _cache.put(login, renewed)
                return renewed.token
        fresh = _logged_in(login, call)
        _cache.put(login, fresh)
        return fresh.token


def forget(login: AwsRoleLogin, token: str) -> bool:
    """Drop ``token`` (refused as stale); False when another thread already replaced it."""
    return _cache.drop(login, token)


def clear() -> None:
    """Forget every held token (tests; a new container starts empty)."""
    _cache.clear()


def _logged_in(login: AwsRoleLogin, call: Call) -> _Held:
    fields = login_fields(login.role, login.header_value, login.sts_region)
    answer = call("POST", login.login_url, fields, None)
    return _held(answer["auth"])


def _renewed(held: _Held, call: Call) -> _Held | None:
    try:
        answer = call("POST", "/v1/auth/token/renew-self", {}, held.token)
    except Exception:  # refused (role gone, ARN unbound) or unreachable: log in afresh
        return None
    renewed = _held(answer["auth"])
    if renewed.ttl < held.ttl * (1 - _RENEW_AT):
        return None  # capped by the max TTL: this token is nearly spent
    return renewed


def _held(auth: dict[str, Any]) -> _Held:
    ttl = float(auth.get("lease_duration") or 0)
    renew_after = time.monotonic() + ttl * _RENEW_AT if ttl else float("inf")
    return _Held(auth["client_token"], ttl, renew_after, bool(auth.get("renewable")))
