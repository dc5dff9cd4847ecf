"""`portal admin users ...` (docs/cli.md)."""

from __future__ import annotations

from typing import Annotated

import typer

from portal.cli.common import JsonOption, PermissionName, emit, run
from portal.services.permissions import LEVELS_BY_NAME

users_app = typer.Typer(help="User accounts.", no_args_is_help=True)


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
