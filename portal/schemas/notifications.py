"""Notification and announcement wire shapes (02 §3.9, §5; 00 §6; 08 §41)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from portal.schemas.common import DateTimeIn, RequestModel, one_of, text_length
from portal.schemas.messages import item_count

NOTIFICATION_TYPES = ("info", "success", "warning", "error")
ANNOUNCEMENT_LEVELS = ("info", "warning", "critical")
TITLE_MAX = 100
BODY_MAX = 2000
MAX_RECIPIENTS = 1000

Title = Annotated[str, text_length(1, TITLE_MAX)]
Body = Annotated[str, text_length(1, BODY_MAX)]


class NotificationOut(BaseModel):
    id: int = Field(examples=[1])
    title: str = Field(examples=["Welcome to Portal"])
    body: str = Field(examples=["Your account has been created."])
    type: str = Field(examples=["success"])
    read_at: datetime | None
    created_at: datetime
    created_by: int | None = Field(examples=[None])


class NotificationListOut(BaseModel):
    notifications: list[NotificationOut]
    total: int = Field(examples=[3], description="all of your notifications")
    unread: int = Field(examples=[1], description="your unread notifications (the badge)")
    offset: int = Field(examples=[0])
    limit: int = Field(examples=[50])


class UnreadCountOut(BaseModel):
    unread: int = Field(examples=[2])


class ReadAllOut(BaseModel):
    updated: int = Field(examples=[2], description="how many notifications this call marked read")


class SendNotificationIn(RequestModel):
    title: Title = Field(examples=["Scheduled maintenance"])
    body: Body = Field(examples=["Portal restarts at 02:00 UTC for about five minutes."])
    type: Annotated[str, one_of(*NOTIFICATION_TYPES)] = Field(default="info", examples=["warning"])
    user_ids: Annotated[list[int], item_count(1, MAX_RECIPIENTS)] | None = Field(
        default=None,
        examples=[[12, 42]],
        description="1 to 1000 registered users; omit it to send to every registered (non-stranger) user",
    )


class NotificationSentOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"message": "Notification sent to 2 users", "count": 2}]}
    )

    message: str
    count: int


class AnnouncementOut(BaseModel):
    id: int = Field(examples=[1])
    title: str = Field(examples=["Scheduled maintenance"])
    body: str = Field(examples=["Portal restarts at 02:00 UTC for about five minutes."])
    level: str = Field(examples=["warning"])
    starts_at: datetime = Field(examples=["2026-04-04T10:00:00Z"])
    ends_at: datetime | None = Field(examples=["2026-04-05T02:10:00Z"])
    created_at: datetime = Field(examples=["2026-04-04T09:58:00Z"])


class CreateAnnouncementIn(RequestModel):
    title: Title = Field(examples=["Scheduled maintenance"])
    body: Body = Field(examples=["Portal restarts at 02:00 UTC for about five minutes."])
    level: Annotated[str, one_of(*ANNOUNCEMENT_LEVELS)] = Field(default="info", examples=["warning"])
    starts_at: DateTimeIn | None = Field(default=None, description="default: now")
    ends_at: DateTimeIn | None = Field(default=None, description="default: none (shown until ended)")
