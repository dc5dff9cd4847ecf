"""`portal admin users ...` (docs/cli.md)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from portal.cli.common import JsonOption, PermissionName, emit, fail, run, table
from portal.schemas.admin_users import PunishmentOut, UnbanOut
from portal.services.permissions import LEVEL_NAMES, LEVELS_BY_NAME, Level

users_app = typer.Typer(help="User accounts.", no_args_is_help=True)

UserIdOption = Annotated[int, typer.Option(help="the user's id")]
ReasonOption = Annotated[str, typer.Option(help="why (1–500 characters, kept on the record)")]


@users_app.command("create")
def users_create(
    username: Annotated[str, typer.Option(help="3–32 characters: letters, digits, . _ -")],
    platform: Annotated[str, typer.Option(help="platform of the linked identity, e.g. discord")],
    platform_user_id: Annotated[str, typer.Option(help="the user's id on that platform")],
    permission: Annotated[PermissionName, typer.Option(help="permission level")] = PermissionName.user,
    platform_username: Annotated[str | None, typer.Option(help="the user's name on that platform")] = None,
    as_json: JsonOption = False,
) -> None:
    """Create an account linked to one platform identity (e.g. the first Owner)."""
    level = LEVELS_BY_NAME[permission.value]
    user = run(
        lambda c: c.users.create(
            username=username,
            level=level,
            platform=platform,
            platform_user_id=platform_user_id,
            platform_username=platform_username,
        )
    )
    emit(
        user,
        as_json,
        f"created user {user.id} ({user.username}), level {permission.value}, "
        f"linked to {platform}:{platform_user_id}",
    )


def _level_name(level: int) -> str:
    return LEVEL_NAMES.get(Level(level), str(level)) if level in tuple(Level) else str(level)


@users_app.command("show")
def users_show(user_id: UserIdOption, as_json: JsonOption = False) -> None:
    """One account in full: what an Owner sees at GET /v1/users/{id}."""
    user = run(lambda c: c.users.detail(user_id))
    data = user.model_dump(mode="json")
    lines = [
        f"user {user.id} ({user.username})",
        f"  level:         {_level_name(user.permission_level)}",
        f"  state:         {user.state}",
        f"  subscription:  tier {user.subscription_tier}, expires {data['subscription_expires_at'] or '-'}",
        "  platforms:     "
        + (", ".join(f"{p.platform}:{p.platform_user_id}" for p in user.linked_platforms) or "-"),
        f"  punishments:   {len(user.moderation_actions)}",
        f"  chats owned:   {len(user.chats)}",
        f"  bots owned:    {len(user.bots)}",
        f"  last activity: {data['last_activity_at']}",
    ]
    emit(user, as_json, "\n".join(lines))


@users_app.command("list")
def users_list(
    q: Annotated[str, typer.Option(help="part of the username (case-insensitive)")] = "",
    offset: Annotated[int, typer.Option(help="rows to skip", min=0)] = 0,
    limit: Annotated[int, typer.Option(help="rows to show (1–100)", min=1, max=100)] = 25,
    as_json: JsonOption = False,
) -> None:
    """Registered accounts (strangers left out), as GET /v1/users/search answers an Owner."""
    found = run(lambda c: c.users.search(None, q=q, offset=offset, limit=limit))
    rows: list[dict[str, Any]] = [u.model_dump(mode="json") for u in found.users]
    for row in rows:
        row["level"] = _level_name(row["permission_level"])
        row["tier"] = row["subscription_tier"]
    summary = table(rows, ["id", "username", "level", "tier", "state", "last_activity_at"])
    emit(found, as_json, f"{summary}\n({len(rows)} of {found.total})")


def _parse_level(value: str) -> int:
    name = value.strip().lower()
    if name in LEVELS_BY_NAME:
        return LEVELS_BY_NAME[name]
    if name.isdigit() and int(name) in tuple(Level):
        return int(name)
    fail("permission_level must be one of: 0, 1, 2, 3, user, moderator, admin, owner")


@users_app.command("set-permission")
def users_set_permission(
    user_id: UserIdOption,
    permission_level: Annotated[str, typer.Option(help="0–3 or user|moderator|admin|owner")],
    reason: Annotated[str | None, typer.Option(help="why (at most 500 characters)")] = None,
    as_json: JsonOption = False,
) -> None:
    """Set a user's permission level (any level: the CLI skips the assign-up-to rules); ends sessions."""
    level = _parse_level(permission_level)
    message = run(lambda c: c.admin_users.set_permission(user_id, level, reason, actor=None))
    emit({"message": message}, as_json, message)


def _record_summary(verb: str, record: PunishmentOut) -> str:
    until = record.expires_at.isoformat().replace("+00:00", "Z") if record.expires_at else "permanent"
    return f"{verb} user {record.user_id}: {record.action_type} #{record.id}, until {until}"


@users_app.command("ban")
def users_ban(
    user_id: UserIdOption,
    reason: ReasonOption,
    duration: Annotated[int, typer.Option(help="seconds, 0 = permanent (max 31536000)")] = 0,
    as_json: JsonOption = False,
) -> None:
    """Ban from the platform: every session ends; a timed ban lifts itself."""
    record = run(lambda c: c.punishments.ban(user_id, reason=reason, duration=duration, actor=None))
    emit(record, as_json, _record_summary("banned", record))


@users_app.command("unban")
def users_unban(user_id: UserIdOption, reason: ReasonOption, as_json: JsonOption = False) -> None:
    """Lift a platform ban or timeout (idempotent)."""
    lifted: UnbanOut = run(lambda c: c.punishments.unban(user_id, reason=reason, actor=None))
    summary = (
        f"lifted {lifted.action_type} #{lifted.id} of user {user_id}"
        if lifted.id is not None
        else f"user {user_id} had no ban or timeout in force"
    )
    emit(lifted, as_json, summary)


@users_app.command("timeout")
def users_timeout(
    user_id: UserIdOption,
    reason: ReasonOption,
    duration: Annotated[int, typer.Option(help="seconds, 60–2592000")],
    as_json: JsonOption = False,
) -> None:
    """Time a user out of the platform: every session ends until it runs out."""
    record = run(lambda c: c.punishments.timeout_user(user_id, reason=reason, duration=duration, actor=None))
    emit(record, as_json, _record_summary("timed out", record))


@users_app.command("warn")
def users_warn(user_id: UserIdOption, reason: ReasonOption, as_json: JsonOption = False) -> None:
    """A platform warning on the user's record."""
    record = run(lambda c: c.punishments.warn_user(user_id, reason=reason, actor=None))
    emit(record, as_json, f"warned user {record.user_id}: {record.action_type} #{record.id}")


@users_app.command("hard-mute")
def users_hard_mute(
    user_id: UserIdOption,
    duration: Annotated[int, typer.Option(help="seconds, 0 = until lifted (max 86400)")] = 300,
    reason: Annotated[str | None, typer.Option(help="why (at most 500 characters)")] = None,
    as_json: JsonOption = False,
) -> None:
    """Mute a user in every chat, direct ones included (as POST /v1/portal/hard-mute)."""
    run(lambda c: c.punishments.hard_mute(user_id, duration, reason, actor=None))
    length = f"for {duration} s" if duration else "until lifted"
    emit({"ok": True}, as_json, f"hard-muted user {user_id} {length}")


@users_app.command("hard-unmute")
def users_hard_unmute(user_id: UserIdOption, as_json: JsonOption = False) -> None:
    """Lift a hard mute (idempotent, as POST /v1/portal/hard-unmute)."""
    lifted = run(lambda c: c.punishments.hard_unmute(user_id, actor=None))
    summary = f"hard mute of user {user_id} lifted" if lifted else f"user {user_id} was not hard-muted"
    emit({"ok": True}, as_json, summary)


@users_app.command("link-platform")
def users_link_platform(
    user_id: UserIdOption,
    platform: Annotated[str, typer.Option(help="e.g. discord, telegram")],
    platform_user_id: Annotated[str, typer.Option(help="the user's id on that platform")],
    platform_username: Annotated[str | None, typer.Option(help="the user's name on that platform")] = None,
    as_json: JsonOption = False,
) -> None:
    """Link one more platform identity to an existing account (they can then sign in with it)."""
    user = run(
        lambda c: c.admin_users.link_platform(
            user_id,
            platform=platform,
            platform_user_id=platform_user_id,
            platform_username=platform_username,
            actor=None,
        )
    )
    emit(user, as_json, f"linked {platform}:{platform_user_id} to user {user.id} ({user.username})")
