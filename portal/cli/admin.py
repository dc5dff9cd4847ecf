"""`portal admin ...`: operator commands that call the same services as the REST API (docs/cli.md).

Works without a running server (straight to the database); actions that concern connected clients reach
running servers as docs/cli.md says. `--json` prints the body the matching REST call would answer. Each group
is a module of its own (`portal/cli/admin_<group>.py`); the shared machinery is `portal/cli/common.py`.
"""

from __future__ import annotations

import typer

from portal.cli.admin_announcements import announcements_app
from portal.cli.admin_audit import audit_app
from portal.cli.admin_bots import bots_app
from portal.cli.admin_chats import chats_app
from portal.cli.admin_notifications import notifications_app
from portal.cli.admin_strangers import strangers_app
from portal.cli.admin_subscriptions import subscriptions_app
from portal.cli.admin_users import users_app

GROUPS = {
    "users": users_app,
    "bots": bots_app,
    "subscriptions": subscriptions_app,
    "strangers": strangers_app,
    "chats": chats_app,
    "notifications": notifications_app,
    "announcements": announcements_app,
    "audit": audit_app,
}
admin_app = typer.Typer(help="Operator commands: " + ", ".join(GROUPS) + ".", no_args_is_help=True)
for name, group in GROUPS.items():
    admin_app.add_typer(group, name=name)
