"""``tidy_acme``: OpenBao's doTidyAcme, tidyAcmeAccountByThumbprint and acmeTidyOrder over
this package's storage, one page of thumbprints (or EAB keys) per call so that tidy.py can
stop at its deadline and resume at the next run.

Per account (found through its thumbprint item, as OpenBao walks them):
- an order is deleted with its authorizations and its certificate's account tracker once
  its certificate expired ``safety_buffer`` ago, or, without a certificate, once the order
  itself expired;
- when every order went, the account was created ``acme_account_safety_buffer`` ago and
  its latest order or certificate expiry is that old too, a valid account is revoked and a
  revoked or deactivated one (that long ago) is deleted with its thumbprint;
- a thumbprint whose account is gone is deleted (counted as a deleted account).
EAB keys older than ``acme_account_safety_buffer`` are deleted; nonce folders of past
hours too (OpenBao keeps nonces in memory; ours are items).

Writes are conditional on the versions read, so an account or order that an ACME request
changes meanwhile is left for the next tidy instead of being overwritten."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from chalicelib.core import jsonio
from chalicelib.engines.pki.acme import state
from chalicelib.storage import ConditionFailed
from chalicelib.storage.physical import Delete, WriteOp

if TYPE_CHECKING:
    from chalicelib.storage.view import StorageView

_TRANSACTION = 25  # DynamoDB's items per transaction


@dataclass(slots=True)
class AcmeTidyCounts:
    """tidy-status' acme_* counters for one page."""

    accounts: int = 0
    accounts_revoked: int = 0
    accounts_deleted: int = 0
    orders_deleted: int = 0


@dataclass(frozen=True, slots=True)
class Buffers:
    cert: int  # tidy's safety_buffer: how long after its certificate an order stays
    account: int  # acme_account_safety_buffer


def tidy_accounts(view: StorageView, page: list[str], buffers: Buffers,
                  now: int) -> AcmeTidyCounts:
    counts = AcmeTidyCounts(accounts=len(page))
    for thumbprint in page:
        try:
            _tidy_account(view, thumbprint, buffers, now, counts)
        except ConditionFailed:
            continue  # changed by a request meanwhile: the next tidy looks again
    return counts


def _tidy_account(view: StorageView, thumbprint: str, buffers: Buffers, now: int,
                  counts: AcmeTidyCounts) -> None:
    pointer = view.get(state.THUMBPRINT_PREFIX + thumbprint)
    kid = "" if pointer is None else str(jsonio.loads(pointer.value).get("kid", ""))
    if pointer is None or not kid:
        return
    entry = view.get(state.ACCOUNT_PREFIX + kid)
    if entry is None:
        view.delete(state.THUMBPRINT_PREFIX + thumbprint, expected_version=pointer.version)
        counts.accounts_deleted += 1
        return
    account = state.load_record(state.Account, jsonio.loads(entry.value))
    assert account is not None
    all_tidied, latest = _tidy_orders(view, kid, buffers.cert, now, counts)
    seen_expiry = account.max_cert_expiry
    account.max_cert_expiry = max(account.max_cert_expiry, latest)
    unused = (all_tidied and now > account.created + buffers.account
              and now > account.max_cert_expiry + buffers.account)
    if unused and account.status in ("revoked", "deactivated"):
        if now > account.deactivated + buffers.account:
            view.transact([Delete(state.ACCOUNT_PREFIX + kid, entry.version),
                           Delete(state.THUMBPRINT_PREFIX + thumbprint, pointer.version)])
            counts.accounts_deleted += 1
    elif unused and account.status == "valid":
        account.status, account.deactivated = "revoked", now
        state.save_account(view, account, entry.version)
        counts.accounts_revoked += 1
    elif account.max_cert_expiry != seen_expiry and account.status == "valid":
        state.save_account(view, account, entry.version)


def _tidy_orders(view: StorageView, kid: str, cert_buffer: int, now: int,
                 counts: AcmeTidyCounts) -> tuple[bool, int]:
    """Delete the account's spent orders: whether all went, and the latest expiry seen
    (the certificate's, else the order's)."""
    keys = [f"{state.ORDER_PREFIX}{kid}/{order_id}" for order_id in state.order_ids(view, kid)]
    all_tidied, latest = True, 0
    for key, entry in view.get_many(keys).items():
        order = state.load_record(state.Order, jsonio.loads(entry.value))
        assert order is not None
        expiry = order.certificate_expiry or order.expires
        latest = max(latest, expiry)
        spent = now > order.certificate_expiry + cert_buffer if order.certificate_expiry \
            else now > order.expires
        if spent and _delete_order(view, key, entry.version, order):
            counts.orders_deleted += 1
        else:
            all_tidied = False
    return all_tidied, latest


def _delete_order(view: StorageView, key: str, version: int, order: state.Order) -> bool:
    """The order (only at ``version``), its authorizations and certificate tracker; the
    certificate itself is the certificate store's tidy's."""
    ops: list[WriteOp] = [Delete(key, version)]
    ops += [Delete(f"{state.AUTHZ_PREFIX}{order.kid}/{a}") for a in order.authorizations]
    if order.certificate_serial:
        ops.append(Delete(state.CERT_ACCOUNT_PREFIX + order.certificate_serial))
    try:
        view.transact(ops[:_TRANSACTION])
    except ConditionFailed:
        return False
    for start in range(_TRANSACTION, len(ops), _TRANSACTION):
        view.transact(ops[start:start + _TRANSACTION])
    return True


def tidy_eab(view: StorageView, page: list[str], account_buffer: int, now: int) -> None:
    """Delete the unused EAB keys of ``page`` created more than the buffer ago."""
    for key, entry in view.get_many([state.EAB_PREFIX + key_id for key_id in page]).items():
        if now > int(jsonio.loads(entry.value)["created_on"]) + account_buffer:
            try:
                view.delete(key, expected_version=entry.version)
            except ConditionFailed:
                continue  # bound to an account meanwhile: already gone
