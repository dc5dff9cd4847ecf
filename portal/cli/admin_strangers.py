"""`portal admin strangers ...` (docs/cli.md)."""

from __future__ import annotations

from typing import Annotated

import typer

from portal.cli.common import JsonOption, emit, run

strangers_app = typer.Typer(help="Anonymous matchmaking sessions.", no_args_is_help=True)


@strangers_app.command("block")
def strangers_block(
    user_id: Annotated[int, typer.Option(help="the stranger to block (must have a live session)")],
    as_json: JsonOption = False,
) -> None:
    """Block a stranger's session from matchmaking until it expires (POST /v1/admin/strangers/block)."""
    message = run(lambda c: c.strangers.block(user_id, actor=None))
    emit({"message": message}, as_json, message)
