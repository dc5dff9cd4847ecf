"""SQLAlchemy's aiosqlite adapter with one thread hop per statement instead of four or five.

aiosqlite runs each `sqlite3` call in its own thread and hands the result back to the event loop: a queue
put, a thread wake-up and a loop wake-up per call. SQLAlchemy's adapter makes four such calls per statement
(open a cursor, execute, fetch all, close), and one more for the `ROLLBACK` that ends every pooled checkout
even when no transaction was open. On a REST read that is most of its time (docs/performance.md, "One hop
per SQLite statement"). Here one function run in aiosqlite's thread opens the cursor, executes, fetches,
notes what SQLAlchemy asks of a cursor afterwards and closes it; `COMMIT` and `ROLLBACK` are skipped when
`sqlite3` says no transaction is open.

It leans on aiosqlite's `Connection._execute` (queue a function for its thread) and `_conn` (the
`sqlite3.Connection`), both stable since aiosqlite 0.17 and pinned in pyproject.toml;
tests/db/test_sqlite_driver.py counts the hops so an upgrade that changes them shows.
"""

from __future__ import annotations

import collections
import sqlite3
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util import EMPTY_DICT

# description, rows, rowcount, lastrowid, whether a transaction is open
Outcome = tuple[Any, list[Any], int, int | None, bool]


def _run(connection: aiosqlite.Connection, operation: str, parameters: Any, many: bool) -> Outcome:
    """In aiosqlite's thread: the whole statement, from cursor to close."""
    raw: sqlite3.Connection = connection._conn
    cursor = raw.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else []
        return description, rows, cursor.rowcount, cursor.lastrowid, raw.in_transaction
    finally:
        cursor.close()


class OneHopCursor(AsyncAdapt_aiosqlite_cursor):
    """A client-side cursor whose statement runs in one hop; results are kept, the sqlite3 cursor closed."""

    __slots__ = ("_description", "_lastrowid", "_rowcount")

    def __init__(self, adapt_connection: OneHopConnection) -> None:  # no cursor opened here: no hop
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = None  # type: ignore[assignment]
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()
        self._description: Any = None
        self._rowcount = -1
        self._lastrowid: int | None = None

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> int:
        return self._lastrowid  # type: ignore[return-value]

    async def _async_soft_close(self) -> None:
        return None  # nothing left open: the statement's cursor closed in its hop

    def close(self) -> None:
        self._rows.clear()

    async def _execute_async(self, operation: Any, parameters: Any) -> Any:
        return await self._run(operation, parameters, many=False)

    async def _executemany_async(self, operation: Any, seq_of_parameters: Any) -> Any:
        return await self._run(operation, seq_of_parameters, many=True)

    async def _run(self, operation: Any, parameters: Any, *, many: bool) -> None:
        adapt: OneHopConnection = self._adapt_connection  # type: ignore[assignment]
        async with adapt._execute_mutex:
            outcome: Outcome = await self._connection._execute(
                _run, self._connection, operation, parameters, many
            )
        self._description, rows, self._rowcount, self._lastrowid, adapt._in_transaction = outcome
        self._rows = collections.deque(rows)


class OneHopConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ("_in_transaction",)
    _cursor_cls = OneHopCursor  # type: ignore[assignment]  # a subclass of the adapter's cursor

    def __init__(self, dbapi: Any, connection: Any) -> None:
        super().__init__(dbapi, connection)
        self._in_transaction = True  # unknown until the first statement says: COMMIT/ROLLBACK not skipped

    def rollback(self) -> None:
        if self._in_transaction:
            super().rollback()
            self._in_transaction = False

    def commit(self) -> None:
        if self._in_transaction:
            super().commit()
            self._in_transaction = False


class OneHopDbapi(AsyncAdapt_aiosqlite_dbapi):
    """Handed to `create_async_engine(module=...)`: the aiosqlite dialect, with `OneHopConnection`s."""

    def connect(self, *arg: Any, **kw: Any) -> OneHopConnection:
        adapted = super().connect(*arg, **kw)
        return OneHopConnection(self, adapted._connection)


def one_hop_dbapi() -> OneHopDbapi:
    return OneHopDbapi(aiosqlite, sqlite3)
