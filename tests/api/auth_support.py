"""Shared pieces of the authentication tests: raw cookie parsing, clock alignment and direct row edits.

Row edits (a user's `state`, a bot's `is_active`, a second linked platform) stand in for admin actions
whose endpoints do not exist yet; everything under test still goes through the HTTP API.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import func, select, update

from portal.client import BotClient, PortalClient
from portal.db.models import Bot, LinkedPlatform, Notification, User, UserSession
from tests.helpers import Portal
from tests.helpers import parse_time as when

AUTH = "/v1/authentication"
CODE_RE = re.compile(r"^[A-Za-z0-9]{8}$")
LOGIN_CODE_TTL = 600
NO_CODE = {"code": None, "expires_at": None, "pending": []}  # bot/login-code with nothing pending


def assert_around(value: str, before: datetime, after: datetime, seconds: float) -> None:
    """`value` is `seconds` after a moment between `before` and `after` (the server clock)."""
    moment = when(value)
    low = before + timedelta(seconds=seconds) - timedelta(milliseconds=5)
    high = after + timedelta(seconds=seconds) + timedelta(milliseconds=5)
    assert low <= moment <= high, f"{moment} not within [{low}, {high}]"


def cookie(response: httpx.Response, name: str = "psession") -> tuple[str, dict[str, str]]:
    """The value and the attributes (lower-case names) of the `Set-Cookie` for `name`."""
    for header in response.headers.get_list("set-cookie"):
        first, *attributes = [part.strip() for part in header.split(";")]
        key, _, value = first.partition("=")
        if key != name:
            continue
        parsed: dict[str, str] = {}
        for attribute in attributes:
            attr, _, attr_value = attribute.partition("=")
            parsed[attr.strip().lower()] = attr_value.strip()
        return value.strip('"'), parsed
    raise AssertionError(f"no Set-Cookie for {name}: {response.headers.get_list('set-cookie')}")


def flip_case(code: str) -> str:
    """The code with the case of its first letter changed (8 digits are a one-in-2-million case)."""
    for i, char in enumerate(code):
        if char.isalpha():
            return code[:i] + char.swapcase() + code[i + 1 :]
    raise AssertionError(f"code {code!r} has no letter to flip")


async def web_code(
    portal: Portal,
    client: PortalClient,
    platform: str,
    platform_user_id: str,
    *,
    bot: BotClient | None = None,
    platform_username: str = "tester",
    platform_avatar_url: str | None = None,
) -> str:
    """`request` from `client`, then the platform bot fetches the pending code (01 §4.3, §4.6)."""
    await client.request_code(platform, platform_user_id)
    bot = bot or await portal.default_bot()
    got = await bot.login_code(platform, platform_user_id, platform_username, platform_avatar_url)
    assert got["code"] and CODE_RE.match(got["code"]), got
    return got["code"]


async def verify_raw(client: PortalClient, code: Any) -> httpx.Response:
    return await client.raw("POST", f"{AUTH}/verify", json={"code": code})


# ---- direct row edits (no admin endpoints yet) --------------------------------------------------------


async def set_link_avatar(portal: Portal, user_id: int, platform: str, url: str | None) -> None:
    async with portal.container.db.transaction() as session:
        await session.execute(
            update(LinkedPlatform)
            .where(LinkedPlatform.user_id == user_id, LinkedPlatform.platform == platform)
            .values(platform_avatar_url=url)
        )


async def set_bot_active(portal: Portal, bot_id: int, active: bool) -> None:
    async with portal.container.db.transaction() as session:
        await session.execute(update(Bot).where(Bot.id == bot_id).values(is_active=active))


async def user_row(portal: Portal, user_id: int) -> User:
    async with portal.container.db.read() as session:
        user = await session.get(User, user_id)
    assert user is not None
    return user


async def notifications_of(portal: Portal, user_id: int) -> list[Notification]:
    async with portal.container.db.read() as session:
        rows = await session.execute(select(Notification).where(Notification.user_id == user_id))
        return list(rows.scalars().all())


async def users_linked_to(portal: Portal, platform: str, platform_user_id: str) -> int:
    async with portal.container.db.read() as session:
        query = select(func.count()).where(
            LinkedPlatform.platform == platform, LinkedPlatform.platform_user_id == platform_user_id
        )
        return int((await session.execute(query)).scalar_one())


async def open_sessions_of(portal: Portal, user_id: int) -> int:
    async with portal.container.db.read() as session:
        query = select(func.count()).where(UserSession.user_id == user_id, UserSession.ended_at.is_(None))
        return int((await session.execute(query)).scalar_one())
