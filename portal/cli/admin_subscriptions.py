"""`portal admin subscriptions ...` (docs/cli.md)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from portal.cli.common import JsonOption, emit, run, table

subscriptions_app = typer.Typer(help="Subscription tiers.", no_args_is_help=True)
TIER_NAMES = {1: "trial", 2: "premium", 3: "lifetime"}


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


@subscriptions_app.command("revoke")
def subscriptions_revoke(
    user_id: Annotated[int, typer.Option(help="the user to set back to Basic")],
    reason: Annotated[str, typer.Option(help="why (1–500 characters, kept in the history)")],
    as_json: JsonOption = False,
) -> None:
    """Set a user back to Basic (a Basic user is left as is)."""
    message = run(lambda c: c.subscriptions.revoke(actor=None, user_id=user_id, reason=reason))
    emit({"message": message}, as_json, message)


@subscriptions_app.command("list")
def subscriptions_list(
    tier: Annotated[int | None, typer.Option(help="1 (trial), 2 (premium) or 3 (lifetime)")] = None,
    q: Annotated[str | None, typer.Option(help="part of the username (case-insensitive)")] = None,
    offset: Annotated[int, typer.Option(help="rows to skip", min=0)] = 0,
    limit: Annotated[
        int | None, typer.Option(help="rows to show (1–1000; all by default)", min=1, max=1000)
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Users above Basic whose subscription has not ended (GET /v1/admin/subscriptions/active)."""
    active = run(lambda c: c.subscriptions.active(tier=tier, q=q or None, offset=offset, limit=limit))
    rows: list[dict[str, Any]] = [u.model_dump(mode="json") for u in active.users]
    for row in rows:
        row["tier"] = f"{row['tier']} ({TIER_NAMES.get(row['tier'], '?')})"
    emit(active, as_json, table(rows, ["id", "name", "tier", "expires_at"]))
