"""Go's net.Dial words for a database that cannot be reached, which OpenBao's plugins show
("dial tcp 127.0.0.1:3306: connect: connection refused"), from the OSError behind a Python
driver's own exception."""

from __future__ import annotations


def dial_failure(host: str, port: int, error: BaseException) -> str | None:
    """None when nothing in ``error``'s chain is a refused or timed-out connection."""
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, ConnectionRefusedError):
            return f"dial tcp {host}:{port}: connect: connection refused"
        if isinstance(cause, TimeoutError):
            return f"dial tcp {host}:{port}: i/o timeout"
        cause = cause.__cause__ or cause.__context__
    return None
