"""Admin shapes for users, punishments, subscriptions and the audit log (`/v1/admin/users|punishments|
subscriptions|audit`, 00 §6; 06 §8–11; 08 §37–40, §58)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError

from portal.domain import MAX_BAN_SECONDS, MAX_PUNISHMENT_SECONDS, MAX_REASON_LENGTH, MIN_TIMEOUT_SECONDS
from portal.schemas.common import RequestModel, int_range, text_length
from portal.schemas.users import ModerationActionOut

RequiredReason = Annotated[str, text_length(1, MAX_REASON_LENGTH)]
OptionalReason = Annotated[str, text_length(0, MAX_REASON_LENGTH)]
TIER_CHOICES = "1, 2, 3, TRIAL"


# ---- users: permission and punishments ------------------------------------------------------------------


class PermissionIn(RequestModel):
    permission_level: Annotated[int, int_range(0, 3)] = Field(
        examples=[2], description="0 User, 1 Moderator, 2 Admin, 3 Owner"
    )
    reason: OptionalReason | None = Field(default=None, examples=["Trusted community member"])


class AdminBanIn(RequestModel):
    reason: RequiredReason = Field(examples=["Repeated harassment"])
    duration: Annotated[int, int_range(0, MAX_BAN_SECONDS)] = Field(
        default=0, examples=[0], description="seconds; 0 or absent = permanent"
    )


class AdminTimeoutIn(RequestModel):
    reason: RequiredReason = Field(examples=["Spamming"])
    duration: Annotated[int, int_range(MIN_TIMEOUT_SECONDS, MAX_PUNISHMENT_SECONDS)] = Field(
        examples=[3600], description="seconds"
    )


class AdminReasonIn(RequestModel):
    """`warn` and `unban`: just the reason."""

    reason: RequiredReason = Field(examples=["Ban appeal approved"])


class PunishmentOut(ModerationActionOut):
    """A moderation record and whose it is."""

    user_id: int = Field(examples=[42])


class UnbanOut(BaseModel):
    """The lifted ban or timeout; the record's fields are null when nothing was in force (still a 200)."""

    user_id: int = Field(examples=[42])
    id: int | None = Field(examples=[7])
    action_type: str | None = Field(examples=["PLATFORM_BAN"])
    reason: str | None = Field(examples=["Repeated harassment"])
    is_lifted: bool | None = Field(examples=[True])
    expires_at: datetime | None = Field(examples=[None])
    lifted_at: datetime | None = Field(examples=["2026-01-16T09:00:00Z"])
    created_at: datetime | None = Field(examples=["2026-01-15T12:00:00Z"])
    chat_id: int | None = Field(examples=[None])
    issued_by_id: int | None = Field(examples=[7])


class PunishmentSearchOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "punishments": [
                        {
                            "id": 7,
                            "user_id": 42,
                            "action_type": "PLATFORM_BAN",
                            "reason": "Repeated harassment",
                            "is_lifted": False,
                            "expires_at": None,
                            "lifted_at": None,
                            "created_at": "2026-01-15T12:00:00Z",
                            "chat_id": None,
                            "issued_by_id": 3,
                        }
                    ],
                    "total": 1,
                    "limit": 25,
                    "offset": 0,
                }
            ]
        }
    )

    punishments: list[PunishmentOut]
    total: int = Field(examples=[1])
    limit: int = Field(examples=[25])
    offset: int = Field(examples=[0])


# ---- subscriptions -------------------------------------------------------------------------------------


def _tier_value(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise PydanticCustomError("portal", f"must be one of: {TIER_CHOICES}")
    return value


class GrantIn(RequestModel):
    user_id: int = Field(examples=[42])
    tier: Annotated[int | str, BeforeValidator(_tier_value)] = Field(
        examples=[2], description='1 Trial, 2 Premium, 3 Lifetime, or "TRIAL" (the one-time 7-day trial)'
    )
    duration_days: Annotated[int, int_range(1, 3650)] | None = Field(
        default=None, examples=[30], description="Premium only (required there); Trial is 7 days"
    )
    reason: RequiredReason | None = Field(default=None, examples=["Contest winner"])


class RevokeIn(RequestModel):
    user_id: int = Field(examples=[42])
    reason: RequiredReason = Field(examples=["Refunded"])


class ActiveSubscriptionOut(BaseModel):
    id: int = Field(examples=[42])
    name: str = Field(examples=["exampleuser"], description="the username")
    tier: int = Field(examples=[2])
    expires_at: datetime | None = Field(examples=["2026-06-01T00:00:00Z"])
    is_active: bool = Field(examples=[True])


class ActiveSubscriptionsOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "users": [
                        {
                            "id": 42,
                            "name": "exampleuser",
                            "tier": 2,
                            "expires_at": "2026-06-01T00:00:00Z",
                            "is_active": True,
                        },
                        {"id": 7, "name": "earlybird", "tier": 3, "expires_at": None, "is_active": True},
                    ]
                }
            ]
        }
    )

    users: list[ActiveSubscriptionOut]


# ---- audit log -----------------------------------------------------------------------------------------


class AuditItemOut(BaseModel):
    id: int = Field(examples=[1])
    entity_type: str | None = Field(examples=["user"], description="user | chat | bot; null for broadcasts")
    entity_id: int | None = Field(examples=[42])
    actor_id: int | None = Field(examples=[7], description="null for the CLI and the system")
    event_type: str = Field(examples=["SUBSCRIPTION_GRANT"])
    event_metadata: dict[str, Any] = Field(examples=[{"old_tier": 0, "new_tier": 2, "duration_days": 30}])
    created_at: datetime = Field(examples=["2026-01-15T12:00:00Z"])


class AuditLogsOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [
                        {
                            "id": 1,
                            "entity_type": "user",
                            "entity_id": 42,
                            "actor_id": 7,
                            "event_type": "SUBSCRIPTION_GRANT",
                            "event_metadata": {"old_tier": 0, "new_tier": 2, "duration_days": 30},
                            "created_at": "2026-01-15T12:00:00Z",
                        }
                    ],
                    "total": 1,
                    "offset": 0,
                    "limit": 50,
                }
            ]
        }
    )

    items: list[AuditItemOut]
    total: int = Field(examples=[1])
    offset: int = Field(examples=[0])
    limit: int = Field(examples=[50])
