"""`portal admin audit ...` (docs/cli.md)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from portal.cli.common import JsonOption, emit, run, table

audit_app = typer.Typer(help="The audit log.", no_args_is_help=True)


@audit_app.command("logs")
def audit_logs(
    event_type: Annotated[str | None, typer.Option(help="e.g. USER_BAN")] = None,
    entity_type: Annotated[str | None, typer.Option(help="user, chat or bot")] = None,
    entity_id: Annotated[int | None, typer.Option(help="the entity's id")] = None,
    actor_id: Annotated[int | None, typer.Option(help="who acted")] = None,
    offset: Annotated[int, typer.Option(help="rows to skip", min=0)] = 0,
    limit: Annotated[int, typer.Option(help="rows to show (1–200)", min=1, max=200)] = 50,
    as_json: JsonOption = False,
) -> None:
    """Audit events, newest first (GET /v1/admin/audit/logs); a null actor is the CLI or the system."""
    logs = run(
        lambda c: c.audit_log.logs(
            event_type=event_type,
            entity_type=entity_type,
            entity_id=entity_id,
            actor_id=actor_id,
            offset=offset,
            limit=limit,
        )
    )
    rows: list[dict[str, Any]] = [item.model_dump(mode="json") for item in logs.items]
    for row in rows:
        row["entity"] = f"{row['entity_type']}:{row['entity_id']}" if row["entity_type"] else None
        row["actor"] = row["actor_id"]
        row["metadata"] = row["event_metadata"]
    summary = table(rows, ["id", "created_at", "event_type", "entity", "actor", "metadata"])
    emit(logs, as_json, f"{summary}\n({len(rows)} of {logs.total})")
