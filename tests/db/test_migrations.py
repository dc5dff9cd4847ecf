"""Alembic migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, inspect
from sqlalchemy.ext.asyncio import create_async_engine

from portal.db import models  # noqa: F401  (registers every table)
from portal.db.base import Base
from portal.db.migrate import upgrade_async
from tests.servers import POSTGRES_SKIP, create_pg_database, drop_pg_database, unique_backend_name


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return [d for d in compare_metadata(context, Base.metadata) if not _expression_index(d)]


def _expression_index(difference: Any) -> bool:
    """SQLite cannot reflect expression indexes (lower(username)); they are checked separately below."""
    return (
        isinstance(difference, tuple)
        and difference[0] in ("add_index", "remove_index")
        and (difference[1].name == "uq_users_username_lower")
    )


def _index_names(connection: Connection) -> set[str]:
    return {index["name"] for index in inspect(connection).get_indexes("users")}


async def _check(url: str) -> None:
    await upgrade_async(url)
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(_differences) == []
            if connection.dialect.name == "postgresql":
                assert "uq_users_username_lower" in await connection.run_sync(_index_names)
    finally:
        await engine.dispose()


async def test_sqlite_schema_matches_the_models(tmp_path: Path) -> None:
    await _check(f"sqlite+aiosqlite:///{tmp_path / 'schema.db'}")


@pytest.mark.skipif(bool(POSTGRES_SKIP), reason=POSTGRES_SKIP or "")
async def test_postgres_schema_matches_the_models() -> None:
    name = unique_backend_name()
    url = await create_pg_database(name)
    try:
        await _check(url)
    finally:
        await drop_pg_database(name)
