"""``new-order``, ``orders``, ``order/<id>``, ``order/<id>/finalize`` and
``order/<id>/cert`` (RFC 8555 sections 7.1.3, 7.4 and 7.4.2), as OpenBao's
path_acme_order.go."""

from __future__ import annotations

import secrets
from typing import Any

from chalicelib.engines.pki import storage as st
from chalicelib.engines.pki.acme import finalize, identifiers, state
from chalicelib.engines.pki.acme.context import (
    AcmeContext,
    Reply,
    Signed,
    acme_paths,
    require_account,
)
from chalicelib.engines.pki.acme.path_authz import current
from chalicelib.engines.pki.acme.problems import AcmeProblem, malformed, unauthorized
from chalicelib.engines.pki.x509build import serial_text
from chalicelib.framework import Path
from chalicelib.storage import ConditionFailed


def challenge_types(identifier: dict[str, str], wildcard: bool) -> tuple[str, ...]:
    """OpenBao's offer: IPs by http-01 only, wildcards by dns-01 only, names by all three."""
    if identifier["type"] == "ip":
        return ("http-01",)
    return ("dns-01",) if wildcard else ("http-01", "dns-01", "tls-alpn-01")


def order_reply(ctx: AcmeContext, order: state.Order, status: int = 200) -> Reply:
    location = ctx.url("order", order.id)
    body: dict[str, Any] = {
        "status": order.status,
        "expires": state.rfc3339(order.expires),
        "identifiers": order.identifiers,
        "authorizations": [ctx.url("authorization", a) for a in order.authorizations],
        "finalize": location + "/finalize",
    }
    if order.status == "valid":
        body["certificate"] = location + "/cert"
    return Reply(body, status, {"Location": location})


def order_status(ctx: AcmeContext, order: state.Order) -> str:
    """OpenBao's computeOrderStatus: pending until every authorization is valid, invalid
    as soon as one is not (or the order expired)."""
    if order.status in ("invalid", "valid", "processing"):
        return order.status
    if order.expires <= state.now():
        return "invalid"
    if order.status == "ready":
        return "ready"
    statuses = [current(authz).status for authz in
                state.load_authorizations(ctx.view, order.kid, order.authorizations)]
    if any(s not in ("pending", "valid") for s in statuses):
        return "invalid"
    return "ready" if all(s == "valid" for s in statuses) else "pending"


def acme_new_order(ctx: AcmeContext, signed: Signed) -> Reply:
    account = require_account(ctx, signed)
    payload = signed.payload
    wanted = identifiers.parse(payload)
    if payload.get("notBefore") or payload.get("notAfter"):
        raise malformed("NotBefore and NotAfter are not supported")
    identifiers.check_role(ctx.role, ctx.role_name, wanted)
    # Unused nonces of past hours go here: one folder listing per order, not per nonce.
    state.drop_expired_nonces(ctx.view)
    expires = state.now() + state.ORDER_LIFETIME
    authz_ids = []
    for identifier in wanted:
        wildcard = identifier["value"].startswith(identifiers.WILDCARD)
        # The authorization is for the base name (RFC 8555 section 7.1.4), flagged wildcard.
        authorized = {**identifier, "value": identifier["value"].removeprefix("*.")}
        authz = state.Authorization(
            id=state.new_id(), kid=account.kid, identifier=authorized, status="pending",
            expires=expires, wildcard=wildcard,
            challenges=[{"type": kind, "status": "pending", "token": secrets.token_urlsafe(32)}
                        for kind in challenge_types(identifier, wildcard)])
        state.save_authorization(ctx.view, authz)
        authz_ids.append(authz.id)
    order = state.Order(id=state.new_id(), kid=account.kid, status="pending", expires=expires,
                        identifiers=wanted, authorizations=authz_ids)
    state.save_order(ctx.view, order, expected_version=0)
    return order_reply(ctx, order, 201)


def acme_orders(ctx: AcmeContext, signed: Signed) -> Reply:
    account = require_account(ctx, signed)
    if ctx.data.get("kid", account.kid) != account.kid:
        raise unauthorized("the account in the URL is not the one that signed")
    return Reply({"orders": [ctx.url("order", order.id)
                             for order in state.account_orders(ctx.view, account.kid)
                             if order_status(ctx, order) != "invalid"]})


def acme_order(ctx: AcmeContext, signed: Signed) -> Reply:
    account = require_account(ctx, signed)
    order, _ = state.load_order(ctx.view, account.kid, ctx.data["order_id"])
    order.status = order_status(ctx, order)
    return order_reply(ctx, order)


def acme_finalize(ctx: AcmeContext, signed: Signed) -> Reply:
    account = require_account(ctx, signed)
    csr = finalize.parse_csr(signed.payload)
    order, version = state.load_order(ctx.view, account.kid, ctx.data["order_id"])
    order.status = order_status(ctx, order)
    if order.status != "ready":
        raise AcmeProblem("orderNotReady", f"order is status {order.status}, needs to be in "
                          "ready state", meaning_first=True)
    identifiers.check_csr(csr, order.identifiers)
    order.status = "processing"
    try:  # claim: of racing finalizes, one issues
        state.save_order(ctx.view, order, expected_version=version)
    except ConditionFailed:
        raise AcmeProblem("orderNotReady", "order is already being finalized") from None
    try:
        cert, issuer_id = finalize.issue(ctx, csr, account.jwk)
    except Exception:
        order.status = "ready"  # a refused CSR (or any failure) leaves the order ready
        state.save_order(ctx.view, order)
        raise
    serial = st.normalize_serial(serial_text(cert))
    state.track_certificate(ctx.view, serial, account.kid, order.id)
    order.status, order.certificate_serial, order.issuer_id = "valid", serial, issuer_id
    order.certificate_expiry = int(cert.not_valid_after_utc.timestamp())
    state.save_order(ctx.view, order)
    return order_reply(ctx, order)


def acme_certificate(ctx: AcmeContext, signed: Signed) -> Reply:
    """The leaf, its issuer and the issuer's chain, as application/pem-certificate-chain."""
    account = require_account(ctx, signed)
    order, _ = state.load_order(ctx.view, account.kid, ctx.data["order_id"])
    if order.status != "valid":
        raise AcmeProblem("orderNotReady", f"order is status {order.status}, needs to be in "
                          "valid state", meaning_first=True)
    leaf = ctx.view.get_json(st.CERTS_PREFIX + order.certificate_serial)
    issuer = st.read_issuer(ctx.view, order.issuer_id)
    if leaf is None or issuer is None:
        raise AcmeProblem("serverInternal", f"missing certificate {order.certificate_serial} "
                          "or its issuer from storage")
    chain = [issuer.certificate, *(p for p in issuer.ca_chain if p != issuer.certificate)]
    pems = [leaf["certificate"], *chain]
    return Reply("".join(p if p.endswith("\n") else p + "\n" for p in pems),
                 content_type="application/pem-certificate-chain")


def paths() -> list[Path]:
    return [
        *acme_paths("new-order", acme_new_order),
        *acme_paths("orders", acme_orders),
        *acme_paths("account/{kid}/orders", acme_orders),
        *acme_paths("order/{order_id}", acme_order),
        *acme_paths("order/{order_id}/finalize", acme_finalize),
        *acme_paths("order/{order_id}/cert", acme_certificate),
    ]
