"""The real MariaDB and Redis of this machine (tests/mysql_redis_support.py)."""

from tests.mysql_redis_support import closed_port, mariadb, redis_server
from tests.support import silent_port

__all__ = ["closed_port", "mariadb", "redis_server", "silent_port"]
