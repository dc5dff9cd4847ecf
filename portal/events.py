"""Every server → client Socket.IO event and its payload (docs/realtime.md, "Server → client").

An event is a pydantic model whose class-level `name` is the Socket.IO event name; `payload()` is exactly
what goes over the wire (field order, nulls and nesting included). Services build one and send it after
commit:

    await self.c.notifier.send(UserBanned(chat_id=chat_id, user_id=user_id), room=chat_room(chat_id))

Models are strict and refuse unknown fields, so building one from an existing dict can neither coerce a
value nor silently drop a key. Class names are the event names in CamelCase (`room:epoch_changed` →
`RoomEpochChanged`). `CATALOGUE` maps every name to its model; tests/unit/test_event_catalogue.py fails
when it and docs/realtime.md disagree.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from portal.schemas.chats import MemberUser, UserRef
from portal.schemas.notifications import NotificationOut


class Event(BaseModel):
    """One server → client event. Subclasses set `name`; those with fields that are sent only when given
    set `omit_unset` (a field given as None is still sent as null)."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    name: ClassVar[str]
    omit_unset: ClassVar[bool] = False

    def payload(self) -> Any:
        """The JSON-ready data sent with the event."""
        return self.model_dump(mode="json", by_alias=True, exclude_unset=self.omit_unset)

    @classmethod
    def from_payload(cls, data: Any) -> Event:
        """The event a payload (as JSON gives it to a client) was made from; tests check payloads with it."""
        return cls.model_validate_json(json.dumps(data))


class Shape(BaseModel):
    """A nested part of a payload (not an event by itself)."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


# ---- the lobby -----------------------------------------------------------------------------------------


class ChatStatus(Event):
    """To everyone who can list the chat, on any change of its live state."""

    name: ClassVar[str] = "chat:status"
    chat_id: int
    running: bool
    viewer_count: int


class ChatList(Event):
    """To a socket as it connects: the live state of every chat its user can list. The payload is the
    bare list of `chat:status` payloads."""

    name: ClassVar[str] = "chat:list"
    chats: list[ChatStatus]

    def payload(self) -> list[dict[str, Any]]:
        return [chat.payload() for chat in self.chats]

    @classmethod
    def from_payload(cls, data: Any) -> ChatList:
        return cls.model_validate_json(json.dumps({"chats": data}))


# ---- the room ------------------------------------------------------------------------------------------


class MessageNew(Event):
    """The history message object (also what `GET …/messages` lists)."""

    name: ClassVar[str] = "message:new"
    chat_id: int
    chat_name: str
    id: str
    sender: UserRef | None
    permission_level: int | None
    content: str
    type: str
    epoch: str
    timestamp: str


class MessageBulkDeleted(Event):
    name: ClassVar[str] = "message:bulk_deleted"
    chat_id: int
    ids: list[str]


class RoomMemberJoined(Event):
    name: ClassVar[str] = "room:member_joined"
    chat_id: int
    user: UserRef


class RoomMemberLeft(Event):
    name: ClassVar[str] = "room:member_left"
    chat_id: int
    user: UserRef


class MemberEntry(Shape):
    user: MemberUser
    online: bool


class RoomMembers(Event):
    name: ClassVar[str] = "room:members"
    chat_id: int
    members: list[MemberEntry]


class RoomKicked(Event):
    """Carried by an eviction: the target's sockets get it, then leave the room."""

    name: ClassVar[str] = "room:kicked"
    chat_id: int
    reason: str | None


class RoomDestroyed(Event):
    """`archived` is sent only when a direct chat ended (08 §28): its history stays readable."""

    name: ClassVar[str] = "room:destroyed"
    omit_unset: ClassVar[bool] = True
    chat_id: int
    archived: bool = False


class RoomPeerLeft(Event):
    """To the other member of a direct chat: `grace_until_ms` is the absolute Unix time (ms) at which the
    chat ends unless `user_id` comes back; 0 = it has ended (a leave or a grace that ran out)."""

    name: ClassVar[str] = "room:peer_left"
    chat_id: int
    user_id: int
    grace_until_ms: int


class RoomPeerBack(Event):
    name: ClassVar[str] = "room:peer_back"
    chat_id: int
    user_id: int


class RoomConfig(Event):
    """`chat_id` plus each changed field under its update name (fields in the order the portal and admin
    updates record them, so the payload keeps today's key order)."""

    name: ClassVar[str] = "room:config"
    omit_unset: ClassVar[bool] = True
    chat_id: int
    history_visible: bool | None = None
    allow_control_requests: bool | None = None
    locked_controls: bool | None = None
    implicit_hosting: bool | None = None
    inactive_cursors: bool | None = None
    chat_name: str | None = Field(default=None, alias="name")  # `name` on the class is the event's
    label: str | None = None
    description: str | None = None
    browser_config: dict[str, Any] | None = None
    slug: str | None = None
    visibility: str | None = None
    wipe_preset: str | None = None


class Typing(Event):
    """To the chat room but the sender's socket."""

    name: ClassVar[str] = "typing"
    chat_id: int
    user_id: int


# ---- end-to-end encryption -----------------------------------------------------------------------------


class SessionRef(Shape):
    user_id: int
    session_id: str


class SessionKey(SessionRef):
    public_key: str | None


class RoomEpochChanged(Event):
    name: ClassVar[str] = "room:epoch_changed"
    chat_id: int
    epoch: int
    distributor: SessionRef | None


class KeyNeeded(Event):
    """To the distributor's session: the joined sessions that lack this epoch's key."""

    name: ClassVar[str] = "key:needed"
    chat_id: int
    epoch: int
    sessions: list[SessionKey]


class KeyReceived(Event):
    name: ClassVar[str] = "key:received"
    chat_id: int
    epoch: int
    blob: str


class PortalKeyAdded(Event):
    name: ClassVar[str] = "portal:key_added"
    chat_id: int
    user_id: int
    session_id: str
    public_key: str


class PortalKeyRemoved(Event):
    """`session_id` only when one session ended; a kick removes every key of the user."""

    name: ClassVar[str] = "portal:key_removed"
    omit_unset: ClassVar[bool] = True
    chat_id: int
    user_id: int
    session_id: str | None = None


class PortalCleared(Event):
    name: ClassVar[str] = "portal:cleared"
    chat_id: int
    cleared: int


# ---- moderation ----------------------------------------------------------------------------------------


class UserMuted(Event):
    name: ClassVar[str] = "user:muted"
    chat_id: int
    user_id: int
    ttl: int  # 0 = until unmuted
    reason: str | None


class UserUnmuted(Event):
    name: ClassVar[str] = "user:unmuted"
    chat_id: int
    user_id: int


class UserBanned(Event):
    name: ClassVar[str] = "user:banned"
    chat_id: int
    user_id: int


class UserUnbanned(Event):
    name: ClassVar[str] = "user:unbanned"
    chat_id: int
    user_id: int


class UserHardMuted(Event):
    """To every connected socket."""

    name: ClassVar[str] = "user:hard_muted"
    user_id: int
    ttl: int


class UserHardUnmuted(Event):
    name: ClassVar[str] = "user:hard_unmuted"
    user_id: int


# ---- the browser ---------------------------------------------------------------------------------------


class RoomStarted(Event):
    name: ClassVar[str] = "room:started"
    chat_id: int


class RoomStopped(Event):
    name: ClassVar[str] = "room:stopped"
    chat_id: int
    reason: str


class VmCredentials(Event):
    """chromium: `chat_id, kind, role, width, height`; neko: `chat_id, kind, url, username, password, role`
    (the fields a backend does not give are left out)."""

    name: ClassVar[str] = "vm:credentials"
    omit_unset: ClassVar[bool] = True
    chat_id: int
    kind: str
    url: str | None = None
    username: str | None = None
    password: str | None = None
    role: str
    width: int | None = None
    height: int | None = None


class VmFrame(Event):
    name: ClassVar[str] = "vm:frame"
    chat_id: int
    seq: int
    jpeg_b64: str
    width: int
    height: int


class ControlUpdate(Event):
    name: ClassVar[str] = "control:update"
    chat_id: int
    host_user_id: int | None
    queue: list[int]


# ---- the session and the user --------------------------------------------------------------------------


class SessionEnded(Event):
    """To the sockets of one session, which are then disconnected."""

    name: ClassVar[str] = "session:ended"
    reason: str


class NotificationNew(NotificationOut, Event):
    """The notification object, as `GET /v1/notifications` lists it; to the recipient's sockets."""

    name: ClassVar[str] = "notification:new"


# ---- matchmaking ---------------------------------------------------------------------------------------


class MatchPeer(Shape):
    id: int
    username: str
    avatar_url: str | None
    is_stranger: bool
    country_code: str | None  # stranger peers only (geo lookup of their session's IP); null otherwise


class MatchFound(Event):
    """To each user of a new pair (`user:{id}`): their direct chat, their own token and the other user."""

    name: ClassVar[str] = "match:found"
    chat_id: int
    token: str
    matched_on: list[str]
    expires_at: datetime
    peer: MatchPeer


def _catalogue(*events: type[Event]) -> dict[str, type[Event]]:
    catalogue: dict[str, type[Event]] = {}
    for event in events:
        if event.name in catalogue:
            raise ValueError(f"two events are named {event.name!r}")
        catalogue[event.name] = event
    return catalogue


CATALOGUE: dict[str, type[Event]] = _catalogue(
    ChatList,
    ChatStatus,
    MessageNew,
    RoomMemberJoined,
    RoomMemberLeft,
    RoomMembers,
    RoomKicked,
    RoomDestroyed,
    RoomPeerLeft,
    RoomPeerBack,
    RoomConfig,
    RoomEpochChanged,
    KeyNeeded,
    KeyReceived,
    PortalKeyAdded,
    PortalCleared,
    MessageBulkDeleted,
    UserMuted,
    UserUnmuted,
    UserBanned,
    UserUnbanned,
    UserHardMuted,
    UserHardUnmuted,
    RoomStarted,
    RoomStopped,
    VmCredentials,
    VmFrame,
    ControlUpdate,
    PortalKeyRemoved,
    Typing,
    SessionEnded,
    NotificationNew,
    MatchFound,
)
