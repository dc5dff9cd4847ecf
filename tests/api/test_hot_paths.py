"""Hot paths stay O(1) in SQL statements (DEVELOPERS.md: performance). Speed itself is measured in bench/."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event

from tests.helpers import Portal


@contextmanager
def counted_statements(portal: Portal) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    engine = portal.container.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def test_authenticated_request_costs_two_statements(portal: Portal) -> None:
    alice = await portal.login()
    await alice.client.me()  # the first request may write last_activity_at
    with counted_statements(portal) as statements:
        await alice.client.me()
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 2, statements  # the session joined with its user, then the linked platforms
    assert len(statements) == 2, statements


async def test_authentication_lookup_is_one_indexed_query(portal: Portal) -> None:
    alice = await portal.login()
    token = alice.client.session_token
    await portal.container.sessions.authenticate(token)
    with counted_statements(portal) as statements:
        ctx = await portal.container.sessions.authenticate(token)
    assert ctx is not None and ctx.user.id == alice.id
    assert len(statements) == 1 and "token_hash" in statements[0]
