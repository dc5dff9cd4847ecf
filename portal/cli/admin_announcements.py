"""`portal admin announcements ...` (docs/cli.md)."""

from __future__ import annotations

import typer

announcements_app = typer.Typer(help="Platform announcements.", no_args_is_help=True)
