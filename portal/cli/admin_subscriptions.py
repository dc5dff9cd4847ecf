"""`portal admin subscriptions ...` (docs/cli.md)."""

from __future__ import annotations

from typing import Annotated

import typer

from portal.cli.common import JsonOption, emit, run

subscriptions_app = typer.Typer(help="Subscription tiers.", no_args_is_help=True)


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
