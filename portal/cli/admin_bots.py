"""`portal admin bots ...` (docs/cli.md)."""

from __future__ import annotations

from typing import Annotated

import typer

from portal.cli.common import JsonOption, emit, run

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
