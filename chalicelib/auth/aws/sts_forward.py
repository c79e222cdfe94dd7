"""Forward the client's signed GetCallerIdentity to the configured STS endpoint and read
who STS says signed it (OpenBao's submitCallerIdentityRequest).

The endpoint comes from config/client (or Vault's default), never from the client; the
client's headers and body go as signed, with the Host it signed for. Every attempt has
a short timeout and all of them together a deadline, well under API Gateway's 29 s.
STS's answer is untrusted input: size-capped, and only three fields are read from it.
"""

from __future__ import annotations

import json
import re
import time
from functools import cache
from typing import TYPE_CHECKING, NamedTuple
from xml.etree import ElementTree

from chalicelib.auth.aws.sts_request import SignedRequest
from chalicelib.core.errors import BadRequest

if TYPE_CHECKING:
    import urllib3

# Seconds. Module constants so tests can shorten them.
CONNECT_TIMEOUT = 2.0
READ_TIMEOUT = 4.0
DEADLINE = 10.0
_DEFAULT_RETRIES = 3  # the AWS SDK's default, which Vault's max_retries=-1 means
_MAX_BODY = 64 * 1024
_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# Hop-by-hop and framing headers: the HTTP client sets its own.
_NOT_FORWARDED = frozenset({
    "Host", "Content-Length", "Connection", "Keep-Alive", "Transfer-Encoding", "Te",
    "Trailer", "Upgrade", "Expect", "Proxy-Authorization", "Proxy-Connection",
})  # fmt: skip
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d")


class CallerIdentity(NamedTuple):
    arn: str
    user_id: str
    account: str


class _Answer(NamedTuple):
    status: int
    content_type: str
    body: bytes


def regional_endpoint(region: str) -> str:
    """STS's regional endpoint (use_sts_region_from_client)."""
    if not _REGION.fullmatch(region):
        raise BadRequest(f"unable to get regional STS endpoint for region: {region}")
    suffix = ".cn" if region.startswith("cn-") else ""
    return f"https://sts.{region}.amazonaws.com{suffix}"


def caller_identity(endpoint: str, request: SignedRequest, max_retries: int) -> CallerIdentity:
    answer = _send(endpoint, request, _DEFAULT_RETRIES if max_retries < 0 else max_retries)
    if answer.status != 200:
        raise _upstream(f"received error code {answer.status} from STS: {_sts_error(answer)}")
    identity = _parse(answer)
    if identity is None:
        raise _upstream("error parsing STS response")
    return identity


def _upstream(reason: str) -> BadRequest:
    return BadRequest(f"error making upstream request: {reason}")


def _send(endpoint: str, request: SignedRequest, retries: int) -> _Answer:
    """The answer to the last attempt; retried on throttling, 5xx and network errors."""
    import urllib3

    headers = {k: ",".join(v) for k, v in request.headers.items() if k not in _NOT_FORWARDED}
    headers["Host"] = request.host
    deadline = time.monotonic() + DEADLINE
    answer, failure = None, ""
    for attempt in range(retries + 1):
        try:
            answer, failure = _attempt(endpoint, request, headers, deadline), ""
        except urllib3.exceptions.HTTPError as error:
            failure = f"STS is unreachable ({type(error).__name__})"
        else:
            if answer.status not in _RETRY_STATUSES:
                return answer
        backoff = 0.1 * 2**attempt
        if attempt == retries or time.monotonic() + backoff >= deadline:
            break
        time.sleep(backoff)
    if failure or answer is None:
        raise _upstream(f"error making request: {failure}")
    return answer


def _attempt(
    endpoint: str, request: SignedRequest, headers: dict[str, str], deadline: float
) -> _Answer:
    import urllib3

    left = max(deadline - time.monotonic(), 0.1)
    response = _pool().request(
        request.method, endpoint + "/", body=request.body.encode(), headers=headers,
        timeout=urllib3.Timeout(connect=min(CONNECT_TIMEOUT, left), read=min(READ_TIMEOUT, left)),
        retries=False, redirect=False, preload_content=False,
    )  # fmt: skip
    try:
        body = response.read(_MAX_BODY + 1, decode_content=True)
    except BaseException:
        response.close()
        raise
    if len(body) > _MAX_BODY:
        response.close()  # cut off: the rest is unread, so the connection is not reusable
    else:
        response.release_conn()
    return _Answer(response.status, response.headers.get("Content-Type", ""), body[:_MAX_BODY])


@cache
def _pool() -> urllib3.PoolManager:
    """One bounded connection pool per container, reused across logins."""
    import urllib3

    return urllib3.PoolManager(num_pools=4, maxsize=2)


def _parse(answer: _Answer) -> CallerIdentity | None:
    """GetCallerIdentityResult from STS's XML, or from its JSON when the client asked."""
    kind = answer.content_type.split(";", 1)[0].strip().lower()
    if kind == "text/xml":
        fields = _xml_fields(answer.body)
    elif kind == "application/json":
        fields = _json_fields(answer.body)
    else:
        return None
    if fields is None or not all(fields.get(k) for k in ("Arn", "UserId", "Account")):
        return None
    return CallerIdentity(fields["Arn"], fields["UserId"], fields["Account"])


def _xml_fields(body: bytes) -> dict[str, str] | None:
    try:
        root = ElementTree.fromstring(body)  # noqa: S314 - capped; expat refuses entity bombs
    except ElementTree.ParseError:
        return None
    if _local(root.tag) != "GetCallerIdentityResponse":
        return None
    result = next((e for e in root if _local(e.tag) == "GetCallerIdentityResult"), None)
    if result is None:
        return None
    return {_local(e.tag): (e.text or "").strip() for e in result}


def _json_fields(body: bytes) -> dict[str, str] | None:
    try:
        parsed = json.loads(body)
        result = parsed["GetCallerIdentityResponse"]["GetCallerIdentityResult"]
    except (ValueError, KeyError, TypeError):
        return None
    if not isinstance(result, dict):
        return None
    return {k: v for k, v in result.items() if isinstance(v, str)}


def _sts_error(answer: _Answer) -> str:
    """STS's error code and message (never the whole body: it is echoed to the client)."""
    text = answer.body.decode(errors="replace")
    code = re.search(r"<Code>([^<]{1,100})</Code>", text)
    message = re.search(r"<Message>([^<]{1,300})</Message>", text)
    if code is None:
        return "no error code in STS's answer"
    return code.group(1) + (f": {message.group(1)}" if message else "")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]
