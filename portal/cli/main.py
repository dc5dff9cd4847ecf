"""The `portal` command: serve, migrate and admin (docs/cli.md)."""

from __future__ import annotations

import logging
import socket
import sys
from enum import StrEnum
from typing import Annotated

import typer
from typer._click import exceptions as click_errors  # typer vendors click (pinned in pyproject)

from portal.cli.admin import admin_app
from portal.config import Settings

SHUTDOWN_GRACE_SECONDS = 10

app = typer.Typer(
    help="Portal: shared virtual browsers, E2EE group chat and 1-on-1 matchmaking.",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(admin_app, name="admin")


class Role(StrEnum):
    all = "all"
    api = "api"
    ws = "ws"


def configure_logging(level: str) -> None:
    from portal import access_log

    logging.basicConfig(
        level=level.upper(), stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    access_log.install()


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8080,
    role: Annotated[
        Role, typer.Option(help="all = REST + Socket.IO; api or ws for split deployments")
    ] = Role.all,
) -> None:
    """Start the server (applies migrations first on SQLite)."""
    import uvicorn

    from portal.app import create_app
    from portal.container import Container
    from portal.db.migrate import upgrade
    from portal.realtime.server import WS_MAX_MESSAGE_BYTES

    settings = Settings()
    if settings.node_name is None:  # stable across restarts: a restarted node cleans up after its crash
        settings = settings.model_copy(update={"node_name": f"{socket.gethostname()}:{port}"})
    configure_logging(settings.log_level)
    if settings.is_sqlite:
        upgrade(settings.database_url)
    log = logging.getLogger("portal")
    log.info("public API key (X-API-Key): %s", settings.resolved_public_api_key)
    if settings.console_codes_enabled:
        log.info("console codes are on: new login codes are written to this log")
    application = create_app(Container(settings), role=role.value)
    uvicorn.run(
        application,
        host=host,
        port=port,
        log_level=settings.log_level.lower(),
        proxy_headers=False,
        server_header=False,
        # uvicorn otherwise waits for ever for open WebSockets to close: a stopping node gives its sockets
        # this long, then cuts them (clients reconnect to another node).
        timeout_graceful_shutdown=SHUTDOWN_GRACE_SECONDS,
        ws_max_size=WS_MAX_MESSAGE_BYTES,
    )


@app.command()
def migrate() -> None:
    """Apply database migrations (Alembic) to PORTAL_DATABASE_URL."""
    from portal.db.migrate import upgrade

    settings = Settings()
    configure_logging(settings.log_level)
    upgrade(settings.database_url)
    typer.echo("database is up to date")


def run_cli(application: typer.Typer, prog_name: str) -> None:
    """Run a Typer app so that every failure is one `error: ...` line on stderr.

    Usage errors (a missing option, a bad value) exit 2; failed actions exit 1 (see `admin.run`).
    """
    try:
        code = application(standalone_mode=False, prog_name=prog_name)
    except click_errors.NoArgsIsHelpError as exc:
        exc.show()  # the help text, as with plain click
        sys.exit(exc.exit_code)
    except click_errors.UsageError as exc:
        typer.echo(f"error: {' '.join(exc.format_message().split())}", err=True)
        sys.exit(exc.exit_code)
    except typer.Abort:
        typer.echo("error: aborted", err=True)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


def main() -> None:
    run_cli(app, "portal")


if __name__ == "__main__":
    main()
