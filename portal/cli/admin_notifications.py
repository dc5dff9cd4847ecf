"""`portal admin notifications ...` (docs/cli.md)."""

from __future__ import annotations

import typer

notifications_app = typer.Typer(help="Notifications to users.", no_args_is_help=True)
