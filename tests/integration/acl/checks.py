"""What both modes' ACL tests ask of a call."""

from __future__ import annotations

from redis.exceptions import NoPermissionError


def refused(call) -> bool:
    """True when the server refuses ``call`` for want of permission; any
    other error propagates."""
    try:
        call()
    except NoPermissionError:
        return True
    return False
