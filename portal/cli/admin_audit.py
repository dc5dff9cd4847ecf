"""`portal admin audit ...` (docs/cli.md)."""

from __future__ import annotations

import typer

audit_app = typer.Typer(help="The audit log.", no_args_is_help=True)
