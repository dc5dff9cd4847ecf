"""`portal admin bots ...` (docs/cli.md)."""

from __future__ import annotations

import json
from typing import Annotated, Any, TypeVar

import typer
from pydantic import BaseModel, ValidationError

from portal.cli.common import JsonOption, emit, fail, run, table
from portal.schemas.bots import AdminBotUpdateIn
from portal.schemas.common import first_error_message

M = TypeVar("M", bound=BaseModel)

bots_app = typer.Typer(help="Platform bots and their API keys.", no_args_is_help=True)


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


BOT_COLUMNS = [
    "id",
    "name",
    "platform",
    "owner_id",
    "bot_type",
    "is_active",
    "rate_limit_per_hour",
    "groups",
    "users",
]


@bots_app.command("list")
def bots_list(
    limit: Annotated[int, typer.Option(help="at most this many bots (1–25)")] = 25,
    offset: Annotated[int, typer.Option(help="skip this many bots")] = 0,
    q: Annotated[str | None, typer.Option(help="name contains this, or the bot id")] = None,
    as_json: JsonOption = False,
) -> None:
    """Every bot, inactive ones too, by id (as GET /v1/admin/bots)."""
    bots = run(lambda c: c.bot_admin.list(offset=offset, limit=limit, q=q))
    rows = [b.model_dump(mode="json") for b in bots]
    typer.echo(json.dumps(rows, indent=2) if as_json else table(rows, BOT_COLUMNS))


@bots_app.command("update")
def bots_update(
    bot_id: Annotated[int, typer.Option(help="the bot to change")],
    name: Annotated[str | None, typer.Option(help="display name, 2–32 characters")] = None,
    owner_id: Annotated[int | None, typer.Option(help="give the bot to this user")] = None,
    rate_limit_per_hour: Annotated[int | None, typer.Option(help="requests per hour, 1–100000")] = None,
    bot_type: Annotated[str | None, typer.Option(help="official, verified, community (or 1–3)")] = None,
    is_active: Annotated[
        bool | None,
        typer.Option("--is-active/--inactive", help="activate, or deactivate (its key is refused)"),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Change the options given (as POST /v1/admin/bots/{id}/update)."""
    fields: dict[str, Any] = {
        "name": name,
        "owner_id": owner_id,
        "rate_limit_per_hour": rate_limit_per_hour,
        "bot_type": int(bot_type) if bot_type is not None and bot_type.isdigit() else bot_type,
        "is_active": is_active,
    }
    body = parse_body(AdminBotUpdateIn, {k: v for k, v in fields.items() if v is not None})
    message = run(lambda c: c.bot_admin.update(bot_id, body, actor=None))
    emit({"message": message}, as_json, message)


@bots_app.command("regenerate-key")
def bots_regenerate_key(
    bot_id: Annotated[int, typer.Option(help="the bot whose key to replace")],
    as_json: JsonOption = False,
) -> None:
    """A new API key (shown once); the old key stops working at once."""
    issued = run(lambda c: c.bot_admin.regenerate_key(bot_id, actor=None))
    emit(issued, as_json, f"{issued.message}\nAPI key (shown once): {issued.api_key}")


@bots_app.command("delete")
def bots_delete(
    bot_id: Annotated[int, typer.Option(help="the bot to delete for good")],
    as_json: JsonOption = False,
) -> None:
    """Delete a bot, its key and its command statistics."""
    message = run(lambda c: c.bot_admin.delete(bot_id, actor=None))
    emit({"message": message}, as_json, message)


@bots_app.command("reset-stats")
def bots_reset_stats(
    bot_id: Annotated[int, typer.Option(help="the bot whose statistics to clear")],
    as_json: JsonOption = False,
) -> None:
    """Zero groups and users, clear latency, last activity, group ids and command statistics."""
    message = run(lambda c: c.bot_admin.reset_stats(bot_id, actor=None))
    emit({"message": message}, as_json, message)


def parse_body(model: type[M], data: dict[str, Any]) -> M:
    """Validate options as the REST body is validated, with the same first-field message."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        fail(first_error_message([dict(e) for e in exc.errors()]))
