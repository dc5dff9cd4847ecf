"""Domain values shared by every layer: the states and kinds stored in the database and sent on the wire.

`IntEnum` / `StrEnum` members compare equal to, and serialise as, the bare values they replace, so the
database rows and the JSON answers are the same as with plain `0` or `"group"`. Standard library only:
`portal.db`, the services, the schemas and the client SDK all import it without cycles.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum


class UserState(IntEnum):
    """`users.state`; `users.state_expires_at` lifts a timeout or a timed ban by itself."""

    ACTIVE = 0
    TIMED_OUT = 1
    BANNED = 2


class SessionEnd(StrEnum):
    """`user_sessions.end_reason`, and the `reason` of the `session:ended` event."""

    LOGOUT = "logout"
    REVOKED = "revoked"  # ended by its user from another session
    EXPIRED = "expired"
    TIMEOUT = "timeout"  # the user was timed out
    BANNED = "banned"  # the user is banned from the platform
    PERMISSION_CHANGED = "permission_changed"  # the user's permission level changed (00 §3.3)


class ChatType(StrEnum):
    """`chats.chat_type`. Only group chats are created by the API; direct chats (match tokens) and secret
    chats are not built yet."""

    GROUP = "group"
    DIRECT = "direct"
    SECRET = "secret"


class Visibility(StrEnum):
    """`chats.visibility` of a group chat."""

    OFFICIAL = "official"
    PUBLIC = "public"
    PRIVATE = "private"


# Listed in the chat directory: anyone may see and join them.
LISTED = (Visibility.OFFICIAL, Visibility.PUBLIC)


class JoinMethod(StrEnum):
    """How a user became a member (`chat_members.method`, `chat_activity.method`)."""

    DIRECT = "direct"  # joined a listed chat by its id (not a direct chat)
    VANITY = "vanity"  # joined a listed chat by its slug
    INVITE = "invite"


class ActivityAction(StrEnum):
    """`chat_activity.action`."""

    JOIN = "join"
    LEAVE = "leave"
    KICK = "kick"
    BAN = "ban"


class MessageType(StrEnum):
    """`messages.type`: end-to-end-encrypted user messages, or plain-text system notices."""

    USER = "user"
    SYSTEM = "system"


class ModerationKind(StrEnum):
    """`moderation_actions.action_type` (`GET /v1/users/me/punishments`); a chat action's audit event has the
    same name."""

    CHAT_KICK = "CHAT_KICK"
    CHAT_MUTE = "CHAT_MUTE"
    CHAT_BAN = "CHAT_BAN"
    PLATFORM_BAN = "PLATFORM_BAN"
    PLATFORM_TIMEOUT = "PLATFORM_TIMEOUT"
    PLATFORM_WARNING = "PLATFORM_WARNING"
    PLATFORM_HARD_MUTE = "PLATFORM_HARD_MUTE"


class RestrictionKind(StrEnum):
    """`chat_restrictions.kind`: a chat ban or a chat mute in force."""

    BAN = "ban"
    MUTE = "mute"


# ---- limits enforced in more than one layer (request schemas, services, socket handlers) --------------

DAY_SECONDS = 86_400
MAX_PUNISHMENT_SECONDS = 30 * DAY_SECONDS  # the longest timed chat ban or platform timeout
MIN_TIMEOUT_SECONDS = 60
MAX_BAN_SECONDS = 365 * DAY_SECONDS  # the longest timed platform ban (08 §37)
MAX_MUTE_SECONDS = DAY_SECONDS  # the longest timed chat mute or hard mute
MAX_REASON_LENGTH = 500  # a moderation or grant reason (the `reason` columns are String(500))
