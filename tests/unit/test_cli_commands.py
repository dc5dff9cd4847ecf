"""`portal admin` has exactly the groups and commands 00-decisions.md §8 names (plus `users hard-unmute`,
08 §59): a command renamed or dropped fails here before an operator's script does. Each command's behaviour
is tested as a subprocess in tests/cli, tests/admin, tests/bots, tests/notify and tests/strangers."""

from __future__ import annotations

from portal.cli.admin import GROUPS

EXPECTED = {
    "users": {
        "create",
        "show",
        "list",
        "set-permission",
        "ban",
        "unban",
        "timeout",
        "warn",
        "hard-mute",
        "hard-unmute",
        "link-platform",
    },
    "subscriptions": {"grant", "revoke", "list"},
    "bots": {"register", "list", "update", "regenerate-key", "delete", "reset-stats"},
    "chats": {"create-official", "list", "show", "update", "delete", "transfer", "start", "stop", "kick"},
    "notifications": {"send"},
    "announcements": {"create", "list", "end"},
    "audit": {"logs"},
    "strangers": {"block"},
}


def test_every_group_and_command_of_the_contract_exists() -> None:
    built = {
        name: {
            command.name or (command.callback.__name__ if command.callback else "")
            for command in app.registered_commands
        }
        for name, app in GROUPS.items()
    }
    assert built == EXPECTED


def test_every_command_explains_itself() -> None:
    for name, app in GROUPS.items():
        for command in app.registered_commands:
            assert command.callback is not None and (command.callback.__doc__ or "").strip(), (
                f"portal admin {name} {command.name} has no help text"
            )
