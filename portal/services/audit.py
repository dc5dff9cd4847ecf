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
from portal.errors import BadRequest
from portal.schemas.admin_users import AuditItemOut, AuditLogsOut
from portal.services.base import Service

EntityType = Literal["user", "chat", "bot"]
ENTITY_TYPES = ("user", "chat", "bot")
LOGS_LIMIT_RANGE = (1, 200)
Entity = tuple[EntityType, int]


class AuditEvent(StrEnum):
    """Every `event_type` the audit log holds."""

    BOT_DELETE = "BOT_DELETE"
    BOT_KEY_REGENERATE = "BOT_KEY_REGENERATE"
    ANNOUNCEMENT_CREATE = "ANNOUNCEMENT_CREATE"
    ANNOUNCEMENT_END = "ANNOUNCEMENT_END"
    BOT_REGISTER = "BOT_REGISTER"
    BOT_RESET_STATS = "BOT_RESET_STATS"
    BOT_UNVERIFY = "BOT_UNVERIFY"
    BOT_UPDATE = "BOT_UPDATE"
    BOT_VERIFY = "BOT_VERIFY"
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
    SUBSCRIPTION_REVOKE = "SUBSCRIPTION_REVOKE"
    USER_BAN = "USER_BAN"
    USER_BOT_LOGIN = "USER_BOT_LOGIN"
    USER_HARD_MUTE = "USER_HARD_MUTE"
    USER_HARD_UNMUTE = "USER_HARD_UNMUTE"
    USER_LINK_PLATFORM = "USER_LINK_PLATFORM"
    USER_TIMEOUT = "USER_TIMEOUT"
    USER_UNBAN = "USER_UNBAN"
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


class AuditLogView(Service):
    """Reading the audit log (`GET /v1/admin/audit/logs`, `portal admin audit logs`, 08 §39)."""

    async def logs(
        self,
        *,
        event_type: str | None = None,
        entity_type: str | None = None,
        entity_id: int | None = None,
        actor_id: int | None = None,
        offset: int = 0,
        limit: int = 50,
    ) -> AuditLogsOut:
        """Newest first. Unknown event types simply match nothing (other issues add their own)."""
        if entity_type is not None and entity_type not in ENTITY_TYPES:
            raise BadRequest("entity_type must be one of: " + ", ".join(ENTITY_TYPES))
        low, high = LOGS_LIMIT_RANGE
        if not low <= limit <= high:
            raise BadRequest(f"limit must be between {low} and {high}")
        if offset < 0:
            raise BadRequest("offset must be between 0 and 1000000000")
        async with self.c.db.read() as session:
            rows, total = await audit_db.search(
                session,
                event_type=event_type,
                entity_type=entity_type,
                entity_id=entity_id,
                actor_id=actor_id,
                offset=offset,
                limit=limit,
            )
        return AuditLogsOut(
            items=[AuditItemOut.model_validate(r, from_attributes=True) for r in rows],
            total=total,
            offset=offset,
            limit=limit,
        )
