"""Where leases live in storage, and the time buckets of the due index.

  sys/expire/id/<lease id>                 the lease (the lease id's own folders make
                                            sys/leases/lookup/<prefix> a plain LIST)
  sys/expire/token/<salted token>/<digest>  one per lease a token created, value = lease id
  sys/expire/cursor                         the oldest hour the sweeper may still find due,
                                            and when it last retried irrevocable leases

Due leases are found through the table's `lease-due` index: bucket "<UTC hour>#<shard>",
sorted by the due second. A sweep queries the hours from its cursor up to now, each
shard, for items due by now, so it reads only what is due. Shards spread an hour's
writes over several index partitions.

An irrevocable lease leaves the hours for the bucket "irrevocable", sorted by its expiry:
only the sweep's daily retry looks there, and sys/leases?type=irrevocable reads only
those index items.
"""

from __future__ import annotations

import hashlib
import time
import zlib

from chalicelib.storage.physical import Due
from chalicelib.tokens.clock import NANOS
from chalicelib.tokens.ids import random_base62

ENTRY_PREFIX = "sys/expire/id/"
TOKEN_PREFIX = "sys/expire/token/"  # noqa: S105 (a storage folder, not a secret)
CURSOR_KEY = "sys/expire/cursor"
SHARDS = 4
HOUR = 3600
IRREVOCABLE_BUCKET = "irrevocable"


def new_lease_id(request_path: str) -> str:
    """Vault's form: the path that issued the secret, then 24 random base62 characters."""
    return f"{request_path.strip('/')}/{random_base62(24)}"


def entry_key(lease_id: str) -> str:
    return ENTRY_PREFIX + lease_id


def token_folder(salted_token: str) -> str:
    return f"{TOKEN_PREFIX}{salted_token}/"


def token_index_key(salted_token: str, lease_id: str) -> str:
    # A digest, not the lease id: lease ids hold "/" and would nest folders.
    return token_folder(salted_token) + hashlib.sha256(lease_id.encode()).hexdigest()[:32]


def due_second(expires_ns: int) -> int:
    """The whole second at which something expiring at `expires_ns` is due (rounded up)."""
    return -(-expires_ns // NANOS)


def hour_of(at: int) -> int:
    return at - at % HOUR


def bucket(hour: int, shard: int) -> str:
    return time.strftime("%Y%m%d%H", time.gmtime(hour)) + f"#{shard}"


def due_mark(key: str, at: int) -> Due:
    """The index mark for `key` due at `at` (Unix seconds); the shard follows the key."""
    return Due(bucket(hour_of(at), zlib.crc32(key.encode()) % SHARDS), at)


def irrevocable_mark(expires_ns: int) -> Due:
    """The index mark of a lease given up on: listed by expiry under IRREVOCABLE_BUCKET."""
    return Due(IRREVOCABLE_BUCKET, due_second(expires_ns))
