"""Permission levels and the hierarchy predicate."""

from __future__ import annotations

from enum import IntEnum
from typing import Protocol


class Level(IntEnum):
    USER = 0
    MODERATOR = 1
    ADMIN = 2
    OWNER = 3


LEVEL_NAMES = {Level.USER: "user", Level.MODERATOR: "moderator", Level.ADMIN: "admin", Level.OWNER: "owner"}
LEVELS_BY_NAME = {name: level for level, name in LEVEL_NAMES.items()}


class HasLevel(Protocol):
    permission_level: int


def can_act_on(actor: HasLevel, target: HasLevel) -> bool:
    """Owners act on everyone (other Owners and themselves included); others only on lower levels."""
    return actor.permission_level == Level.OWNER or actor.permission_level > target.permission_level


# The highest level each rank may give (00 §3.5): Admins up to User, Owners up to Admin.
ASSIGN_UP_TO = {Level.ADMIN: Level.USER, Level.OWNER: Level.ADMIN}


def may_assign(actor: HasLevel, target: HasLevel, level: int) -> bool:
    """Whether `actor` may set `target`'s level to `level` (hierarchy and the assign-up-to rule; acting
    on yourself is refused by the caller, which knows the ids)."""
    ceiling = ASSIGN_UP_TO.get(Level(actor.permission_level))
    return ceiling is not None and can_act_on(actor, target) and level <= ceiling


def session_ttl_seconds(level: int) -> int:
    """30 days for levels 0–1, 1 day for staff of level 2–3."""
    return 86400 if level >= Level.ADMIN else 30 * 86400
