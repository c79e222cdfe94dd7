"""Certificate counts of a mount.

The serial count of no_store roles: a certificate a no_store role issues leaves nothing
behind but one increment of a counter (issue #17: "no_store roles keep nothing but the
serial count"). OpenBao keeps nothing at all for them; the count is ours. The counter is
sharded (``stats/unstored/<n>``, one shard picked at random per issue) so that containers
issuing at once rarely race on one item: a lost conditional increment is retried on a
fresh read, and the total is the sum of the shards.

The stored certificate counts of config/auto-tidy's maintain_stored_certificate_counts
(tidy-status' current_cert_store_count and current_revoked_cert_count): **counted by a
listing pass**, never on the issue path. OpenBao counts certs/ and revoked/ when counting
is enabled and then adds one per stored certificate or revocation; a counter item every
issue wrote would be one hot item for the whole mount, so here ``stats/cert-counts`` holds
the entries of certs/ and revoked/ as listed by the last pass: the scheduled job's first
run after counting is enabled, and the end of every tidy (after its deletions). Between
passes the counts lag what was issued or revoked since. With
publish_stored_certificate_count_metrics the job writes them as CloudWatch gauges (EMF),
OpenBao's total_certificates_stored and total_revoked_certificates_stored, every run.
"""

from __future__ import annotations

import random
import sys
import time
from typing import TYPE_CHECKING, NamedTuple

from chalicelib.core import jsonio
from chalicelib.engines.pki import storage as st
from chalicelib.observability import NAMESPACE, logger
from chalicelib.storage.physical import ConditionFailed

if TYPE_CHECKING:
    from chalicelib.storage.view import StorageView

UNSTORED_PREFIX = "stats/unstored/"
CERT_COUNTS = "stats/cert-counts"
STILL_COUNTING = ("Certificates in storage are still being counted, current counts provided "
                  "may be inaccurate")
SHARDS = 16
_ATTEMPTS = 10


def count_unstored(view: StorageView) -> None:
    """Add one to the count of certificates issued without being stored."""
    key = f"{UNSTORED_PREFIX}{random.randrange(SHARDS)}"  # noqa: S311 - load spreading only
    for _ in range(_ATTEMPTS):
        entry = view.get(key)
        count = 0 if entry is None else int(jsonio.loads(entry.value)["count"])
        try:
            view.put(key, jsonio.dumpb({"count": count + 1}),
                     expected_version=0 if entry is None else entry.version)
        except ConditionFailed:
            continue
        return
    # The certificate is issued already: a lost count must not lose it.
    logger.warning("no_store serial count not incremented", extra={"prefix": view.prefix})



class StoredCounts(NamedTuple):
    certs: int
    revoked: int


def _entries(view: StorageView, prefix: str) -> int:
    return sum(1 for key in view.list(prefix) if not key.endswith("/"))


def recount(view: StorageView) -> StoredCounts:
    """Count certs/ and revoked/ (one listing each) and store the result."""
    counted = StoredCounts(_entries(view, st.CERTS_PREFIX), _entries(view, st.REVOKED_PREFIX))
    view.put_json(CERT_COUNTS, {"certs": counted.certs, "revoked": counted.revoked,
                                "counted_at": int(time.time())})
    return counted


def stored_counts(view: StorageView) -> StoredCounts | None:
    """The last pass's counts (None: not counted yet)."""
    raw = view.get_json(CERT_COUNTS)
    return None if raw is None else StoredCounts(int(raw["certs"]), int(raw["revoked"]))


def keep(view: StorageView, mount_uuid: str, *, maintain: bool, publish: bool) -> None:
    """The scheduled job's part: the first count once counting is enabled, and the gauges
    when they are published."""
    if not maintain:
        return
    counted = stored_counts(view) or recount(view)
    if publish:
        sys.stdout.write(gauge_line(mount_uuid, counted))


def gauge_line(mount_uuid: str, counted: StoredCounts) -> str:
    """OpenBao's two gauges (secrets.pki.<backend uuid>.total_…) as one EMF line."""
    return jsonio.dumps({
        "_aws": {"Timestamp": time.time_ns() // 1_000_000, "CloudWatchMetrics": [{
            "Namespace": NAMESPACE, "Dimensions": [["mount"]],
            "Metrics": [{"Name": "total_certificates_stored", "Unit": "Count"},
                        {"Name": "total_revoked_certificates_stored", "Unit": "Count"}]}]},
        "mount": mount_uuid, "total_certificates_stored": counted.certs,
        "total_revoked_certificates_stored": counted.revoked}) + "\n"
