"""Wire shapes of `/v1/portal/match*` (05 §5, 08 §29–30)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from portal.errors import BadRequest
from portal.schemas.common import RequestModel, Rule, _fail

MIN_INTERESTS = 1
MAX_INTERESTS = 3
TAG_PATTERN = r"[a-z0-9]{3,12}"


def _count(value: list[Any]) -> list[Any]:
    if not MIN_INTERESTS <= len(value) <= MAX_INTERESTS:
        raise _fail(f"must contain {MIN_INTERESTS} to {MAX_INTERESTS} items")
    return value


# Items are checked by the service (a bad tag is 400 ERR_MATCH_UNSUPPORTED_INTEREST, after the count).
Interests = Annotated[
    list[Any],
    Rule(_count, (("minItems", MIN_INTERESTS), ("maxItems", MAX_INTERESTS))),
]


class EnqueueIn(RequestModel):
    """`interests` (1–3 tags); the pre-v1.11 body `{"interest": "x"}` is accepted as one tag."""

    interests: Interests | None = Field(
        default=None,
        examples=[["gaming", "music"]],
        json_schema_extra={"items": {"type": "string", "pattern": f"^{TAG_PATTERN}$"}},
    )
    interest: str | None = Field(default=None, description="Legacy single tag (use `interests`).")

    def requested(self) -> list[Any]:
        """The tags asked for, in order (body shape and count checked: 08 §30 step 1)."""
        if self.interests is not None and self.interest is not None:
            raise BadRequest("interest is not allowed")
        if self.interest is not None:
            return [self.interest]
        if self.interests is None:
            raise BadRequest("interests is required")
        return list(self.interests)


class LeaveIn(RequestModel):
    chat_id: int | None = Field(default=None, description="Which active direct chat (default: the newest).")


class MatchChatOut(BaseModel):
    chat_id: int
    token: str = Field(description="Bearer credential for `room:join {token}`: keep it secret.")
    expires_at: datetime


STATUS_EXAMPLES: dict[str, Any] = {
    "searching": {
        "state": "searching",
        "interests": ["gaming", "music"],
        "expires_at": "2026-05-06T18:00:00Z",
    },
    "matched": {
        "state": "matched",
        "token": "42.9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "expires_at": "2026-05-07T17:50:00Z",
        "chats": [
            {
                "chat_id": 42,
                "token": "42.9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
                "expires_at": "2026-05-07T17:50:00Z",
            }
        ],
    },
    "idle": {"state": "idle"},
}


class MatchStatusOut(BaseModel):
    """Fields are present only when they apply (05 §5.1–5.2, 08 §29)."""

    model_config = ConfigDict(json_schema_extra={"examples": list(STATUS_EXAMPLES.values())})

    state: Literal["idle", "searching", "matched"]
    interests: list[str] | None = Field(default=None, description="While searching: the tags queued on.")
    token: str | None = Field(default=None, description="When matched: the newest active chat's token.")
    expires_at: datetime | None = Field(
        default=None,
        description="Searching: when the queue entry lapses. Matched: when the newest active chat expires.",
    )
    chats: list[MatchChatOut] | None = Field(
        default=None, description="Every active direct chat, newest first, whenever there are any."
    )
