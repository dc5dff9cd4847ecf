"""The audit log: who did what to which entity (docs/architecture.md, "Audit").

Every action that the audit log must show calls `AuditTrail.record` inside its own transaction, so the row
commits or rolls back with the change it describes. `actor=None` is the CLI or the system.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from portal.clock import Clock
from portal.db import audit as audit_db
from portal.db.models import User

EntityType = Literal["user", "chat", "bot"]
Entity = tuple[EntityType, int]


class AuditEvent(StrEnum):
    """Every `event_type` the audit log holds."""

    ANNOUNCEMENT_CREATE = "ANNOUNCEMENT_CREATE"
    ANNOUNCEMENT_END = "ANNOUNCEMENT_END"
    BOT_REGISTER = "BOT_REGISTER"
    CHAT_BAN = "CHAT_BAN"
    CHAT_CLEAR = "CHAT_CLEAR"
    CHAT_CREATE_OFFICIAL = "CHAT_CREATE_OFFICIAL"
    CHAT_DELETE = "CHAT_DELETE"
    CHAT_KICK = "CHAT_KICK"
    CHAT_MUTE = "CHAT_MUTE"
    CHAT_TRANSFER = "CHAT_TRANSFER"
    CHAT_UNBAN = "CHAT_UNBAN"
    CHAT_UPDATE = "CHAT_UPDATE"
    NOTIFICATION_BROADCAST = "NOTIFICATION_BROADCAST"
    NOTIFICATION_SEND = "NOTIFICATION_SEND"
    PERMISSION_CHANGE = "PERMISSION_CHANGE"
    STRANGER_BLOCK = "STRANGER_BLOCK"
    SUBSCRIPTION_GRANT = "SUBSCRIPTION_GRANT"
    USER_HARD_MUTE = "USER_HARD_MUTE"
    USER_TIMEOUT = "USER_TIMEOUT"
    USER_WARN = "USER_WARN"


class AuditTrail:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    async def record(
        self,
        session: AsyncSession,
        event: AuditEvent,
        *,
        actor: User | None,
        on: Entity | None,
        **metadata: Any,
    ) -> None:
        """One audit row in the caller's transaction; `metadata` is stored as given."""
        entity_type, entity_id = on if on is not None else (None, None)
        await audit_db.record(
            session,
            event_type=event.value,
            entity_type=entity_type,
            entity_id=entity_id,
            actor_id=actor.id if actor is not None else None,
            metadata=metadata,
            now=self.clock.now(),
        )
