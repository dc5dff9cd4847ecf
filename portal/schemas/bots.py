"""Bot wire shapes: the public and private bot objects, the bot-key bodies and the admin bodies."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from portal.schemas.common import DateTimeIn, Platform, RequestModel, Rule, int_range

BOT_TYPES = {"official": 1, "verified": 2, "community": 3}
BOT_NAME_MIN, BOT_NAME_MAX = 2, 32
RATE_LIMIT_MIN, RATE_LIMIT_MAX = 1, 100_000
LATENCY_MAX_MS = 10_000
MAX_GROUP_IDS = 10_000
MAX_BATCH_RECORDS = 1000
MAX_COMMAND_COUNT = 10_000
MAX_AVATAR_URL = 2048
MAX_COUNTER = 2_000_000_000
SEARCH_Q_MAX = 50


def _fail(message: str) -> PydanticCustomError:
    return PydanticCustomError("portal", message)


def bot_name_problem(value: str) -> str | None:
    """What is wrong with a bot name (surrounding spaces do not count), or None."""
    stripped = value.strip()
    if len(stripped) < BOT_NAME_MIN:
        return f"must be at least {BOT_NAME_MIN} characters"
    if len(stripped) > BOT_NAME_MAX:
        return f"must be at most {BOT_NAME_MAX} characters"
    if _has_control(stripped):
        return "contains invalid characters"
    return None


def _has_control(value: str) -> bool:
    return any(unicodedata.category(ch) in ("Cc", "Cf") for ch in value)


def _bot_name(value: str) -> str:
    problem = bot_name_problem(value)
    if problem:
        raise _fail(problem)
    return value.strip()


def _avatar_url(value: str) -> str:
    if len(value) > MAX_AVATAR_URL:
        raise _fail(f"must be at most {MAX_AVATAR_URL} characters")
    if not re.fullmatch(r"https://[^\s]+", value):
        raise _fail("must be an https URL")
    return value


def _group_ids(value: list[str]) -> list[str]:
    if len(value) > MAX_GROUP_IDS:
        raise _fail(f"must contain at most {MAX_GROUP_IDS} items")
    for item in value:
        if not 1 <= len(item) <= 64 or _has_control(item) or item != item.strip():
            raise _fail("contains invalid characters")
    return value


def _command(value: str) -> str:
    if not 1 <= len(value) <= 64:
        raise _fail("must be between 1 and 64 characters")
    if _has_control(value) or value != value.strip() or not value:
        raise _fail("contains invalid characters")
    return value


def _records(value: list[Any]) -> list[Any]:
    if not 1 <= len(value) <= MAX_BATCH_RECORDS:
        raise _fail(f"must contain 1 to {MAX_BATCH_RECORDS} items")
    return value


def parse_bot_type(value: Any) -> int:
    """1–3, or a name (official, verified, community; any case)."""
    if isinstance(value, int) and not isinstance(value, bool) and value in (1, 2, 3):
        return value
    if isinstance(value, str) and value.strip().lower() in BOT_TYPES:
        return BOT_TYPES[value.strip().lower()]
    raise _fail("must be one of: official, verified, community, 1, 2, 3")


def _latency(value: float) -> float:
    if not 0 <= value <= LATENCY_MAX_MS:
        raise _fail(f"must be between 0 and {LATENCY_MAX_MS}")
    return float(value)


_NULL_TEXT = {
    "rate_limit_per_hour": "an integer",
    "bot_type": "one of: official, verified, community, 1, 2, 3",
    "group_ids": "a list",
    "users": "an integer",
    "latency_ms": "a number",
    "is_active": "a boolean",
}


def _refuse_null(value: object, info: ValidationInfo) -> object:
    """Optional fields that may be left out but not sent as null."""
    if value is None:
        name = info.field_name or ""
        raise _fail(f"must be {_NULL_TEXT.get(name, 'an integer' if name.endswith('_id') else 'a string')}")
    return value


BotName = Annotated[str, Rule(_bot_name, (("minLength", BOT_NAME_MIN), ("maxLength", BOT_NAME_MAX)))]
AvatarUrl = Annotated[str, Rule(_avatar_url, (("maxLength", MAX_AVATAR_URL), ("pattern", "^https://")))]
RateLimitPerHour = Annotated[int, int_range(RATE_LIMIT_MIN, RATE_LIMIT_MAX)]
LatencyMs = Annotated[float, Rule(_latency, (("minimum", 0), ("maximum", LATENCY_MAX_MS)))]
BotTypeIn = Annotated[
    int | str,
    BeforeValidator(parse_bot_type),
    Field(json_schema_extra={"enum": ["official", "verified", "community", 1, 2, 3]}),
]


# ---- the bot objects ----------------------------------------------------------------------------------


class BotPublic(BaseModel):
    id: int = Field(examples=[1])
    name: str = Field(examples=["Portal Bot"])
    groups: int = Field(examples=[250])
    users: int = Field(examples=[50000])
    avatar_url: str | None = Field(examples=["https://cdn.discordapp.com/avatars/111222333444555666/abc.png"])
    latency_ms: float | None = Field(examples=[45.2])
    is_verified: bool
    last_activity_at: datetime | None
    created_at: datetime
    updated_at: datetime


class BotPrivate(BotPublic):
    """The full object: `GET /v1/bot/me`, the admin answers and Admin+ readers of the public endpoints."""

    platform: str = Field(examples=["discord"])
    owner_id: int = Field(examples=[42])
    bot_type: int = Field(examples=[3], description="1 Official, 2 Verified, 3 Community")
    is_active: bool
    rate_limit_per_hour: int = Field(examples=[1000])


class BotKeyIssued(BaseModel):
    message: str = Field(examples=["Bot registered successfully"])
    bot: BotPrivate
    api_key: str = Field(examples=["hbot_3q2b7Yt0mN5pK1sV8xZcR4wE6uI9oLaD"])
    created_at: datetime
    updated_at: datetime


class BotSearchOut(BaseModel):
    bots: list[BotPrivate | BotPublic]
    total: int = Field(examples=[1])
    limit: int = Field(examples=[25])
    offset: int = Field(examples=[0])


class BotDoneOut(BaseModel):
    """The answer of the bot's own writes: a message and the bot's timestamps."""

    message: str = Field(examples=["Bot updated successfully"])
    created_at: datetime
    updated_at: datetime


# ---- bot-key bodies -----------------------------------------------------------------------------------


class BotSelfUpdateIn(RequestModel):
    """Info (`name`, `avatar_url`) and stats (`group_ids`, `users`, `latency_ms`); all optional."""

    name: BotName | None = None
    avatar_url: AvatarUrl | None = None
    group_ids: Annotated[list[str], Rule(_group_ids, (("maxItems", MAX_GROUP_IDS),))] | None = None
    users: Annotated[int, int_range(0, MAX_COUNTER)] | None = None
    latency_ms: LatencyMs | None = None

    @field_validator("name", "group_ids", "users", "latency_ms", mode="before")
    @classmethod
    def _not_null(cls, value: object, info: ValidationInfo) -> object:
        return _refuse_null(value, info)


class CommandRecordIn(RequestModel):
    command: Annotated[str, Rule(_command, (("minLength", 1), ("maxLength", 64)))]
    count: Annotated[int, int_range(1, MAX_COMMAND_COUNT)] = 1
    user_id: int | str | None = None
    group_id: int | str | None = None
    timestamp: DateTimeIn | None = None


class BatchIn(RequestModel):
    commands: Annotated[
        list[CommandRecordIn], Rule(_records, (("minItems", 1), ("maxItems", MAX_BATCH_RECORDS)))
    ]


# ---- admin bodies -------------------------------------------------------------------------------------


class RegisterBotIn(RequestModel):
    name: BotName
    owner_id: int
    platform: Platform
    rate_limit_per_hour: RateLimitPerHour = 1000


class AdminBotUpdateIn(RequestModel):
    """Only the fields sent change; none of them takes null."""

    name: BotName | None = None
    owner_id: int | None = None
    rate_limit_per_hour: RateLimitPerHour | None = None
    bot_type: BotTypeIn | None = None
    is_active: bool | None = None

    @field_validator("name", "owner_id", "rate_limit_per_hour", "bot_type", "is_active", mode="before")
    @classmethod
    def _not_null(cls, value: object, info: ValidationInfo) -> object:
        return _refuse_null(value, info)
