"""Direct chats: opening one for a matched pair, and reading a user's active ones (05-match §6.1).

The chat's life after it opens (seating sockets, the disconnect grace, leave, archive, expiry, purge) is
`direct_lifecycle.py`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from portal.db import chats as chats_db
from portal.db import match as match_db
from portal.db import users as users_db
from portal.db.models import ChatMember, LinkedPlatform, User
from portal.db.uow import on_commit
from portal.domain import ChatType, Visibility
from portal.events import MatchFound, MatchPeer
from portal.security import match_token
from portal.services.base import Service
from portal.services.chats import DEFAULT_BROWSER_CONFIG, ChatService
from portal.services.notifier import user_room
from portal.services.user_views import avatar_url
from portal.services.words import direct_chat_name

log = logging.getLogger("portal.match")


def opening_text(peer_name: str, matched_on: list[str]) -> str:
    """The opening system message (05 §6.1, 08 §30)."""
    return f"Chat started — say hi to {peer_name}! Matched on: {', '.join(matched_on)}"


@dataclass(frozen=True)
class ActiveDirectChat:
    chat_id: int
    token: str  # this user's match token for `room:join {token}`
    expires_at: datetime
    created_at: datetime
    peer_id: int = 0


class DirectChats(Service):
    def token(self, chat_id: int, user_id: int) -> str:
        return match_token(self.c.settings.resolved_secret_key, chat_id, user_id)

    async def open(self, first_user_id: int, second_user_id: int, matched_on: list[str]) -> int:
        """Create the direct chat of a new pair (first = who queued first); answers its id. Sends
        `match:found` to both and seats their connected sockets (`direct_lifecycle.seat`) after commit."""
        now = self.now
        expires_at = now + timedelta(seconds=self.c.settings.direct_chat_ttl)
        async with self.c.db.transaction() as session:
            users, platforms = await users_db.users_with_platforms(session, [first_user_id, second_user_id])
            first, second = users[first_user_id], users[second_user_id]
            chat = ChatService.new_chat(
                name=direct_chat_name(),
                owner_id=None,
                visibility=Visibility.PRIVATE,
                slug=None,
                description=None,
                allow_control_requests=False,
                browser_config=dict(DEFAULT_BROWSER_CONFIG),
                now=now,
            )
            chat.chat_type = ChatType.DIRECT
            chat.expires_at = expires_at
            await chats_db.insert(session, chat)
            await session.flush()
            for user in (first, second):
                session.add(
                    ChatMember(
                        chat_id=chat.id,
                        user_id=user.id,
                        method=None,
                        invite_code=None,
                        joined_at=now,
                        created_at=now,
                    )
                )
            # One message both read: it greets the user who was waiting with the newcomer's name.
            await self.c.messages.post_system(session, chat, opening_text(second.username, matched_on))
            peers = {
                first.id: await self._peer(session, second, platforms.get(second.id, [])),
                second.id: await self._peer(session, first, platforms.get(first.id, [])),
            }
            chat_id = chat.id

            async def announce() -> None:
                for user_id, peer in peers.items():
                    found = MatchFound(
                        chat_id=chat_id,
                        token=self.token(chat_id, user_id),
                        matched_on=list(matched_on),
                        expires_at=expires_at,
                        peer=peer,
                    )
                    await self.c.notifier.send(found, room=user_room(user_id))
                await self.c.direct_lifecycle.seat(chat_id, [first_user_id, second_user_id])

            on_commit(session, announce)
        return chat_id

    async def _peer(self, session: AsyncSession, user: User, platforms: list[LinkedPlatform]) -> MatchPeer:
        """How a matched user is shown to the other; strangers with a country from their session's IP."""
        country = await self.c.strangers.country_in(session, user)
        return MatchPeer(
            id=user.id,
            username=user.username,
            avatar_url=avatar_url(user, platforms),
            is_stranger=user.is_stranger,
            country_code=country,
        )

    async def active_for(self, user_id: int) -> list[ActiveDirectChat]:
        """The user's active (not archived, not expired) direct chats, newest first."""
        async with self.c.db.read() as session:
            rows = await match_db.active_direct(session, user_id, self.now)
        return [
            ActiveDirectChat(
                chat_id=row.chat_id,
                token=self.token(row.chat_id, user_id),
                expires_at=row.expires_at or row.created_at,
                created_at=row.created_at,
                peer_id=row.peer_id,
            )
            for row in rows
        ]
