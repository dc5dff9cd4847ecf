"""Wire shapes of group chats, invites, activity and the admin chat views."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

from portal.domain import ChatType, Visibility
from portal.schemas.common import DateTimeIn, RequestModel, int_range, matches, one_of, text_length

BROWSERS = ("chromium", "firefox", "brave", "tor-browser")
WIPE_PRESETS = ("1m", "15m", "1h", "4h", "24h")
SLUG_PATTERN = r"[a-z0-9-]+"

ChatName = Annotated[str, text_length(2, 64)]
Description = Annotated[str, text_length(0, 500)]
Slug = Annotated[str, text_length(2, 32), matches(SLUG_PATTERN)]


def _start_url(value: str | None) -> str | None:
    """null, about:blank, or an http(s) URL of at most 2048 characters."""
    if value is None or value == "about:blank":
        return value
    if len(value) > 2048:
        raise PydanticCustomError("portal", "must be at most 2048 characters")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or any(c.isspace() for c in value):
        raise PydanticCustomError("portal", "must be an http(s) URL or about:blank")
    return value


# ---- requests -------------------------------------------------------------------------------------


class BrowserConfigIn(RequestModel):
    browser: Annotated[str, one_of(*BROWSERS)] = "chromium"
    start_url: Annotated[str | None, AfterValidator(_start_url)] = None
    kiosk: bool = False


class CreateChatIn(RequestModel):
    name: ChatName = Field(examples=["movie-night"])
    description: Description | None = Field(default=None, examples=["Films every Friday"])
    allow_control_requests: bool = False
    browser_config: BrowserConfigIn | None = None


def _not_null(kind: str) -> AfterValidator:
    """An optional field that may be left out but not sent as null: 400 "{f} must be {kind}",
    checked with the rest of the body, before the chat is looked up."""

    def check(value: Any) -> Any:
        if value is None:
            raise PydanticCustomError("portal", f"must be {kind}")
        return value

    return AfterValidator(check)


OptionalFlag = Annotated[bool | None, _not_null("a boolean")]


class ConfigUpdateIn(RequestModel):
    """Only the fields present are applied. `wipe_preset: null` turns auto-wipe off and
    `slug: null` makes the chat private; the other fields may be left out but not sent as null."""

    wipe_preset: Annotated[str, one_of(*WIPE_PRESETS)] | None = Field(default=None, examples=["1h"])
    history_visible: OptionalFlag = None
    allow_control_requests: OptionalFlag = None
    locked_controls: OptionalFlag = None
    implicit_hosting: OptionalFlag = None
    inactive_cursors: OptionalFlag = None
    slug: Slug | None = Field(default=None, examples=["movie-night"])
    name: Annotated[ChatName | None, _not_null("a string")] = None


class InviteIn(RequestModel):
    expires_at: DateTimeIn | None = Field(default=None, examples=["2026-12-31T00:00:00Z"])
    max_uses: Annotated[int, int_range(1, 10000)] | None = Field(default=None, examples=[10])


class TargetIn(RequestModel):
    user_id: int = Field(examples=[42])


class AdminCreateChatIn(RequestModel):
    name: ChatName = Field(examples=["General"])
    slug: Slug = Field(examples=["general"])
    description: Description | None = Field(default=None, examples=["Official general chat"])
    allow_control_requests: bool = False
    browser_config: BrowserConfigIn | None = None


class AdminUpdateChatIn(RequestModel):
    name: ChatName | None = None
    visibility: Annotated[str, one_of(*Visibility)] | None = None
    label: Annotated[str, text_length(1, 64)] | None = None
    description: Description | None = None
    slug: Slug | None = None
    browser_config: BrowserConfigIn | None = None


class TransferIn(RequestModel):
    new_owner_id: int = Field(examples=[7])


# ---- answers --------------------------------------------------------------------------------------


class UserRef(BaseModel):
    id: int = Field(examples=[7])
    username: str = Field(examples=["cool_fox_123"])
    avatar_url: str | None = None


class MemberUser(UserRef):
    permission_level: int = Field(examples=[0])


class BrowserConfigOut(BaseModel):
    browser: str = Field(examples=["chromium"])
    start_url: str | None = None
    kiosk: bool = False


class ChatOut(BaseModel):
    """The one chat object."""

    id: int = Field(examples=[42])
    chat_type: Literal[ChatType.GROUP, ChatType.DIRECT, ChatType.SECRET] = ChatType.GROUP
    name: str = Field(examples=["movie-night"])
    owner: UserRef | None
    visibility: str = Field(examples=["private"])
    label: str | None = None
    slug: str | None = None
    description: str | None = None
    avatar_url: str | None = None
    archived: bool = False
    secrets: list[dict[str, Any]] = Field(default_factory=list)


class LiveOut(BaseModel):
    running: bool = False
    viewer_count: int = 0


class ChatDetailOut(ChatOut):
    """`GET /v1/portal/chats/{id}`: the chat, its live state and, for managers, its config."""

    model_config = ConfigDict(extra="allow")

    live: LiveOut


class ChatConfigOut(BaseModel):
    wipe_preset: str | None
    history_visible: bool
    allow_control_requests: bool
    locked_controls: bool
    implicit_hosting: bool
    inactive_cursors: bool
    browser_config: BrowserConfigOut


class MemberOut(BaseModel):
    user: MemberUser
    joined_at: datetime
    online: bool
    role: Literal["owner", "member"]


class MembersOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "members": [
                        {
                            "user": {
                                "id": 7,
                                "username": "cool_fox_123",
                                "avatar_url": None,
                                "permission_level": 0,
                            },
                            "joined_at": "2026-11-28T12:00:00Z",
                            "online": True,
                            "role": "owner",
                        }
                    ],
                    "total": 1,
                }
            ]
        }
    )

    members: list[MemberOut]
    total: int


class InviteOut(BaseModel):
    code: str = Field(examples=["abc123def456ghi7"])
    chat_id: int
    created_by_id: int | None
    created_at: datetime
    expires_at: datetime | None
    uses: int = Field(examples=[0])
    max_uses: int | None = Field(examples=[10])


class InvitesOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "invites": [
                        {
                            "code": "abc123def456ghi7",
                            "chat_id": 42,
                            "created_by_id": 7,
                            "created_at": "2026-11-28T12:00:00Z",
                            "expires_at": None,
                            "uses": 0,
                            "max_uses": 10,
                        }
                    ]
                }
            ]
        }
    )

    invites: list[InviteOut]


class ActivityEventOut(BaseModel):
    user: UserRef
    action: str = Field(examples=["join"])
    method: str | None = Field(examples=["invite"])
    invite_code: str | None = Field(examples=["abc123def456ghi7"])
    created_at: datetime
    actor: UserRef | None = None


class ActivityOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "events": [
                        {
                            "user": {"id": 9, "username": "quiet_owl_7", "avatar_url": None},
                            "action": "join",
                            "method": "invite",
                            "invite_code": "abc123def456ghi7",
                            "created_at": "2026-11-28T12:00:00Z",
                            "actor": None,
                        }
                    ],
                    "total": 1,
                    "offset": 0,
                    "limit": 50,
                }
            ]
        }
    )

    events: list[ActivityEventOut]
    total: int
    offset: int
    limit: int


class OnlineUser(BaseModel):
    user_id: int
    username: str


class PortalStatusOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "online": 2,
                    "users": [
                        {"user_id": 7, "username": "cool_fox_123"},
                        {"user_id": 9, "username": "quiet_owl_7"},
                    ],
                    "muted": False,
                }
            ]
        }
    )

    online: int
    users: list[OnlineUser]
    muted: bool


class ChatStatisticsOut(BaseModel):
    total_count: int = Field(examples=[20])
    public_count: int = Field(examples=[5])
    private_count: int = Field(examples=[15])


class Ok(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"ok": True}]})

    ok: bool = True


# ---- admin ----------------------------------------------------------------------------------------


ADMIN_CHAT_EXAMPLE: dict[str, Any] = {
    "id": 1,
    "name": "main-lobby",
    "owner_id": 1,
    "is_public": True,
    "visibility": "official",
    "label": None,
    "slug": "main-lobby",
    "description": "Main lobby chat",
    "avatar_source": None,
    "last_activity_at": "2026-03-14T12:00:00Z",
    "created_at": "2026-03-01T00:00:00Z",
    "updated_at": "2026-03-15T08:30:00Z",
}


class AdminChatOut(BaseModel):
    """GroupChatPublicResponse."""

    model_config = ConfigDict(json_schema_extra={"examples": [ADMIN_CHAT_EXAMPLE]})

    id: int
    name: str
    owner_id: int | None
    is_public: bool
    visibility: str
    label: str | None
    slug: str | None
    description: str | None
    avatar_source: str | None
    last_activity_at: datetime
    created_at: datetime
    updated_at: datetime


class AdminMemberOut(BaseModel):
    user: MemberUser
    is_online: bool
    joined_at: datetime


class AdminChatDetailOut(AdminChatOut):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    **ADMIN_CHAT_EXAMPLE,
                    "browser_config": {"browser": "chromium", "start_url": None, "kiosk": False},
                    "member_count": 1,
                    "members": [
                        {
                            "user": {
                                "id": 9,
                                "username": "quiet_owl_7",
                                "avatar_url": None,
                                "permission_level": 0,
                            },
                            "is_online": True,
                            "joined_at": "2026-03-14T11:00:00Z",
                        }
                    ],
                }
            ]
        }
    )

    browser_config: BrowserConfigOut
    member_count: int
    members: list[AdminMemberOut]


class LiveStateOut(BaseModel):
    """The admin create answer."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "chat_id": 1,
                    "chat_name": "General",
                    "username": "owner_user",
                    "browser": "firefox",
                    "allow_control_requests": False,
                    "visibility": "official",
                    "label": None,
                    "slug": "general",
                    "description": "Official general chat",
                    "avatar_source": None,
                    "running": False,
                    "viewer_count": 0,
                }
            ]
        }
    )

    chat_id: int
    chat_name: str
    username: str
    browser: str
    allow_control_requests: bool
    visibility: str
    label: str | None
    slug: str | None
    description: str | None
    avatar_source: str | None
    running: bool
    viewer_count: int


# ---- browser VM ---------------------------------------------------------------------------------------


class ClipboardIn(RequestModel):
    text: str = Field(examples=["https://example.org"], description="at most 65 536 UTF-8 bytes")


class ClipboardOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"text": "https://example.org"}]})

    text: str


class ScreenSize(BaseModel):
    width: int = Field(examples=[1280])
    height: int = Field(examples=[720])
    rate: int = Field(examples=[30])


class ScreenOut(ScreenSize):
    sizes: list[ScreenSize]


class ScreenIn(RequestModel):
    width: int = Field(examples=[1920])
    height: int = Field(examples=[1080])
    rate: int = Field(default=30, examples=[30])
