"""A lean path for the hot AWS JSON-protocol calls (DynamoDB, Firehose): botocore's
behaviour at a fraction of its CPU.

botocore spends ~1 ms of CPU on every call (bench/RESULTS.md), mostly walking its models to
validate, serialise and parse. :class:`LeanClient` keeps botocore for what must stay exact
and does the rest directly:

* the request body is the params dumped by orjson, blobs (``bytes``) base64-encoded as the
  JSON protocols want; there is no parameter validation (pynamodb turns botocore's off
  too): a malformed request is the service's ValidationException;
* signed with botocore's ``SigV4Auth`` and the botocore client's own credentials (the
  storage session's provider chain, refreshed as botocore refreshes them);
* sent over kept-alive connections (core/leanhttp: one ``sendall``, the answer parsed by
  httptools) to the client's endpoint (settings' endpoint_url or the regional one: the
  client resolved it) with the client's timeouts (core/awsfaults' for the runtime's
  clients), and no proxy (botocore's proxy settings are not read); failures become
  botocore's connection errors, mapped as botocore maps urllib3's;
* a success is parsed by orjson, and only the blobs the output shape holds are decoded
  (numbers stay strings in AttributeValues, as botocore leaves them). An error answer is
  rare and parsed by botocore's own parser, modeled fields included (CancellationReasons),
  and raised as the botocore client raises it (``client.exceptions``: ClientError's
  subclasses).

The botocore client's events are emitted as botocore emits them, with the same kwargs:
``before-call`` (a handler may answer instead: fault injection), ``before-send`` (in-process
moto answers there), ``needs-retry`` (the client's STANDARD retry handler: its retryable
errors, jittered backoff, max attempts and retry quota are the client's own, shared with its
botocore calls) and ``after-call`` (which returns retry quota). Not emitted: the parameter
and request-building events, ``request-created`` (botocore signs there: signing is direct
here), ``before-parse`` and ``response-received``; no ``amz-sdk-*`` headers are sent.
"""

from __future__ import annotations

import json
import ssl
import threading
import time
import uuid
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import botocore
import orjson
import pybase64
from botocore.auth import SIGNED_HEADERS_BLACKLIST, SigV4Auth, _host_from_url
from botocore.awsrequest import AWSPreparedRequest, HeadersDict
from botocore.exceptions import ConnectTimeoutError, EndpointConnectionError
from botocore.hooks import first_non_none_response
from botocore.parsers import create_parser

from chalicelib.core.leanhttp import Endpoint

if TYPE_CHECKING:
    from botocore.client import BaseClient
    from botocore.config import Config
    from botocore.model import OperationModel, Shape

Decode = Callable[[Any], Any]
Answer = tuple[Any, dict[str, Any]]  # (an AWSResponse-like http response, parsed)
_USER_AGENT = f"lambdavault-leanaws botocore/{botocore.__version__}"


class _Request(AWSPreparedRequest):
    """The request as ``before-send`` handlers see it, and as SigV4Auth signs it (it also
    reads ``params``: the query, empty in the JSON protocols)."""

    params: dict[str, str] = {}


class _SignedHeaders(dict[str, str]):
    """The header map SigV4Auth signs, as a plain dict: it reads only the names and
    ``get_all``, and a lean request never repeats a header (botocore builds an
    email.message for it, twice per signing: ~40% of the signer's CPU)."""

    def get_all(self, name: str) -> list[str]:
        return [self[name]]


class _Signer(SigV4Auth):
    """botocore's SigV4 signer (its canonical request, string to sign and signature), with
    a cheaper header map and the day's signing key kept: it changes only with the date, the
    secret, the region and the service (four HMACs per call saved). Kept under the secret's
    hash, so no secret outlives its credentials here (a rotated one would otherwise stay)."""

    _keys: dict[tuple[int, str, str, str], bytes] = {}

    def headers_to_sign(self, request: Any) -> _SignedHeaders:
        signed = _SignedHeaders(
            (name.lower(), value)
            for name, value in request.headers.items()
            if name.lower() not in SIGNED_HEADERS_BLACKLIST
        )
        if "host" not in signed:
            signed["host"] = _host_from_url(request.url)
        return signed

    def signature(self, string_to_sign: str, request: Any) -> str:
        secret = self.credentials.secret_key
        scope = (hash(secret), request.context["timestamp"][0:8], self._region_name,
                 self._service_name)  # fmt: skip
        key = self._keys.get(scope)
        if key is None:
            key = f"AWS4{secret}".encode()
            for part in (*scope[1:], "aws4_request"):
                key = self._sign(key, part)
            if len(self._keys) > 16:  # old days and rotated secrets
                self._keys.clear()
            self._keys[scope] = key
        signature: str = self._sign(key, string_to_sign, hex=True)
        return signature


class _Response:
    """The AWSResponse interface botocore's handlers read (retry checks, quota release)."""

    __slots__ = ("content", "headers", "status_code", "url")
    raw = None

    def __init__(self, url: str, status_code: int, headers: Any, content: bytes) -> None:
        self.url, self.status_code, self.headers, self.content = url, status_code, headers, content


def _blob(value: Any) -> str:
    """orjson's fallback: blobs go out as base64 text (it calls this for any type it does
    not know; only blobs are bytes in botocore's params)."""
    if isinstance(value, bytes | bytearray | memoryview):
        return pybase64.b64encode(value).decode("ascii")
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _body(params: dict[str, Any]) -> bytes:
    """The JSON request body; what orjson refuses (lone surrogates, integers beyond 64 bits)
    is written as botocore writes it, by the standard library (ASCII, escaped)."""
    try:
        return orjson.dumps(params, default=_blob)
    except orjson.JSONEncodeError:
        return json.dumps(params, default=_blob).encode()


class _BlobDecoders:
    """For each output shape that holds a blob somewhere, a function that decodes those
    blobs in place in the parsed JSON (None: nothing to decode). Built from botocore's model
    once per shape; recursive shapes (AttributeValue's M and L) refer to themselves."""

    def __init__(self) -> None:
        self._made: dict[str, Decode | None] = {}

    def of(self, shape: Shape) -> Decode | None:
        if shape.name in self._made:
            return self._made[shape.name]
        if shape.type_name == "blob":
            return pybase64.b64decode
        if shape.type_name not in ("structure", "list", "map"):
            return None
        # While this shape is being built, a reference to it (recursion) forwards to it.
        made = self._made
        made[shape.name] = lambda value: made[shape.name](value)  # type: ignore[misc]
        made[shape.name] = decoder = self._build(shape)
        return decoder

    def _build(self, shape: Any) -> Decode | None:
        if shape.type_name == "list":
            item = self.of(shape.member)
            return None if item is None else (lambda values: [item(v) for v in values])
        if shape.type_name == "map":
            value = self.of(shape.value)
            return None if value is None else (lambda m: {k: value(v) for k, v in m.items()})
        members = [
            (name, decode)
            for name, member in shape.members.items()
            if (decode := self.of(member)) is not None
        ]
        if not members:
            return None

        def structure(value: dict[str, Any]) -> dict[str, Any]:
            for name, decode in members:
                raw = value.get(name)
                if raw is not None:
                    value[name] = decode(raw)
            return value

        return structure


class _Operation:
    """What one operation's calls share: its model, event names, target, output decoding."""

    def __init__(self, model: OperationModel, service_id: str, decoders: _BlobDecoders) -> None:
        self.model = model
        name = model.name
        self.before_call = f"before-call.{service_id}.{name}"
        self.before_send = f"before-send.{service_id}.{name}"
        self.needs_retry = f"needs-retry.{service_id}.{name}"
        self.after_call = f"after-call.{service_id}.{name}"
        metadata = model.service_model.metadata
        self.target = f"{metadata['targetPrefix']}.{name}"
        # Members botocore fills with a fresh UUID when absent (before-parameter-build's
        # generate_idempotent_uuid): TransactWriteItems' ClientRequestToken makes a retried
        # transaction that had committed succeed again instead of failing its conditions.
        inputs = model.input_shape
        self.tokens = tuple(
            member for member, shape in (inputs.members.items() if inputs is not None else ())
            if shape.metadata.get("idempotencyToken")
        )
        output = model.output_shape
        self.members = frozenset(output.members) if output is not None else frozenset()
        self.decode = decoders.of(output) if output is not None else None


class LeanClient:
    """``call(operation, params)`` for one botocore client's JSON-protocol service: params
    and results as that client's ``_make_api_call`` takes and gives them, the same errors."""

    def __init__(self, client: BaseClient) -> None:
        meta = client.meta
        service = meta.service_model
        if service.protocol != "json":
            raise ValueError(f"{service.service_name} does not speak the JSON protocol")
        self.service_name: str = service.service_name
        self._client = client
        self._events = meta.events
        self._service_id = service.service_id.hyphenize()
        self._signing = (service.signing_name, meta.region_name)
        self._credentials = client._get_credentials()
        self._content_type = f"application/x-amz-json-{service.metadata['jsonVersion']}"
        self._url = meta.endpoint_url.rstrip("/") + "/"
        self._path = urlsplit(self._url).path
        # The Host header as SigV4Auth would derive it on every signing, derived once.
        self._host = _host_from_url(self._url)
        # The CA bundle botocore resolved for this client (AWS_CA_BUNDLE, its config file).
        verify = client._endpoint.http_session._verify
        self._endpoint = _endpoint(self._url, meta.config, verify)
        self._parser = create_parser(service.resolved_protocol)
        self._decoders = _BlobDecoders()
        self._operations: dict[str, _Operation] = {}
        self._building = threading.Lock()
        self._context = {
            "client_region": meta.region_name,
            "client_config": meta.config,
            "has_streaming_input": False,
            "auth_type": "v4",
        }

    def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        """One API call, as ``client._make_api_call(operation, params)`` makes it."""
        op = self._operations.get(operation) or self._operation(operation)
        missing = [token for token in op.tokens if token not in params]
        if missing:  # one token per call: its retries send the same body
            params = {**params, **{token: str(uuid.uuid4()) for token in missing}}
        context = dict(self._context)
        request = {
            "url_path": self._path,
            "query_string": "",
            "method": "POST",
            "headers": {
                "Host": self._host,
                "X-Amz-Target": op.target,
                "Content-Type": self._content_type,
                "User-Agent": _USER_AGENT,
            },
            "body": _body(params),
            "url": self._url,
            "context": context,
        }
        client = self._client
        _, answered = self._events.emit_until_response(
            op.before_call,
            model=op.model,
            params=request,
            request_signer=client._request_signer,
            context=context,
        )
        try:
            http, parsed = answered if answered is not None else self._send(op, request)
        except Exception as error:
            _noting_maybe_taken(error, context)
            raise
        self._events.emit(
            op.after_call, http_response=http, parsed=parsed, model=op.model, context=context
        )
        if http.status_code >= 300:
            code = context.get("error_code_override") or parsed.get("Error", {}).get("Code")
            failure = client.exceptions.from_code(code)(parsed, operation)
            raise _noting_maybe_taken(failure, context)
        return parsed

    def _operation(self, name: str) -> _Operation:
        # Under a lock: while a shape's decoder is being built, a placeholder stands for it,
        # which another thread must never pick up (once per operation, so it costs nothing).
        with self._building:
            op = self._operations.get(name)
            if op is None:
                model = self._client.meta.service_model.operation_model(name)
                op = _Operation(model, self._service_id, self._decoders)
                self._operations[name] = op
            return op

    def _send(self, op: _Operation, request: dict[str, Any]) -> Answer:
        """Attempts until the client's retry handler says stop (endpoint._send_request)."""
        attempts = 1
        request["context"]["retries"] = {"attempt": attempts}
        while True:
            answer, error = self._attempt(op, request)
            if _maybe_taken(answer, error):
                request["context"][_MAYBE_TAKEN] = True
            responses = self._events.emit(
                op.needs_retry,
                response=answer,
                endpoint=None,
                operation=op.model,
                attempts=attempts,
                caught_exception=error,
                request_dict=request,
            )
            delay = first_non_none_response(responses)
            if delay is None or delay is False:
                break
            time.sleep(delay)
            attempts += 1
            request["context"]["retries"]["attempt"] = attempts
        if error is not None:
            raise error
        assert answer is not None
        metadata = answer[1].get("ResponseMetadata")
        if metadata is not None:
            metadata["RetryAttempts"] = attempts - 1
        return answer

    def _attempt(
        self, op: _Operation, request: dict[str, Any]
    ) -> tuple[Answer | None, Exception | None]:
        """One signed attempt: (http response, parsed) or the exception it met."""
        body = request["body"]
        # A plain dict: SigV4Auth spells each header one way, and moto reads any mapping.
        headers = dict(request["headers"])
        prepared = _Request("POST", request["url"], headers, body, False, {})
        credentials = self._credentials
        frozen = credentials.get_frozen_credentials() if credentials is not None else None
        _Signer(frozen, *self._signing).add_auth(prepared)
        # Unsigned, as botocore's HTTP client adds them: no compressed answer is wanted.
        prepared.headers["Content-Length"] = str(len(body))
        prepared.headers["Accept-Encoding"] = "identity"
        try:
            http = first_non_none_response(self._events.emit(op.before_send, request=prepared))
            if http is None:
                http = self._transmit(prepared)
            return (http, self._parsed(op, http)), None
        except Exception as error:  # as botocore: every failure here goes to the retry check
            return None, error

    def _transmit(self, request: _Request) -> _Response:
        answer = self._endpoint.post(request.headers, request.body)
        return _Response(request.url, answer.status, answer.headers, answer.body)

    def _parsed(self, op: _Operation, http: Any) -> dict[str, Any]:
        status, headers, body = http.status_code, http.headers, http.content
        if status >= 300:
            # botocore's parser looks modeled headers up in any case: a case-blind mapping.
            answer = {"status_code": status, "headers": HeadersDict(headers), "body": body}
            return self._error(op, answer)
        parsed: dict[str, Any] = orjson.loads(body) if body else {}
        if not op.members.issuperset(parsed):  # as botocore: only the modeled members
            parsed = {name: value for name, value in parsed.items() if name in op.members}
        if op.decode is not None:
            op.decode(parsed)
        metadata: dict[str, Any] = {}
        request_id = headers.get("x-amzn-requestid")
        if request_id is not None:
            metadata["RequestId"] = request_id
        metadata["HTTPStatusCode"] = status  # no HTTPHeaders: nothing reads them on a success
        parsed["ResponseMetadata"] = metadata
        return parsed

    def _error(self, op: _Operation, response: dict[str, Any]) -> dict[str, Any]:
        """botocore's own parse of an error answer, modeled fields included
        (endpoint._add_modeled_error_fields)."""
        response["context"] = {"operation_name": op.model.name}
        parsed: dict[str, Any] = self._parser.parse(response, op.model.output_shape)
        code = parsed.get("Error", {}).get("Code")
        shape = op.model.service_model.shape_for_error_code(code) if code else None
        if shape is not None:
            parsed.update(self._parser.parse(response, shape))
        return parsed


# Failures after which the service cannot have had the request: nothing was sent.
_NOT_SENT = (ConnectTimeoutError, EndpointConnectionError)
_MAYBE_TAKEN = "lean_maybe_taken"


def _maybe_taken(answer: Answer | None, error: Exception | None) -> bool:
    """Whether the service may have carried out a failed attempt: sent with its answer lost
    (a read timeout, a closed connection, a broken answer) or answered by a 5xx."""
    if error is not None:
        return not isinstance(error, _NOT_SENT)
    return answer is not None and answer[0].status_code >= 500


def _noting_maybe_taken(error: Exception, context: dict[str, Any]) -> Exception:
    """``error`` with ``maybe_taken``: whether any attempt of the failed call may have been
    carried out all the same (a caller that must not repeat the call's effect under a new
    identity, such as an audit chain, reads it; botocore's exceptions do not say)."""
    error.maybe_taken = bool(context.get(_MAYBE_TAKEN))  # type: ignore[attr-defined]
    return error


def _endpoint(url: str, config: Config, verify: bool | str) -> Endpoint:
    """Kept-alive connections to the endpoint with the client's timeouts and pool size (the
    runtime's clients take awsfaults' timeouts), checking certificates as botocore does
    (URLLib3Session._setup_ssl_cert)."""
    from botocore.httpsession import create_urllib3_context, get_cert_path

    tls = None
    if url.startswith("https:"):
        tls = create_urllib3_context()
        if verify:
            tls.load_verify_locations(get_cert_path(verify))
            tls.verify_mode = ssl.CERT_REQUIRED
            tls.check_hostname = True
        else:
            tls.check_hostname = False
            tls.verify_mode = ssl.CERT_NONE
    return Endpoint(
        url,
        connect_timeout=config.connect_timeout,
        read_timeout=config.read_timeout,
        keep=config.max_pool_connections,
        tls=tls,
    )


_TWIN = "_lambdavault_lean"
# Every live lean client (the benchmarks redirect them); weak, so it keeps none alive.
MADE: weakref.WeakSet[LeanClient] = weakref.WeakSet()


def lean(client: BaseClient) -> LeanClient:
    """The lean twin of a botocore client (one per client, made on first use). It lives on
    the client, so both are freed together (a cache keyed by the client would hold it: the
    twin refers to its client)."""
    made: LeanClient | None = client.__dict__.get(_TWIN)
    if made is None:
        made = LeanClient(client)
        setattr(client, _TWIN, made)
        MADE.add(made)
    return made
