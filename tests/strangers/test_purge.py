"""Expired strangers are purged: a stranger cannot sign in again once their session is over, so the janitor
deletes the row (and its sessions) a day after the last session ended or expired — but not while a chat
still lists them (a direct chat is archived, then purged, first). Registered users are never purged."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from portal.db.models import User, UserSession
from portal.services.strangers import STRANGER_RETENTION
from tests.helpers import LoggedIn, Portal
from tests.messaging.support import frozen

SESSION = timedelta(hours=24)


async def exists(portal: Portal, who: LoggedIn) -> bool:
    async with portal.container.db.read() as session:
        return await session.get(User, who.id) is not None


async def sessions_of(portal: Portal, who: LoggedIn) -> int:
    async with portal.container.db.read() as session:
        query = select(func.count()).select_from(UserSession).where(UserSession.user_id == who.id)
        return int((await session.execute(query)).scalar_one())


async def sweep(portal: Portal) -> int:
    """Janitor passes until nothing more is purged (a pass takes at most one batch)."""
    purged = 0
    while (report := await portal.container.janitor.run_once()).strangers_purged:
        purged += report.strangers_purged
    return purged


async def test_a_stranger_goes_a_day_after_their_session_expires(portal: Portal) -> None:
    with frozen(portal.server.clock) as clock:
        stranger = await portal.stranger()
        registered = await portal.login()
        assert await sessions_of(portal, stranger) == 1

        clock.advance((SESSION + STRANGER_RETENTION).total_seconds() - 1)
        await sweep(portal)
        assert await exists(portal, stranger)  # the session expired less than a day ago

        clock.advance(2)
        assert await sweep(portal) >= 1
        assert not await exists(portal, stranger)
        assert await sessions_of(portal, stranger) == 0
        assert await exists(portal, registered)  # a registered user's expired session deletes nothing


async def test_a_stranger_who_logged_out_goes_a_day_later(portal: Portal) -> None:
    with frozen(portal.server.clock) as clock:
        stranger = await portal.stranger()
        await stranger.client.call("POST", "/v1/authentication/logout")
        clock.advance(STRANGER_RETENTION.total_seconds() + 1)
        await sweep(portal)
        assert not await exists(portal, stranger)


async def test_a_stranger_in_a_direct_chat_stays_until_the_chat_is_purged(portal: Portal) -> None:
    settings = portal.server.settings
    with frozen(portal.server.clock) as clock:
        stranger, peer = await portal.stranger(), await portal.login()
        chat_id = await portal.direct_chat(stranger, peer)

        clock.advance((SESSION + STRANGER_RETENTION).total_seconds() + 1)
        await sweep(portal)  # archives the chat (its 24 h are over); the stranger is still a member
        assert await exists(portal, stranger)
        history = await peer.client.call("GET", f"/v1/portal/chats/{chat_id}/history")
        assert isinstance(history, list)  # the archived chat still reads for the peer

        clock.advance(settings.direct_archive_ttl + 1)
        await sweep(portal)  # the chat is purged first, then its stranger
        await sweep(portal)
        assert not await exists(portal, stranger)
        assert await exists(portal, peer)
