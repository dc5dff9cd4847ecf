"""`chats_db.add_member` is one `INSERT … ON CONFLICT DO NOTHING` (a join's hot path): a second membership
of the same user is skipped, not an error, and a membership of a chat that went meanwhile raises the
caller's error, on both databases."""

from __future__ import annotations

import pytest

from portal.db import chats as chats_db
from portal.db.models import ChatMember
from portal.errors import NotFound
from tests.helpers import Portal
from tests.messaging.support import public_room


def _member(chat_id: int, user_id: int, portal: Portal) -> ChatMember:
    now = portal.server.clock.now()
    return ChatMember(chat_id=chat_id, user_id=user_id, method="direct", joined_at=now, created_at=now)


async def test_a_second_membership_is_skipped_in_one_statement(portal: Portal) -> None:
    _owner, chat, _sender = await public_room(portal)
    newcomer = await portal.login()
    db = portal.container.db
    async with db.transaction() as session:
        assert await chats_db.add_member(
            session, _member(chat["id"], newcomer.id, portal), gone=NotFound("Chat")
        )
    async with db.transaction() as session:
        again = _member(chat["id"], newcomer.id, portal)
        assert await chats_db.add_member(session, again, gone=NotFound("Chat")) is False
        assert await chats_db.membership(session, chat["id"], newcomer.id) is not None  # still usable
    async with db.read() as session:
        assert [m.user_id for m in await chats_db.members(session, chat["id"])].count(newcomer.id) == 1


async def test_a_membership_of_a_chat_that_is_gone_raises_the_callers_error(portal: Portal) -> None:
    newcomer = await portal.login()
    with pytest.raises(NotFound, match="Chat not found"):
        async with portal.container.db.transaction() as session:
            await chats_db.add_member(
                session, _member(2_000_000_000, newcomer.id, portal), gone=NotFound("Chat")
            )
