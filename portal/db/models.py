"""Durable tables. Every change here needs an Alembic migration.

Time columns are `UTCDateTime` and always written from the application clock (never a database
default), so a test clock controls expiry the same way on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from portal.db.base import Base, JSONType, UTCDateTime
from portal.domain import ChatType, UserState


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    avatar_source: Mapped[str | None] = mapped_column(String(32))
    permission_level: Mapped[int] = mapped_column(SmallInteger, default=0)
    permission_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A `UserState`; `state_expires_at` lifts a timeout or a timed ban by itself.
    state: Mapped[int] = mapped_column(SmallInteger, default=UserState.ACTIVE)
    state_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    subscription_tier: Mapped[int] = mapped_column(SmallInteger, default=0)
    subscription_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    subscription_granted_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    trial_used: Mapped[bool] = mapped_column(Boolean, default=False)
    chat_slots_override: Mapped[int | None] = mapped_column(Integer)
    is_stranger: Mapped[bool] = mapped_column(Boolean, default=False)
    # Verified bot-code logins since the last web login.
    bot_login_streak: Mapped[int] = mapped_column(Integer, default=0)
    last_activity_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("uq_users_username_lower", func.lower(username), unique=True),
        Index("ix_users_is_stranger", "is_stranger"),
    )


class LinkedPlatform(Base):
    __tablename__ = "linked_platforms"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    platform: Mapped[str] = mapped_column(String(32))
    platform_user_id: Mapped[str] = mapped_column(String(64))
    platform_username: Mapped[str | None] = mapped_column(String(100))
    platform_avatar_url: Mapped[str | None] = mapped_column(String(2048))
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_authenticated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("platform", "platform_user_id", name="uq_linked_platforms_identity"),)


class UserSession(Base):
    """A login session. Only the SHA-256 of the token is stored, plus its last 6 characters."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token_suffix: Mapped[str] = mapped_column(String(6))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_reason: Mapped[str | None] = mapped_column(String(32))  # a `SessionEnd`
    client_ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(512))
    geo: Mapped[dict[str, Any] | None] = mapped_column(JSONType)

    __table_args__ = (Index("ix_user_sessions_user_ended", "user_id", "ended_at"),)


class LoginCode(Base):
    """A one-time login code. `kind` is "web" (IP-bound) or "bot" (bot/send-code).

    The plain code is kept only while the code is pending, because `bot/login-code` hands it to the bot;
    using or cancelling a code clears it, and the janitor clears it once expired (issue 14, data at rest).
    Lookups go through `code_hash` (a keyed hash) so comparing a guess never walks the secret character by
    character.
    """

    __tablename__ = "login_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str | None] = mapped_column(String(8))
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(8))
    platform: Mapped[str] = mapped_column(String(32))
    platform_user_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    client_ip: Mapped[str | None] = mapped_column(String(64))
    # The bot that issued a "bot" code (`send-code`), for the staff sign-in audit event (08 §65).
    bot_id: Mapped[int | None] = mapped_column(Integer)
    # What the bot last reported for a not-yet-registered identity (used at signup).
    platform_username: Mapped[str | None] = mapped_column(String(100))
    platform_avatar_url: Mapped[str | None] = mapped_column(String(2048))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_login_codes_identity", "platform", "platform_user_id", "kind"),
        Index("ix_login_codes_client_ip", "client_ip"),
        Index("ix_login_codes_expires_at", "expires_at"),
    )


class SubscriptionHistory(Base):
    __tablename__ = "subscription_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    old_tier: Mapped[int] = mapped_column(SmallInteger)
    new_tier: Mapped[int] = mapped_column(SmallInteger)
    reason: Mapped[str | None] = mapped_column(String(500))
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PermissionHistory(Base):
    __tablename__ = "permission_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    old_level: Mapped[int] = mapped_column(SmallInteger)
    new_level: Mapped[int] = mapped_column(SmallInteger)
    reason: Mapped[str | None] = mapped_column(String(500))
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ModerationAction(Base):
    """Platform and chat punishments."""

    __tablename__ = "moderation_actions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    action_type: Mapped[str] = mapped_column(String(32))  # a `ModerationKind`
    reason: Mapped[str | None] = mapped_column(String(500))
    chat_id: Mapped[int | None] = mapped_column(Integer, index=True)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    is_lifted: Mapped[bool] = mapped_column(Boolean, default=False)
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_moderation_actions_user_id_id", "user_id", "id"),)


class Notification(Base):
    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    type: Mapped[str] = mapped_column(String(16))
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    __table_args__ = (
        Index("ix_notifications_user_id_id", "user_id", "id"),
        Index("ix_notifications_user_id_read_at", "user_id", "read_at"),
    )


class Announcement(Base):
    """A platform-wide notice, listed by `GET /v1/announcements` while `starts_at <= now < ends_at`."""

    __tablename__ = "announcements"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    level: Mapped[str] = mapped_column(String(16))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_announcements_starts_at", "starts_at"),)


class Bot(Base):
    __tablename__ = "bots"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(32))
    platform: Mapped[str] = mapped_column(String(32))
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    bot_type: Mapped[int] = mapped_column(SmallInteger, default=3)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    rate_limit_per_hour: Mapped[int] = mapped_column(Integer, default=1000)
    groups: Mapped[int] = mapped_column(Integer, default=0)
    users: Mapped[int] = mapped_column(Integer, default=0)
    group_ids: Mapped[list[str]] = mapped_column(JSONType, default=list)
    avatar_url: Mapped[str | None] = mapped_column(String(2048))
    latency_ms: Mapped[float | None] = mapped_column(Float)
    api_key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    last_activity_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = ({"sqlite_autoincrement": True},)  # a deleted bot's id is never reused


class BotCommandStat(Base):
    """Command executions a bot reported (`POST /v1/bot/batch`), summed per bot, command and UTC day."""

    __tablename__ = "bot_command_stats"

    bot_id: Mapped[int] = mapped_column(ForeignKey("bots.id", ondelete="CASCADE"), primary_key=True)
    command: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger, default=0)


class AuditLog(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entity_type: Mapped[str | None] = mapped_column(String(16))
    entity_id: Mapped[int | None] = mapped_column(Integer)
    actor_id: Mapped[int | None] = mapped_column(Integer, index=True)
    event_type: Mapped[str] = mapped_column(String(48), index=True)
    event_metadata: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_audit_log_entity", "entity_type", "entity_id"),)


# ---- chats --------------------------------------------------------------------------------------------


class Chat(Base):
    """A chat of a `ChatType`: a group chat has a `Visibility`; a direct chat (owner NULL, two members) has
    `expires_at` and, once ended, `archived_at` (services/direct_lifecycle.py); secret chats are not built
    yet."""

    __tablename__ = "chats"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chat_type: Mapped[str] = mapped_column(String(16), default=ChatType.GROUP)
    name: Mapped[str] = mapped_column(String(64))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    visibility: Mapped[str] = mapped_column(String(16))  # a `Visibility`
    label: Mapped[str | None] = mapped_column(String(64))
    slug: Mapped[str | None] = mapped_column(String(32), unique=True)
    description: Mapped[str | None] = mapped_column(String(500))
    avatar_source: Mapped[str | None] = mapped_column(String(32))
    browser_config: Mapped[dict[str, Any]] = mapped_column(JSONType)
    wipe_preset: Mapped[str | None] = mapped_column(String(8))
    # The auto-wipe timer counts from the latest preset change, clear or wipe.
    wipe_anchor_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    history_visible: Mapped[bool] = mapped_column(Boolean, default=True)
    allow_control_requests: Mapped[bool] = mapped_column(Boolean, default=False)
    locked_controls: Mapped[bool] = mapped_column(Boolean, default=False)
    implicit_hosting: Mapped[bool] = mapped_column(Boolean, default=False)
    inactive_cursors: Mapped[bool] = mapped_column(Boolean, default=False)
    screen_width: Mapped[int] = mapped_column(Integer, default=1280)
    screen_height: Mapped[int] = mapped_column(Integer, default=720)
    screen_rate: Mapped[int] = mapped_column(Integer, default=30)
    epoch: Mapped[int] = mapped_column(BigInteger, default=0)
    # The last message id handed out, as its two parts: ids are "{ms}-{seq}", strictly increasing per chat.
    last_message_ms: Mapped[int] = mapped_column(BigInteger, default=0)
    last_message_seq: Mapped[int] = mapped_column(Integer, default=0)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_activity_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    # AUTOINCREMENT on SQLite: a deleted chat's id is never handed out again (its audit rows keep meaning).
    __table_args__ = (
        Index("ix_chats_type_visibility", "chat_type", "visibility"),
        {"sqlite_autoincrement": True},
    )


class ChatMember(Base):
    """Membership: private-chat members, and users who joined an official/public chat."""

    __tablename__ = "chat_members"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chat_id: Mapped[int] = mapped_column(ForeignKey("chats.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    method: Mapped[str | None] = mapped_column(String(16))  # a `JoinMethod`
    invite_code: Mapped[str | None] = mapped_column(String(32))
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime)  # the latest join
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # A direct chat's disconnect grace (08 §54): set when this member's last socket left the room, cleared
    # when one comes back; the chat is archived once it passes (the janitor's guarantee, any node).
    away_until: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)

    __table_args__ = (UniqueConstraint("chat_id", "user_id", name="uq_chat_members_chat_user"),)


class ChatInvite(Base):
    __tablename__ = "chat_invites"

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    chat_id: Mapped[int] = mapped_column(ForeignKey("chats.id", ondelete="CASCADE"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    uses: Mapped[int] = mapped_column(Integer, default=0)
    max_uses: Mapped[int | None] = mapped_column(Integer)


class ChatActivity(Base):
    """Joins, leaves, kicks and bans of a chat."""

    __tablename__ = "chat_activity"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chat_id: Mapped[int] = mapped_column(ForeignKey("chats.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(8))  # an `ActivityAction`
    method: Mapped[str | None] = mapped_column(String(16))
    invite_code: Mapped[str | None] = mapped_column(String(32))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_chat_activity_chat_id_id", "chat_id", "id"),)


class Message(Base):
    """A chat message. The wire id is "{ms}-{seq}"; both parts are kept as integers so order is numeric."""

    __tablename__ = "messages"

    chat_id: Mapped[int] = mapped_column(ForeignKey("chats.id", ondelete="CASCADE"), primary_key=True)
    ms: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    sender_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    sender_level: Mapped[int | None] = mapped_column(SmallInteger)  # frozen at send time
    type: Mapped[str] = mapped_column(String(8))  # a `MessageType`
    content: Mapped[str] = mapped_column(Text)
    epoch: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_messages_chat_sender", "chat_id", "sender_id"),)

    @property
    def wire_id(self) -> str:
        return f"{self.ms}-{self.seq}"


# ---- E2EE and chat moderation -------------------------------------------------------------------------


class SessionKey(Base):
    """A session's registered X25519 public key: one per session, gone with the session."""

    __tablename__ = "session_keys"

    session_pk: Mapped[int] = mapped_column(
        ForeignKey("user_sessions.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    public_key: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ChatKeyBlob(Base):
    """A chat key wrapped for one session at one epoch; the first blob stored wins."""

    __tablename__ = "chat_key_blobs"

    chat_id: Mapped[int] = mapped_column(ForeignKey("chats.id", ondelete="CASCADE"), primary_key=True)
    epoch: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    session_pk: Mapped[int] = mapped_column(
        ForeignKey("user_sessions.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    blob: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ChatRestriction(Base):
    """A chat ban or mute (`kind`), with `expires_at` null for permanent / indefinite."""

    __tablename__ = "chat_restrictions"

    chat_id: Mapped[int] = mapped_column(ForeignKey("chats.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)  # a `RestrictionKind`
    reason: Mapped[str | None] = mapped_column(String(500))
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class HardMute(Base):
    """A platform-wide mute; `expires_at` null = until lifted."""

    __tablename__ = "hard_mutes"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    reason: Mapped[str | None] = mapped_column(String(500))
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class StrangerBlock(Base):
    """A moderator's block of one stranger session from matchmaking (00 §3.3, 08 §33).

    `block_key` is HMAC-SHA256(secret key, SHA-256 of the session token): the server never holds the
    token itself, and the key stays unguessable without the secret. The block lasts until the blocked
    session's own expiry (`expires_at`).
    """

    __tablename__ = "stranger_blocks"

    block_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
