"""`portal admin announcements ...` (docs/cli.md)."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from pydantic import TypeAdapter

from portal.cli.admin_notifications import validated
from portal.cli.common import JsonOption, emit, run, table
from portal.schemas.notifications import AnnouncementOut, CreateAnnouncementIn

announcements_app = typer.Typer(help="Platform announcements.", no_args_is_help=True)

COLUMNS = ["id", "level", "title", "starts_at", "ends_at"]


def _summary(a: AnnouncementOut) -> str:
    until = a.ends_at.isoformat() if a.ends_at else "until ended"
    return f"announcement {a.id} ({a.level}) '{a.title}': from {a.starts_at.isoformat()}, {until}"


@announcements_app.command("create")
def announcements_create(
    title: Annotated[str, typer.Option(help="1–100 characters")],
    body: Annotated[str, typer.Option(help="1–2000 characters")],
    level: Annotated[str | None, typer.Option(help="info (default), warning or critical")] = None,
    starts_at: Annotated[str | None, typer.Option(help="ISO-8601 date-time; default now")] = None,
    ends_at: Annotated[str | None, typer.Option(help="ISO-8601 date-time; default none")] = None,
    as_json: JsonOption = False,
) -> None:
    """Create an announcement (POST /v1/admin/announcements)."""
    request = validated(
        CreateAnnouncementIn,
        {"title": title, "body": body, "level": level, "starts_at": starts_at, "ends_at": ends_at},
    )
    created = run(lambda c: c.announcements.create(request, actor=None))
    emit(created, as_json, "created " + _summary(created))


@announcements_app.command("list")
def announcements_list(
    all_: Annotated[bool, typer.Option("--all", help="also scheduled and ended ones")] = False,
    q: Annotated[str | None, typer.Option(help="part of the title")] = None,
    limit: Annotated[int, typer.Option(min=1, max=100, help="1–100")] = 50,
    offset: Annotated[int, typer.Option(min=0)] = 0,
    as_json: JsonOption = False,
) -> None:
    """Announcements showing now, newest first, as GET /v1/announcements (with --all: every one)."""
    rows = run(lambda c: c.announcements.list(include_all=all_, q=q, offset=offset, limit=limit))
    body = TypeAdapter(list[AnnouncementOut]).dump_python(rows, mode="json")
    typer.echo(json.dumps(body, indent=2) if as_json else table(body, COLUMNS))


@announcements_app.command("end")
def announcements_end(
    announcement_id: Annotated[int, typer.Option(help="the announcement to end")],
    as_json: JsonOption = False,
) -> None:
    """Stop showing an announcement now; idempotent (POST /v1/admin/announcements/{id}/end)."""
    ended = run(lambda c: c.announcements.end(announcement_id, actor=None))
    emit(ended, as_json, "ended " + _summary(ended))
