"""Adding, chaining and removing issuers and keys, safely under concurrent containers.

An issuer or key is written in one transaction with its name index item (created only if
absent) and, when the mount has no default yet, with the default's config item at the
version just read: two containers creating the first issuer at once cannot both become
the default, and a lost race is retried on fresh reads. Chains (each issuer's ca_chain)
are rebuilt after any change to the set of issuers, with per-item version checks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple, TypeVar

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from chalicelib.core import jsonio
from chalicelib.core.errors import BadRequest, PreconditionFailed
from chalicelib.engines.pki import storage as st
from chalicelib.engines.pki.keytypes import (
    PrivateKey,
    key_type_of,
    load_private_key,
    private_key_pem,
)
from chalicelib.engines.pki.x509build import load_pem, serial_text, to_der, to_pem
from chalicelib.storage.physical import ConditionFailed, Delete, Entry, Put, WriteOp

if TYPE_CHECKING:
    from chalicelib.storage.view import StorageView

_ATTEMPTS = 5
_Item = TypeVar("_Item", st.IssuerEntry, st.KeyEntry)


class Stored(NamedTuple):
    issuer: st.IssuerEntry | None
    key: st.KeyEntry | None
    issuer_existed: bool
    key_existed: bool


def _public_der(key: PrivateKey | x509.Certificate) -> bytes:
    public = key.public_key()
    return public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _entries(view: StorageView, prefix: str) -> dict[str, Entry]:
    """Every stored issuer or key item by id (one LIST, then batched reads), versions
    included."""
    ids = [k for k in view.list(prefix) if not k.endswith("/")]
    found = view.get_many([prefix + i for i in ids])
    return {key[len(prefix):]: entry for key, entry in found.items()}


def all_issuers(view: StorageView) -> list[st.IssuerEntry]:
    return [st.IssuerEntry.from_storage(jsonio.loads(e.value))
            for e in _entries(view, st.ISSUER_PREFIX).values()]


def all_keys(view: StorageView) -> list[st.KeyEntry]:
    return [st.KeyEntry.from_storage(jsonio.loads(e.value))
            for e in _entries(view, st.KEY_PREFIX).values()]


def _name_check(view: StorageView, kind: str, name: str) -> None:
    if name and st.name_taken(view, kind, name):
        raise BadRequest(f"{kind} name already in use")


def _default_update(view: StorageView, config_key: str, new_id: str, force: bool) -> list[WriteOp]:
    config, version = st.read_config(view, config_key)
    if config.get("default") and not force:
        return []
    return [Put(config_key, jsonio.dumpb({**config, "default": new_id}), version)]


def store(
    view: StorageView,
    cert: x509.Certificate | None,
    key: PrivateKey | None,
    *,
    issuer_name: str = "",
    key_name: str = "",
    follow_latest: bool = False,
    generated_root: bool = False,
) -> Stored:
    """Add ``cert`` as an issuer and/or ``key`` as a key, reusing a stored key with the same
    public key and a stored issuer with the same certificate (OpenBao's import dedupe)."""
    for _ in range(_ATTEMPTS):
        try:
            stored = _store_once(view, cert, key, issuer_name, key_name, follow_latest,
                                 generated_root)
        except ConditionFailed:
            continue
        added_issuer = stored.issuer is not None and not stored.issuer_existed
        if added_issuer or (stored.key is not None and not stored.key_existed):
            rebuild_chains(view)
        if added_issuer and stored.issuer is not None:
            stored = stored._replace(issuer=st.read_issuer(view, stored.issuer.id))
        return stored
    raise PreconditionFailed("too many concurrent changes to this mount's issuers; retry")


def _store_once(
    view: StorageView, cert: x509.Certificate | None, key: PrivateKey | None,
    issuer_name: str, key_name: str, follow_latest: bool, generated_root: bool,
) -> Stored:
    ops: list[WriteOp] = []
    source = key if key is not None else cert
    key_index = st.KEY_SPKI_PREFIX + st.fingerprint(_public_der(source)) if source else ""
    cert_index = st.ISSUER_DER_PREFIX + st.fingerprint(to_der(cert)) if cert else ""
    found = view.get_many([k for k in (key_index, cert_index) if k])
    key_entry = _indexed(view, found.get(key_index), st.read_key)
    key_existed = key_entry is not None
    if key is not None and key_entry is None:
        _name_check(view, "key", key_name)
        key_entry = st.KeyEntry(st.new_id(), key_name, key_type_of(key), private_key_pem(key))
        ops += [Put(st.KEY_PREFIX + key_entry.id, jsonio.dumpb(key_entry.to_storage()), 0),
                Put(key_index, jsonio.dumpb({"id": key_entry.id}), 0)]
        if key_name:
            ops.append(Put(st.KEY_NAME_PREFIX + key_name, jsonio.dumpb({"id": key_entry.id}), 0))
        ops += _default_update(view, st.KEYS_CONFIG, key_entry.id, force=False)
    issuer_entry = _indexed(view, found.get(cert_index), st.read_issuer)
    issuer_existed = issuer_entry is not None
    if cert is not None and issuer_entry is None:
        _name_check(view, "issuer", issuer_name)
        issuer_entry = st.IssuerEntry(
            id=st.new_id(), name=issuer_name, key_id=key_entry.id if key_entry else "",
            certificate=to_pem(cert) + "\n", serial_number=serial_text(cert),
            ca_chain=[to_pem(cert) + "\n"],
            # OpenBao records it only for roots it generates (imports may differ).
            revocation_signature_algorithm=(
                signature_algorithm_name(cert) if generated_root else ""),
        )
        ops += [Put(st.ISSUER_PREFIX + issuer_entry.id,
                    jsonio.dumpb(issuer_entry.to_storage()), 0),
                Put(cert_index, jsonio.dumpb({"id": issuer_entry.id}), 0)]
        if issuer_name:
            ops.append(Put(st.ISSUER_NAME_PREFIX + issuer_name,
                           jsonio.dumpb({"id": issuer_entry.id}), 0))
        if issuer_entry.key_id:  # OpenBao: only an issuer that can sign becomes default
            follows = follow_latest and st.issuers_config(view)["default_follows_latest_issuer"]
            ops += _default_update(view, st.ISSUERS_CONFIG, issuer_entry.id, bool(follows))
    if key is not None and not key_existed and key_entry is not None:
        ops += _adopt_key(view, key_entry, skip=issuer_entry.id if issuer_entry else "")
    view.transact(ops)
    return Stored(issuer_entry, key_entry, issuer_existed, key_existed)


def _indexed(view: StorageView, index: Entry | None,
             read: Callable[[StorageView, str], _Item | None]) -> _Item | None:
    """The issuer or key a fingerprint index item points at (None: not held)."""
    return None if index is None else read(view, str(jsonio.loads(index.value)["id"]))


def _adopt_key(view: StorageView, key: st.KeyEntry, skip: str) -> list[WriteOp]:
    """A newly imported key becomes the key of stored issuers that lacked one for it."""
    wanted = _public_der(load_private_key(key.private_key))
    ops: list[WriteOp] = []
    for issuer in all_issuers(view):
        if issuer.id != skip and not issuer.key_id and \
                _public_der(load_pem(issuer.certificate)) == wanted:
            issuer.key_id = key.id
            ops.append(Put(st.ISSUER_PREFIX + issuer.id, jsonio.dumpb(issuer.to_storage())))
    return ops


def signature_algorithm_name(cert: x509.Certificate) -> str:
    """Go's name of the signature algorithm ("ECDSAWithSHA256", "SHA256WithRSA" …)."""
    oid_name = cert.signature_algorithm_oid._name
    names = {
        "sha256WithRSAEncryption": "SHA256WithRSA", "sha384WithRSAEncryption": "SHA384WithRSA",
        "sha512WithRSAEncryption": "SHA512WithRSA", "ecdsa-with-SHA256": "ECDSAWithSHA256",
        "ecdsa-with-SHA384": "ECDSAWithSHA384", "ecdsa-with-SHA512": "ECDSAWithSHA512",
        "ed25519": "Ed25519", "RSASSA-PSS": "SHA256WithRSAPSS",
    }
    return names.get(oid_name, "")


# -- chains ---------------------------------------------------------------------------


def _issued_by(child: x509.Certificate, parent: x509.Certificate) -> bool:
    if child.issuer != parent.subject:
        return False
    try:
        child.verify_directly_issued_by(parent)
    except (ValueError, TypeError, Exception):
        return False
    return True


def compute_chains(issuers: list[st.IssuerEntry]) -> dict[str, list[str]]:
    """Each issuer's chain: itself, then its parents among the mount's issuers, breadth
    first (a manual_chain replaces this)."""
    by_id = {i.id: i for i in sorted(issuers, key=lambda i: i.id)}
    certs = {i: load_pem(e.certificate) for i, e in by_id.items()}
    parents = {
        child: [p for p in by_id if p != child and _issued_by(certs[child], certs[p])]
        for child in by_id
    }
    chains: dict[str, list[str]] = {}
    for issuer_id, entry in by_id.items():
        if entry.manual_chain:
            chains[issuer_id] = [by_id[m].certificate for m in entry.manual_chain if m in by_id]
            continue
        order, queue = [issuer_id], list(parents[issuer_id])
        while queue:
            nxt = queue.pop(0)
            if nxt not in order:
                order.append(nxt)
                queue += parents[nxt]
        chains[issuer_id] = [by_id[i].certificate for i in order]
    return chains


def rebuild_chains(view: StorageView) -> None:
    """Store each issuer's computed chain where it changed, each write conditional on the
    version read. Losing to a concurrent change means retrying on fresh reads; after
    several losses the other writers' own rebuilds, which saw newer state, stand."""
    for _ in range(_ATTEMPTS):
        entries = _entries(view, st.ISSUER_PREFIX)
        issuers = {i: st.IssuerEntry.from_storage(jsonio.loads(e.value))
                   for i, e in entries.items()}
        chains = compute_chains(list(issuers.values()))
        ops: list[WriteOp] = []
        for issuer_id, issuer in issuers.items():
            if issuer.ca_chain != chains[issuer_id]:
                issuer.ca_chain = chains[issuer_id]
                ops.append(Put(st.ISSUER_PREFIX + issuer_id, jsonio.dumpb(issuer.to_storage()),
                               entries[issuer_id].version))
        try:
            for start in range(0, len(ops), 25):  # DynamoDB's items per transaction
                view.transact(ops[start:start + 25])
        except ConditionFailed:
            continue
        return


def write_issuer(view: StorageView, issuer: st.IssuerEntry, old_name: str) -> None:
    """Save an updated issuer; a new name claims its index item in the same transaction.
    Chains are rebuilt after, so a rebuild that ran meanwhile is not undone."""
    ops: list[WriteOp] = [Put(st.ISSUER_PREFIX + issuer.id, jsonio.dumpb(issuer.to_storage()))]
    ops += _rename(st.ISSUER_NAME_PREFIX, issuer.id, old_name, issuer.name)
    try:
        view.transact(ops)
    except ConditionFailed:
        raise BadRequest("issuer name already in use") from None
    rebuild_chains(view)


def write_key(view: StorageView, key: st.KeyEntry, old_name: str) -> None:
    ops: list[WriteOp] = [Put(st.KEY_PREFIX + key.id, jsonio.dumpb(key.to_storage()))]
    ops += _rename(st.KEY_NAME_PREFIX, key.id, old_name, key.name)
    try:
        view.transact(ops)
    except ConditionFailed:
        raise BadRequest("key name already in use") from None


def _rename(prefix: str, item_id: str, old: str, new: str) -> list[WriteOp]:
    if old == new:
        return []
    ops: list[WriteOp] = []
    if old:
        ops.append(Delete(prefix + old))
    if new:
        ops.append(Put(prefix + new, jsonio.dumpb({"id": item_id}), 0))
    return ops


def delete_issuer(view: StorageView, issuer: st.IssuerEntry) -> bool:
    """Remove an issuer (its key stays); True when it was the default, which is cleared."""
    der = to_der(load_pem(issuer.certificate))
    was_default = _delete_indexed(
        view, [st.ISSUER_PREFIX + issuer.id, st.ISSUER_DER_PREFIX + st.fingerprint(der)],
        st.ISSUER_NAME_PREFIX, issuer.name, st.ISSUERS_CONFIG, issuer.id,
    )
    rebuild_chains(view)
    return was_default


def delete_key(view: StorageView, key: st.KeyEntry) -> bool:
    """Remove a key; True when it was the default, which is cleared."""
    spki = _public_der(load_private_key(key.private_key))
    return _delete_indexed(
        view, [st.KEY_PREFIX + key.id, st.KEY_SPKI_PREFIX + st.fingerprint(spki)],
        st.KEY_NAME_PREFIX, key.name, st.KEYS_CONFIG, key.id,
    )


def _delete_indexed(view: StorageView, items: list[str], name_prefix: str, name: str,
                    config_key: str, item_id: str) -> bool:
    """Delete an issuer's or key's items and name index in one transaction, clearing the
    default in the same one (at the version read) when it named this item."""
    ops: list[WriteOp] = [Delete(key) for key in items]
    if name:
        ops.append(Delete(name_prefix + name))
    config, version = st.read_config(view, config_key)
    was_default = config.get("default") == item_id
    if was_default:
        ops.append(Put(config_key, jsonio.dumpb({**config, "default": ""}), version))
    view.transact(ops)
    return was_default


def key_in_use(view: StorageView, key_id: str) -> st.IssuerEntry | None:
    return next((i for i in all_issuers(view) if i.key_id == key_id), None)
