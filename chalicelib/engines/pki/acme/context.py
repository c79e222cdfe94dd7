"""What every ACME request shares, as OpenBao's acme_wrappers.go: the directory it came
through (with its role and issuer), the URLs built from ``config/cluster``, the JWS checks
(nonce, url, signature, account) and the shape of every answer (raw JSON or a problem
document, a fresh Replay-Nonce, the directory's Link)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from chalicelib.core import jsonio
from chalicelib.core.errors import VaultError
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.engines.pki import storage as st
from chalicelib.engines.pki.acme import jws, state
from chalicelib.engines.pki.acme.config import (
    ACME_CONFIG,
    NO_CLUSTER_PATH,
    AcmeConfig,
    cluster_path,
    directory_role,
    read_acme_config,
)
from chalicelib.engines.pki.acme.problems import CONTENT_TYPE, AcmeProblem, malformed
from chalicelib.engines.pki.cluster import CLUSTER_CONFIG
from chalicelib.engines.pki.path_issue import VERBATIM_FIELDS, verbatim_role
from chalicelib.engines.pki.role import Role, read_role
from chalicelib.framework import Field, FieldData, Path
from chalicelib.framework.storage import view_of
from chalicelib.observability import logger

if TYPE_CHECKING:
    from chalicelib.storage.view import StorageView

# The four directory prefixes OpenBao serves every ACME resource under.
PREFIXES = ("acme/", "roles/{role}/acme/", "issuer/{issuer_ref}/acme/",
            "issuer/{issuer_ref}/roles/{role}/acme/")


@dataclass(slots=True)
class AcmeContext:
    request: Request
    data: FieldData  # the path's captures (role, issuer_ref, kid, order_id…)
    config: AcmeConfig
    base_url: str  # ends in "/acme/"
    cluster_url: str
    directory: str  # the mount-relative prefix, e.g. "roles/web/acme/"
    role: Role
    role_name: str
    issuer_id: str

    @property
    def view(self) -> StorageView:
        return view_of(self.request)

    def url(self, *parts: str) -> str:
        return self.base_url + "/".join(parts)

    @property
    def link(self) -> str:
        return f'<{self.url("directory")}>;rel="index"'


@dataclass(slots=True)
class Signed:
    """A verified request: its payload, the key that signed it and, with a kid, the
    account it belongs to."""

    payload: dict[str, Any]
    jwk: dict[str, str]
    account: state.Account | None


@dataclass(slots=True)
class Reply:
    """An ACME answer before it is framed: a JSON object, PEM text or nothing."""

    body: dict[str, Any] | str | None = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"


def directory_of(relative_path: str) -> str:
    return relative_path[: relative_path.rindex("acme/") + len("acme/")]


def _role_and_issuer(view: StorageView, config: AcmeConfig,
                     data: FieldData) -> tuple[Role, str, str]:
    """OpenBao's getAcmeRoleAndIssuer: the directory's role (or the default directory
    policy's), the issuer it signs with, both checked against config/acme."""
    requested_role = data.get("role", "") or ""
    requested_issuer = data.get("issuer_ref", "") or ""
    if not requested_role:
        policy_role = directory_role(config.default_directory_policy)
        if config.default_directory_policy == "forbid":
            raise AcmeProblem("serverInternal", "default directory not allowed by ACME policy",
                              meaning_first=True)
        if policy_role is None:
            role = replace(verbatim_role(FieldData(VERBATIM_FIELDS, {}), None),
                           issuer_ref=requested_issuer)
        else:
            role = _acme_role(view, policy_role)
        name = policy_role or ""
    else:
        role, name = _acme_role(view, requested_role), requested_role
        if config.allowed_roles != ["*"] and requested_role not in config.allowed_roles:
            raise AcmeProblem("serverInternal", "specified role not allowed by ACME policy",
                              meaning_first=True)
    reference = requested_issuer or role.issuer_ref or st.DEFAULT_REF
    try:
        issuer = st.fetch_issuer(view, reference)
    except st.RefNotFound:
        raise malformed("issuer does not exist", meaning_first=True) from None
    if st.ISSUANCE_USAGE not in issuer.usage or not issuer.key_id:
        raise AcmeProblem("serverInternal", "issuer missing proper issuance usage or key",
                          meaning_first=True)
    if config.allowed_issuers != ["*"]:
        allowed = set()
        for allowed_ref in config.allowed_issuers:
            try:
                allowed.add(st.resolve_issuer_id(view, allowed_ref))
            except st.RefNotFound:
                continue
        if issuer.id not in allowed:
            raise AcmeProblem("serverInternal", "specified issuer not allowed by ACME policy",
                              meaning_first=True)
    if not config.allow_role_ext_key_usage:
        role = replace(role, ext_key_usage=[], ext_key_usage_oids=[], server_flag=True,
                       client_flag=False, code_signing_flag=False, email_protection_flag=False)
    return role, name, issuer.id


def _acme_role(view: StorageView, name: str) -> Role:
    role = read_role(view, name)
    if role is None:
        raise malformed("role does not exist", meaning_first=True)
    if role.no_store:
        raise AcmeProblem("serverInternal", "role can not be used as NoStore is set to true",
                          meaning_first=True)
    return role


def _context(request: Request, data: FieldData) -> AcmeContext | None:
    """The request's ACME context, or None when ACME is disabled on the mount."""
    view = view_of(request)
    config = read_acme_config(view)
    if not config.enabled:
        return None
    base = cluster_path(view).rstrip("/")
    if not base:
        raise AcmeProblem("serverInternal", NO_CLUSTER_PATH)
    directory = directory_of(request.relative_path)
    role, role_name, issuer_id = _role_and_issuer(view, config, data)
    return AcmeContext(request, data, config, f"{base}/{directory}", base + "/", directory, role,
                       role_name, issuer_id)


def verify_request(ctx: AcmeContext) -> Signed:
    """OpenBao's ParseRequestParams: protected header, nonce (redeemed once), url, key."""
    signed = jws.parse(ctx.request.data)
    header = signed.header
    has_kid, has_jwk = "kid" in header, "jwk" in header
    if has_kid and has_jwk:
        raise malformed("invalid header: got both account 'kid' and 'jwk' in the same "
                        "message; expected only one")
    if not has_kid and not has_jwk:
        raise malformed("invalid header: got neither required fields of 'kid' nor 'jwk'")
    state.redeem_nonce(ctx.view, header.get("nonce"))
    expected = ctx.cluster_url + ctx.request.relative_path
    if not header.get("url"):
        raise malformed("missing required parameter 'url' in 'protected'")
    if header["url"] != expected:
        raise AcmeProblem("unauthorized", f"invalid value for 'url' in 'protected': got "
                          f"'{header['url']}' expected '{expected}'")
    account = None
    if has_kid:
        kid = str(header["kid"]).rsplit("/", 1)[-1]
        account = state.load_account(ctx.view, kid)
        if account is None:
            raise AcmeProblem("accountDoesNotExist", "error loading account")
        key = account.jwk
    else:
        key = jws.public_jwk(header["jwk"])
    payload = jws.payload_object(jws.verify(signed, key, jws.ACCOUNT_ALGORITHMS))
    return Signed(payload, key, account)


def require_account(ctx: AcmeContext, signed: Signed) -> state.Account:
    """OpenBao's requireValidAcmeAccount."""
    account = signed.account
    if account is None:
        raise malformed("cannot process request without a 'kid'")
    enforce_existing_account(ctx, account)
    if account.status != "valid":
        raise AcmeProblem("unauthorized", f"account in status: {account.status}",
                          meaning_first=True)
    return account


def enforce_existing_account(ctx: AcmeContext, account: state.Account) -> None:
    if ctx.config.eab_policy == "always-required" and not account.eab_id:
        raise AcmeProblem("externalAccountRequired", "")


def _frame(reply: Reply, ctx: AcmeContext | None, nonce: bool) -> Response:
    headers = {"Content-Type": reply.content_type, "Cache-Control": "no-store",
               **reply.headers}
    if ctx is not None:
        headers["Link"] = ", ".join(filter(None, (reply.headers.get("Link"), ctx.link)))
        if nonce:
            headers["Replay-Nonce"] = state.new_nonce(ctx.view)
    body = jsonio.dumps(reply.body) if isinstance(reply.body, dict) else (reply.body or "")
    return Response(raw=body, status=reply.status, headers=headers)


def problem(error: AcmeProblem, ctx: AcmeContext | None, nonce: bool) -> Response:
    return _frame(Reply(error.document(), error.status, content_type=CONTENT_TYPE), ctx,
                  nonce)


Plain = Callable[[AcmeContext], Reply]
Handler = Callable[[AcmeContext, Signed], Reply]


def _run(request: Request, data: FieldData, op: Callable[[AcmeContext], Reply],
         nonce: bool) -> Response:
    ctx: AcmeContext | None = None
    try:
        ctx = _context(request, data)
        if ctx is None:  # OpenBao answers a disabled ACME with a bare 404
            return Response(raw={"errors": []}, status=404)
        return _frame(op(ctx), ctx, nonce)
    except AcmeProblem as error:
        return problem(error, ctx, nonce)
    except VaultError as error:
        logger.info("acme request failed", extra={"path": request.relative_path})
        return problem(AcmeProblem("serverInternal", error.message), ctx, nonce)


def plain_handler(op: Plain) -> Callable[[Request, FieldData], Response]:
    """Unsigned resources (directory, new-nonce): no JWS, and new-nonce sets its own."""
    return lambda request, data: _run(request, data, op, nonce=False)


def signed_handler(op: Handler) -> Callable[[Request, FieldData], Response]:
    """JWS-authenticated resources: every answer, error or not, carries a fresh nonce."""
    return lambda request, data: _run(request, data, lambda ctx: op(ctx, verify_request(ctx)),
                                      nonce=True)


_JWS_FIELDS = {
    "protected": Field(description="The JWS protected header (base64url)."),
    "payload": Field(description="The JWS payload (base64url)."),
    "signature": Field(description="The JWS signature (base64url)."),
}


def _prefetch(captures: Mapping[str, str]) -> list[str]:
    """What _context reads on every ACME request, fetched with the request's first read."""
    keys = [ACME_CONFIG, CLUSTER_CONFIG, st.ISSUERS_CONFIG]
    if captures.get("role"):
        keys.append(st.ROLE_PREFIX + captures["role"])
    return keys


def acme_paths(resource: str, op: Handler | Plain, *, signed: bool = True,
               read: bool = False, side_effects: bool = False) -> list[Path]:
    """``resource`` under each of the four directory prefixes (OpenBao's
    buildAcmeFrameworkPaths); POST for signed resources, GET (and HEAD) for plain ones
    (``side_effects``: a GET that stores something, see Path)."""
    handler = signed_handler(op) if signed else plain_handler(op)  # type: ignore[arg-type]
    operations = ({Operation.READ: handler} if read
                  else {Operation.CREATE: handler, Operation.UPDATE: handler})
    return [
        Path(prefix + resource, operations, fields=_JWS_FIELDS, prefetch=_prefetch,
             synopsis="An ACME (RFC 8555) resource; use an ACME client.",
             side_effects=side_effects)
        for prefix in PREFIXES
    ]


def unauthenticated_patterns(resources: list[str]) -> tuple[str, ...]:
    """OpenBao's PathsSpecial entries for ``resources`` under every prefix."""
    wildcard = [p.replace("{role}", "+").replace("{issuer_ref}", "+") for p in PREFIXES]
    return tuple(prefix + resource for prefix in wildcard for resource in resources)
