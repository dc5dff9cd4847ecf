"""`portal admin ...`: operator commands that call the same services as the REST API.

Works without a running server (straight to the database). With Redis configured, events reach running
servers through Redis; in single-process mode without Redis they are not pushed live (documented in
docs/cli.md). `--json` prints the body the matching REST call would answer.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from pydantic import BaseModel

from portal.config import Settings
from portal.container import Container
from portal.errors import PortalError
from portal.services.permissions import LEVELS_BY_NAME

T = TypeVar("T")
log = logging.getLogger("portal.cli")

admin_app = typer.Typer(
    help="Operator commands (users, bots, subscriptions, strangers).", no_args_is_help=True
)
users_app = typer.Typer(help="User accounts.", no_args_is_help=True)
bots_app = typer.Typer(help="Platform bots and their API keys.", no_args_is_help=True)
subscriptions_app = typer.Typer(help="Subscription tiers.", no_args_is_help=True)
strangers_app = typer.Typer(help="Anonymous matchmaking sessions.", no_args_is_help=True)
admin_app.add_typer(users_app, name="users")
admin_app.add_typer(bots_app, name="bots")
admin_app.add_typer(subscriptions_app, name="subscriptions")
admin_app.add_typer(strangers_app, name="strangers")

JsonOption = Annotated[bool, typer.Option("--json", help="print the REST answer as JSON")]


class PermissionName(StrEnum):
    user = "user"
    moderator = "moderator"
    admin = "admin"
    owner = "owner"


def run(action: Callable[[Container], Awaitable[T]]) -> T:
    """Build the container, run one service action, print one error line and exit 1 on failure."""

    async def go(settings: Settings) -> T:
        container = Container(settings)
        container.notifier = _cli_notifier(container)
        await container.start()
        try:
            return await action(container)
        finally:
            await container.close()

    try:
        settings = Settings()
        if settings.is_sqlite:
            from portal.db.migrate import upgrade

            upgrade(settings.database_url)
        return asyncio.run(go(settings))
    except PortalError as exc:
        fail(exc.message)
    except Exception as exc:  # e.g. the database is unreachable or not migrated: still one line
        log.debug("admin command failed", exc_info=True)
        fail(f"{type(exc).__name__}: {_first_line(exc)}")


def fail(message: str) -> NoReturn:
    """One line on stderr, nothing on stdout, exit status 1."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else "unexpected failure"


def _cli_notifier(container: Container) -> Any:
    if container.settings.redis_url:
        from portal.realtime.notifier import RedisBusNotifier

        return RedisBusNotifier(container.live, container.settings.redis_url, container.settings.redis_prefix)
    from portal.services.notifier import NullNotifier

    return NullNotifier()


def emit(body: BaseModel | dict[str, Any], as_json: bool, summary: str) -> None:
    data = body.model_dump(mode="json") if isinstance(body, BaseModel) else body
    typer.echo(json.dumps(data, indent=2) if as_json else summary)


# ---- users ------------------------------------------------------------------------------------------


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


# ---- bots -------------------------------------------------------------------------------------------


@bots_app.command("register")
def bots_register(
    name: Annotated[str, typer.Option(help="display name, 2–32 characters")],
    owner_id: Annotated[int, typer.Option(help="id of the user who owns the bot")],
    platform: Annotated[str, typer.Option(help="platform the bot serves, e.g. discord")],
    rate_limit_per_hour: Annotated[int, typer.Option(help="requests per hour")] = 1000,
    as_json: JsonOption = False,
) -> None:
    """Register a bot and print its API key (shown only once)."""
    issued = run(
        lambda c: c.bots.register(
            actor=None,
            name=name,
            owner_id=owner_id,
            platform=platform,
            rate_limit_per_hour=rate_limit_per_hour,
        )
    )
    emit(
        issued,
        as_json,
        f"registered bot {issued.bot.id} ({issued.bot.name}) on {issued.bot.platform}\n"
        f"API key (shown once): {issued.api_key}",
    )


# ---- subscriptions ----------------------------------------------------------------------------------


@subscriptions_app.command("grant")
def subscriptions_grant(
    user_id: Annotated[int, typer.Option(help="the user to grant to")],
    tier: Annotated[str, typer.Option(help="1 (trial), 2 (premium), 3 (lifetime) or TRIAL")],
    duration_days: Annotated[int | None, typer.Option(help="premium only: 1–3650 days")] = None,
    reason: Annotated[str | None, typer.Option(help="why (kept in the history)")] = None,
    as_json: JsonOption = False,
) -> None:
    """Grant a subscription tier."""
    grant = run(
        lambda c: c.subscriptions.grant(
            actor=None, user_id=user_id, tier=tier, duration_days=duration_days, reason=reason
        )
    )
    emit({"message": grant.message}, as_json, grant.message)


# ---- strangers --------------------------------------------------------------------------------------


@strangers_app.command("block")
def strangers_block(
    user_id: Annotated[int, typer.Option(help="the stranger to block (must have a live session)")],
    as_json: JsonOption = False,
) -> None:
    """Block a stranger's session from matchmaking until it expires (POST /v1/admin/strangers/block)."""
    message = run(lambda c: c.strangers.block(user_id, actor=None))
    emit({"message": message}, as_json, message)
