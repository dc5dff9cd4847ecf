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
from pydantic import BaseModel, ValidationError

from portal.config import Settings
from portal.container import Container
from portal.errors import PortalError
from portal.events import Event
from portal.schemas.common import INVALID_REQUEST, error_message
from portal.services.notifier import NullNotifier, Rooms

T = TypeVar("T")
log = logging.getLogger("portal.cli")


JsonOption = Annotated[bool, typer.Option("--json", help="print the REST answer as JSON")]


class PermissionName(StrEnum):
    user = "user"
    moderator = "moderator"
    admin = "admin"
    owner = "owner"


def run(action: Callable[[Container], Awaitable[T]]) -> T:
    """Build the container, run one service action, print one error line and exit 1 on failure.

    The container reaches running servers (docs/cli.md, "Reaching running servers"): with Redis through
    the bus; without, through the server's control socket, whose LiveStore it then uses. With no server
    there, the action still does its database part and one line on stderr says who was not told.
    """

    async def go(settings: Settings) -> T:
        container = Container(settings)
        container.hosts_vms = False  # browser VMs start on a running server (vms.start_chat)
        container.notifier = await _cli_notifier(container)
        await container.start()
        try:
            return await action(container)
        finally:
            await container.close()
            unreached = container.notifier
            if isinstance(unreached, UnreachedNotifier) and unreached.missed:
                typer.echo(f"note: {unreached.reason}: live updates were not sent", err=True)

    try:
        settings = Settings()
        if settings.is_sqlite:
            from portal.db.migrate import upgrade

            upgrade(settings.database_url)
        return asyncio.run(go(settings))
    except PortalError as exc:
        detail = exc.extra.get("message")  # a coded error's explanation (ERR_VM_UNAVAILABLE: why)
        fail(f"{exc.message}: {detail}" if isinstance(detail, str) and detail else exc.message)
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


async def _cli_notifier(container: Container) -> Any:
    """How this process reaches the connected clients of running servers:
    - with Redis, every node listens on the bus (`RedisBusNotifier`);
    - without, the one server's control socket (`$PORTAL_VAR_DIR/portal.sock`): the container then uses
      that server's LiveStore (`RemoteLiveStore`), so presence, control and VM bookkeeping are the server's,
      and the server's notifier applies the operations (`ControlNotifier`);
    - no server there: `UnreachedNotifier`, which notes what it could not deliver."""
    settings = container.settings
    if settings.redis_url:
        from portal.realtime.notifier import RedisBusNotifier

        return RedisBusNotifier(container.live, settings.redis_url, settings.redis_prefix)
    from portal.live.remote import ControlError, RemoteLiveStore, socket_path
    from portal.realtime.control import ControlNotifier

    path = socket_path(settings.var_dir)
    try:
        remote = await RemoteLiveStore.connect(path)
    except FileNotFoundError:
        return UnreachedNotifier(f"no server is running (no {path})")
    except ConnectionRefusedError:
        return UnreachedNotifier(f"no server is running (nothing answers on {path})")
    except (OSError, ControlError, TimeoutError) as exc:
        return UnreachedNotifier(f"could not reach the server on {path} ({_first_line(exc)})")
    vars(container)["live"] = remote  # the container's `live` (a cached property) is the server's store
    return ControlNotifier(remote)


class UnreachedNotifier(NullNotifier):
    """No server to tell: notes that something was meant for connected clients (`run` says so)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        self.missed = False

    def _miss(self) -> None:
        self.missed = True

    async def send(self, event: Event, *, room: Rooms | None, skip_sid: str | None = None) -> None:
        self._miss()

    async def emit(self, event: str, data: Any, *, room: Rooms | None, skip_sid: str | None = None) -> None:
        self._miss()

    async def end_session(self, token_hash: str, reason: str) -> None:
        self._miss()

    async def evict(self, chat_id: int, **_: Any) -> None:
        self._miss()

    async def set_screen_access(self, chat_id: int, user_id: int, *, visible: bool) -> None:
        self._miss()

    async def deliver(self, event: Event, *, room: Rooms) -> None:
        self._miss()

    async def seat(self, chat_id: int, user_ids: list[int]) -> None:
        self._miss()


M = TypeVar("M", bound=BaseModel)


def parse(model: type[M], data: dict[str, Any]) -> M:
    """A REST body model from the options, or the REST 400 text as the one error line."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        fail(error_message(dict(errors[0])) if errors else INVALID_REQUEST)


def json_object(option: str, text: str | None) -> dict[str, Any] | None:
    """An option that carries a JSON object (e.g. `--browser-config '{"kiosk": true}'`)."""
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        fail(f"{option} must be a JSON object")
    if not isinstance(value, dict):
        fail(f"{option} must be a JSON object")
    return value


def emit(body: BaseModel | dict[str, Any] | list[Any], as_json: bool, summary: str) -> None:
    """`--json`: the body (a model, a dict or a list of them) as the REST call answers it; else `summary`."""
    typer.echo(json.dumps(_plain(body), indent=2) if as_json else summary)


def _plain(body: Any) -> Any:
    if isinstance(body, BaseModel):
        return body.model_dump(mode="json")
    if isinstance(body, list):
        return [_plain(item) for item in body]
    return body


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
