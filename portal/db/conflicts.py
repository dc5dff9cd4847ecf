"""Unique-key clashes: the one place an `IntegrityError` becomes the domain's answer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import inspect
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession


class Clash(Exception):
    """A write hit a unique key (or another integrity constraint) and its savepoint was rolled back."""


@asynccontextmanager
async def raise_on_clash(session: AsyncSession, error: Exception) -> AsyncIterator[None]:
    """Run the body and a flush inside a SAVEPOINT; an `IntegrityError` rolls back only the savepoint and
    raises `error` (chained to it), so the surrounding transaction stays usable.

    Make the changes inside the body: `begin_nested()` first flushes whatever is already pending, outside
    the savepoint (a clash there is still turned into `error`, but the outer transaction is lost).
    """
    try:
        async with session.begin_nested():
            yield
            await session.flush()
    except IntegrityError as exc:
        raise error from exc


async def insert_unless_taken(session: AsyncSession, row: object) -> bool:
    """Insert `row`; False when it clashes (a concurrent insert of the same key won)."""
    try:
        async with raise_on_clash(session, Clash()):
            session.add(row)
    except Clash:
        return False
    return True


async def insert_unless_exists(session: AsyncSession, row: object, *, gone: Exception) -> bool:
    """Insert `row`'s columns in one `INSERT … ON CONFLICT DO NOTHING` (no savepoint: a hot path's two
    statements fewer than `insert_unless_taken`); False when a row with its unique key exists. The row object
    itself stays outside the session (read nothing back from it). A row it references that went meanwhile
    (a foreign key) raises `gone`: the transaction is lost then, as the caller's answer is an error anyway."""
    mapper = inspect(row).mapper
    values = {
        column.key: value
        for attribute in mapper.column_attrs
        for column in attribute.columns[:1]
        if (value := getattr(row, attribute.key)) is not None
    }
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(mapper.local_table).values(values).on_conflict_do_nothing()
    try:
        result = await session.execute(statement)
    except IntegrityError as exc:
        raise gone from exc
    return bool(result.rowcount)  # type: ignore[attr-defined]
