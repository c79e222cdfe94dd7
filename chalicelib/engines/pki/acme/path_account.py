"""``new-account`` (with External Account Binding), ``account/<kid>`` (read, contact
update, deactivation) and ``key-change``, as OpenBao's path_acme_account.go
(RFC 8555 sections 7.3 to 7.3.6)."""

from __future__ import annotations

from typing import Any

from chalicelib.engines.pki.acme import jws, state
from chalicelib.engines.pki.acme.context import (
    AcmeContext,
    Reply,
    Signed,
    acme_paths,
    enforce_existing_account,
    require_account,
)
from chalicelib.engines.pki.acme.problems import AcmeProblem, malformed, unauthorized
from chalicelib.framework import Path


def _typed(payload: dict[str, Any], name: str, kind: type, default: Any) -> Any:
    value = payload.get(name, default)
    if not isinstance(value, kind):
        raise malformed(f"invalid type ({type(value).__name__}) for field '{name}'")
    return value


def _contacts(payload: dict[str, Any]) -> list[str]:
    contacts = _typed(payload, "contact", list, [])
    for index, contact in enumerate(contacts):
        if not isinstance(contact, str):
            raise malformed(f"invalid type ({type(contact).__name__}) for field 'contact' "
                            f"item {index}")
    return contacts


def account_reply(ctx: AcmeContext, account: state.Account, status: int = 200) -> Reply:
    location = ctx.url("account", account.kid)
    body: dict[str, Any] = {"status": account.status, "orders": location + "/orders"}
    if account.contact:
        body["contact"] = account.contact
    return Reply(body, status, {"Location": location})


def verify_eab(ctx: AcmeContext, binding: dict[str, Any], jwk: dict[str, str]) -> state.EabKey:
    """OpenBao's verifyEabPayload: an HMAC JWS over the account key, for this URL and
    this directory, signed with an unused key from new-eab."""
    signed = jws.parse(binding, "eab ")
    header = signed.header
    if not header.get("kid"):
        raise malformed("invalid header: got missing required field 'kid'")
    if header.get("alg") not in jws.EAB_ALGORITHMS:
        raise malformed("invalid header: unexpected value for 'algo'")
    expected = ctx.cluster_url + ctx.request.relative_path
    if header.get("url") != expected:
        raise unauthorized(f"invalid value for 'url' in eab 'protected': got "
                           f"'{header.get('url')}' expected '{expected}'")
    if header.get("nonce"):
        raise malformed("nonce should not be provided in eab 'protected'")
    eab = state.load_eab(ctx.view, str(header["kid"]))
    if eab is None or eab.directory != ctx.directory:
        raise unauthorized("failed to verify eab", meaning_first=True)
    bound = jws.verify(signed, jws.b64decode(eab.key), jws.EAB_ALGORITHMS)
    try:
        bound_key = jws.public_jwk(jws.payload_object(bound))
    except AcmeProblem:
        raise malformed("eab payload does not match outer JWK key") from None
    if bound_key != jwk:
        raise malformed("eab payload does not match outer JWK key")
    return eab


def acme_new_account(ctx: AcmeContext, signed: Signed) -> Reply:
    payload = signed.payload
    contacts = _contacts(payload)
    agreed = _typed(payload, "termsOfServiceAgreed", bool, False)
    only_existing = _typed(payload, "onlyReturnExisting", bool, False)
    binding = _typed(payload, "externalAccountBinding", dict, {})
    if signed.account is not None:
        raise malformed("cannot submit to newAccount with 'kid'")
    thumb = jws.thumbprint(signed.jwk)
    existing = state.account_by_thumbprint(ctx.view, thumb)
    if existing is not None:
        enforce_existing_account(ctx, existing)
        return account_reply(ctx, existing)
    if only_existing:
        raise AcmeProblem("accountDoesNotExist", "an account with this key does not exist")
    eab = verify_eab(ctx, binding, signed.jwk) if binding else None
    if eab is None and ctx.config.eab_policy != "not-required":
        raise AcmeProblem("externalAccountRequired", "")
    if eab is not None and not state.consume_eab(ctx.view, eab.id):
        raise unauthorized("eab was already used")
    wanted = state.Account(
        kid=state.new_id(), jwk=signed.jwk, thumbprint=thumb, directory=ctx.directory,
        contact=contacts, terms_of_service_agreed=agreed, eab_id=eab.id if eab else "")
    account = state.create_account(ctx.view, wanted)
    if account.kid != wanted.kid:  # a racing request created the key's account first
        return account_reply(ctx, account)
    reply = account_reply(ctx, account, 201)
    if eab is not None:
        reply.body["externalAccountBinding"] = binding  # type: ignore[index]
    return reply


def acme_account(ctx: AcmeContext, signed: Signed) -> Reply:
    """POST-as-GET reads; ``contact`` replaces the contacts; ``status: deactivated``
    deactivates for good."""
    account = signed.account
    if account is None:
        raise malformed("cannot submit to account updates without a 'kid'")
    if account.kid != ctx.data["kid"]:
        raise unauthorized("the account in the URL is not the one that signed")
    if "externalAccountBinding" in signed.payload:
        raise malformed("not allowed to update EAB data in accounts", meaning_first=True)
    enforce_existing_account(ctx, account)
    if account.status != "valid":
        raise unauthorized(f"account in status: {account.status}", meaning_first=True)
    status = _typed(signed.payload, "status", str, "")
    changed = False
    if "contact" in signed.payload:
        contacts = _contacts(signed.payload)
        changed = contacts != account.contact
        account.contact = contacts
    if status == "deactivated":
        account.status, account.deactivated, changed = "deactivated", state.now(), True
    elif status:
        raise malformed(f"invalid account status: {status}")
    if changed:
        state.save_account(ctx.view, account)
    return account_reply(ctx, account)


def acme_key_change(ctx: AcmeContext, signed: Signed) -> Reply:
    """RFC 8555 section 7.3.5: the inner JWS, signed by the new key, names the account and
    its old key; the account then answers to the new key only."""
    account = require_account(ctx, signed)
    inner = jws.parse(signed.payload, "inner ")
    header = inner.header
    if "jwk" not in header or "kid" in header or "nonce" in header:
        raise malformed("the inner JWS must carry a jwk and neither kid nor nonce")
    if header.get("url") != ctx.cluster_url + ctx.request.relative_path:
        raise malformed("the inner JWS url differs from the outer one")
    new_key = jws.public_jwk(header["jwk"])
    content = jws.payload_object(jws.verify(inner, new_key, jws.ACCOUNT_ALGORITHMS))
    if content.get("account") != ctx.url("account", account.kid):
        raise malformed("the inner JWS names another account")
    if jws.public_jwk(content.get("oldKey")) != account.jwk:
        raise malformed("oldKey is not the account's current key")
    thumb = jws.thumbprint(new_key)
    holder = state.account_by_thumbprint(ctx.view, thumb)
    if holder is not None:
        raise malformed("the new key already belongs to an account")
    state.change_account_key(ctx.view, account, new_key, thumb)
    return account_reply(ctx, account)


def paths() -> list[Path]:
    return [
        *acme_paths("new-account", acme_new_account),
        *acme_paths("account/{kid}", acme_account),
        *acme_paths("key-change", acme_key_change),
    ]
