"""Message, key and moderation request/answer shapes."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field
from pydantic_core import PydanticCustomError

from portal.domain import MAX_MUTE_SECONDS, MAX_PUNISHMENT_SECONDS, MAX_REASON_LENGTH, MIN_TIMEOUT_SECONDS
from portal.schemas.common import RequestModel, Rule, int_range, matches, text_length

Reason = Annotated[str, text_length(0, MAX_REASON_LENGTH)]


class SendIn(RequestModel):
    content: Annotated[str, text_length(1, 4096)] = Field(
        examples=['{"v":2,"epoch":3,"ct":"q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJ..."}'],
        description="a CiphertextV2 bundle as a JSON string",
    )


class SentOut(BaseModel):
    id: str = Field(examples=["1764361234567-0"])


def item_count(minimum: int, maximum: int) -> Rule:
    """A list's length, worded like every list limit: "ids must contain 1 to 100 items"."""

    def check(value: list[Any]) -> list[Any]:
        if not minimum <= len(value) <= maximum:
            raise PydanticCustomError("portal", f"must contain {minimum} to {maximum} items")
        return value

    return Rule(check, (("minItems", minimum), ("maxItems", maximum)))


MessageId = Annotated[str, text_length(3, 26), matches(r"[0-9]{1,15}-[0-9]{1,9}")]


class DeleteIdsIn(RequestModel):
    ids: Annotated[list[MessageId], item_count(1, 100)] = Field(
        examples=[["1764361234567-0", "1764361234890-0"]],
        description="1 to 100 message ids ({unix_ms}-{seq}); ids of no message are skipped",
    )


class DeleteLastIn(RequestModel):
    count: Annotated[int, int_range(1, 100)] = Field(examples=[10])


class DeletedOut(BaseModel):
    deleted: int = Field(examples=[2])


class ClearedOut(BaseModel):
    ok: bool = True
    cleared: int = Field(examples=[42])


class KeyIn(RequestModel):
    public_key: Annotated[str, text_length(1, 64)] = Field(
        examples=["5LQ0uFkd0Qm3sJ4qS0tY3a1m5f3u2s0h3r6p8w9x1z0="]
    )


class KeyOut(BaseModel):
    status: str = Field(examples=["registered"], description="registered | unchanged")


# ---- moderation ---------------------------------------------------------------------------------------


class MuteIn(RequestModel):
    user_id: int = Field(examples=[42])
    duration: Annotated[int, int_range(0, MAX_MUTE_SECONDS)] = Field(
        default=300, description="seconds; 0 = until unmuted"
    )
    reason: Reason | None = Field(default=None, examples=["Spamming"])


class BanIn(RequestModel):
    user_id: int = Field(examples=[42])
    duration: Annotated[int, int_range(0, MAX_PUNISHMENT_SECONDS)] = Field(
        default=0, description="seconds; 0 = permanent"
    )
    reason: Reason | None = Field(default=None, examples=["Harassment"])


class UnbanIn(RequestModel):
    user_id: int = Field(examples=[42])
    reason: Annotated[str, text_length(1, MAX_REASON_LENGTH)] | None = Field(
        default=None, examples=["Appeal accepted"]
    )


class TimeoutIn(RequestModel):
    user_id: int = Field(examples=[42])
    duration: Annotated[int, int_range(MIN_TIMEOUT_SECONDS, MAX_PUNISHMENT_SECONDS)] = Field(examples=[3600])
    reason: Reason | None = None


class WarnIn(RequestModel):
    user_id: int = Field(examples=[42])
    reason: Reason | None = Field(default=None, examples=["Please keep it civil"])


class UserRefIn(RequestModel):
    user_id: int = Field(examples=[42])


class HardMuteIn(MuteIn):
    """`POST /v1/portal/hard-mute`: the same body as a chat mute."""
