"""Tell an outage of the database or Redis from a bug.

A request that fails because PostgreSQL or Redis does not answer (refused, reset, timed out, restarting)
is answered 503 "Service unavailable" in the error envelope (Socket.IO: `ERR_SERVICE_UNAVAILABLE`) and
logged as one warning line; anything else stays a 500 with its traceback. The REST middleware and the
Socket.IO handlers ask `as_unavailable` about every unexpected exception (docs/deployment.md "Outages").
"""

from __future__ import annotations

import asyncpg
from redis import exceptions as redis_errors
from sqlalchemy import exc as sa_errors

from portal.errors import ServiceUnavailable

# Failures that mean "the server is not there right now", wherever they surface: SQLAlchemy wraps the
# driver's error (`orig`, `__cause__`), redis-py raises its own, the event loop raises OSError subclasses.
_OUTAGES: tuple[type[BaseException], ...] = (
    ConnectionError,  # refused, reset, aborted, broken pipe
    TimeoutError,  # a connect or command timeout
    redis_errors.ConnectionError,  # includes redis-py's "Connection closed by server"
    redis_errors.TimeoutError,
    redis_errors.BusyLoadingError,  # Redis restarted and is loading its data set
    asyncpg.PostgresConnectionError,  # SQLSTATE class 08, and a connection that closed mid-query
    asyncpg.exceptions.OperatorInterventionError,  # class 57: shutting down, starting up, terminated
    sa_errors.TimeoutError,  # no pooled connection freed up within the pool timeout
)
_MAX_DEPTH = 8


def is_outage(exc: BaseException) -> bool:
    """True when `exc`, or an error it wraps, says the database or Redis is unreachable."""
    seen: set[int] = set()
    pending: list[BaseException] = [exc]
    while pending and len(seen) < _MAX_DEPTH:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, _OUTAGES):
            return True
        if isinstance(current, sa_errors.DBAPIError) and current.connection_invalidated:
            return True
        for inner in (getattr(current, "orig", None), current.__cause__, current.__context__):
            if isinstance(inner, BaseException):
                pending.append(inner)
    return False


def as_unavailable(exc: BaseException) -> ServiceUnavailable | None:
    """The 503 to answer instead of `exc`, or None when `exc` is not an outage (a bug: answer 500)."""
    return ServiceUnavailable() if is_outage(exc) else None
