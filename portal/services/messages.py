"""Chat messages: the message object and system messages.

User messages (E2EE) are sent by `portal/services/messaging.py`; system messages are written here because
joins, leaves, kicks, punishments and config changes post them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from portal.clock import isoformat
from portal.db import messages as messages_db
from portal.db.models import Chat, LinkedPlatform, Message, User
from portal.db.uow import on_commit
from portal.domain import MessageType
from portal.events import MessageNew
from portal.services.base import Service
from portal.services.notifier import chat_room
from portal.services.user_views import avatar_url

SYSTEM_EPOCH = "0000000000000000"


def epoch_hex(epoch: int) -> str:
    """History shows the epoch as 16 lowercase hex digits."""
    return f"{epoch:016x}"


def message_view(
    message: Message | messages_db.MessageRow,
    chat: Chat,
    sender: User | None,
    platforms: Sequence[LinkedPlatform] = (),
) -> dict[str, Any]:
    """The history message object, also the payload of `message:new`. `platforms` are the
    sender's linked platforms (its avatar comes from them unless it chose a default one)."""
    return message_object(message, chat.id, chat.name, sender_ref(sender, platforms))


def sender_ref(sender: User | None, platforms: Sequence[LinkedPlatform] = ()) -> dict[str, Any] | None:
    """A message's `sender`: shared by every message of one sender on a history page."""
    if sender is None:
        return None
    return {"id": sender.id, "username": sender.username, "avatar_url": avatar_url(sender, platforms)}


def message_object(
    message: Message | messages_db.MessageRow,
    chat_id: int,
    chat_name: str | None,
    sender: dict[str, Any] | None,
) -> dict[str, Any]:
    kind = message.type
    return {
        "chat_id": chat_id,
        "chat_name": chat_name,
        "id": message.wire_id,
        "sender": sender,
        "permission_level": message.sender_level,
        "content": message.content,
        "type": kind,
        "epoch": SYSTEM_EPOCH if kind == MessageType.SYSTEM else epoch_hex(message.epoch),
        "timestamp": isoformat(message.created_at),
    }


class MessageService(Service):
    async def post_system(
        self, session: AsyncSession, chat: Chat, text: str, *, announce: bool = True
    ) -> Message:
        """Store a plain-text system message and announce it (`message:new`) once the transaction commits.
        With `announce=False` the caller sends it (an archive sends it over the bus, in order with the
        rest)."""
        now = self.c.clock.now()
        ms, seq = await messages_db.next_id(session, chat, now)
        message = await messages_db.add(
            session,
            Message(
                chat_id=chat.id,
                ms=ms,
                seq=seq,
                sender_id=None,
                sender_level=None,
                type=MessageType.SYSTEM,
                content=text,
                epoch=0,
                created_at=now,
            ),
        )
        if not announce:
            return message
        event = MessageNew.model_validate(message_view(message, chat, None))

        async def send() -> None:
            await self.c.notifier.send(event, room=chat_room(chat.id))

        on_commit(session, send)
        return message
