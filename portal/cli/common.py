"""What every `portal admin` command shares: running one service action, printing its answer (a readable
summary or table, or `--json`), and failing with one line on stderr (docs/cli.md).

Each command group lives in its own module (`portal/cli/admin_<group>.py`) with its own Typer app;
`portal/cli/admin.py` puts them together.
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

T = TypeVar("T")
log = logging.getLogger("portal.cli")


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


def table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    """Rows as a plain-text table with the given columns (missing values blank); "(none)" when empty."""
    if not rows:
        return "(none)"
    cells = [[_cell(row.get(column)) for column in columns] for row in rows]
    widths = [max(len(column), *(len(line[i]) for line in cells)) for i, column in enumerate(columns)]
    lines = ["  ".join(column.ljust(widths[i]) for i, column in enumerate(columns)).rstrip()]
    lines += ["  ".join(value.ljust(widths[i]) for i, value in enumerate(line)).rstrip() for line in cells]
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return str(value)
