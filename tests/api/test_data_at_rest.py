"""What a copy of the database (or of its files) gives away: issue 14, "Data at rest".

Login codes are kept in plain text only while they can still be delivered; the SQLite file and its WAL/SHM
are readable by the server's own user only.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from sqlalchemy import select, text

from portal.db.engine import Database
from portal.db.migrate import upgrade_async
from portal.db.models import LoginCode
from tests.api.auth_support import LOGIN_CODE_TTL, web_code
from tests.helpers import Portal, identity_of, unique_platform_id


async def stored_codes(portal: Portal, platform_user_id: str) -> list[str | None]:
    async with portal.container.db.read() as session:
        query = (
            select(LoginCode.code)
            .where(LoginCode.platform_user_id == platform_user_id)
            .order_by(LoginCode.id)
        )
        return list((await session.execute(query)).scalars().all())


async def test_a_used_web_code_is_not_kept_in_plain_text(portal: Portal) -> None:
    client = portal.client()
    identity = unique_platform_id()
    code = await web_code(portal, client, "discord", identity)
    assert await stored_codes(portal, identity) == [code]  # live: the bot may still fetch it
    await client.verify(code)
    assert await stored_codes(portal, identity) == [None]


async def test_a_used_bot_code_is_not_kept_in_plain_text(portal: Portal) -> None:
    user = await portal.create_user()
    bot = await portal.default_bot()
    sent = await bot.send_code(*identity_of(user), "tester")
    await portal.client().verify(sent["code"])
    assert await stored_codes(portal, identity_of(user)[1]) == [None]


async def test_a_cancelled_code_is_not_kept_in_plain_text(portal: Portal) -> None:
    client = portal.client(ip="10.14.0.1")
    identity = unique_platform_id()
    first = await web_code(portal, client, "discord", identity)
    second = await web_code(portal, client, "discord", identity)
    assert first != second
    assert await stored_codes(portal, identity) == [None, second]


async def test_an_expired_code_is_cleared_by_the_janitor(portal: Portal) -> None:
    identity = unique_platform_id()
    await web_code(portal, portal.client(), "discord", identity)
    portal.server.clock.advance(LOGIN_CODE_TTL + 1)
    await portal.container.janitor.run_once()
    assert await stored_codes(portal, identity) == [None]


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize("first", ["migrate", "engine"])
async def test_the_sqlite_files_are_created_owner_only(tmp_path: Path, first: str) -> None:
    path = tmp_path / "var" / "portal.db"
    url = f"sqlite+aiosqlite:///{path}"
    if first == "migrate":
        await upgrade_async(url)
    db = Database(url)
    try:
        async with db.transaction() as session:
            await session.execute(text("CREATE TABLE IF NOT EXISTS t (x INTEGER)"))
            await session.execute(text("INSERT INTO t VALUES (1)"))
        files = [path, path.with_name("portal.db-wal"), path.with_name("portal.db-shm")]
        modes = {f.name: oct(mode(f)) if f.exists() else None for f in files}
        assert modes == {f.name: "0o600" for f in files}
    finally:
        await db.dispose()


async def test_an_existing_sqlite_file_is_narrowed_to_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "portal.db"
    path.touch(mode=0o644)
    path.chmod(0o644)
    db = Database(f"sqlite+aiosqlite:///{path}")
    try:
        await db.ping()
        assert oct(mode(path)) == "0o600"
    finally:
        await db.dispose()
