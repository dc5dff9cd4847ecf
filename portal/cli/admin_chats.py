"""`portal admin chats ...` (docs/cli.md)."""

from __future__ import annotations

import typer

chats_app = typer.Typer(help="Group chats: official chats, owners, VMs, kicks.", no_args_is_help=True)
