"""`portal admin notifications send` and `portal admin announcements create|list|end` (00 §8; 08 §41, §62)
as real subprocesses on SQLite and PostgreSQL + Redis: `--json` prints the REST body, the default output is
a readable line or table, errors are one line on stderr, audit rows have `actor_id: null`; a notification
sent from the CLI reaches a connected socket of a running server."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from portal.db.models import AuditLog, Notification, User
from tests.cli.conftest import PORTAL, CliBackend, CliResult
from tests.helpers import Portal
from tests.servers import process_env
from tests.sockets import online

ANNOUNCEMENT_KEYS = {"id", "title", "body", "level", "starts_at", "ends_at", "created_at"}


async def audit_rows(backend: CliBackend, event_type: str) -> list[AuditLog]:
    async with backend.container() as container, container.db.read() as session:
        query = select(AuditLog).where(AuditLog.event_type == event_type).order_by(AuditLog.id)
        return list((await session.execute(query)).scalars().all())


async def titles_of(backend: CliBackend, user_id: int) -> list[str]:
    async with backend.container() as container, container.db.read() as session:
        query = (
            select(Notification.title)
            .where(Notification.user_id == user_id, Notification.title != "Welcome to Portal")
            .order_by(Notification.id)
        )
        return list((await session.execute(query)).scalars().all())


async def registered(backend: CliBackend) -> int:
    async with backend.container() as container, container.db.read() as session:
        query = select(func.count()).select_from(User).where(User.is_stranger.is_(False))
        return int((await session.execute(query)).scalar_one())


# ---- notifications send -------------------------------------------------------------------------------


async def test_send_to_some_users(cli: CliBackend) -> None:
    alice, bob = await cli.make_user(), await cli.make_user()
    ids = f"{alice['id']},{bob['id']}"
    sent = await cli.admin(
        "notifications",
        "send",
        "--title",
        "Hi",
        "--body",
        "Hello",
        "--type",
        "warning",
        "--user-ids",
        ids,
        "--json",
    )
    assert sent.json() == {"message": "Notification sent to 2 users", "count": 2}
    assert await titles_of(cli, alice["id"]) == ["Hi"] and await titles_of(cli, bob["id"]) == ["Hi"]
    row = (await audit_rows(cli, "NOTIFICATION_SEND"))[-1]
    assert (row.actor_id, row.entity_type) == (None, None)
    assert row.event_metadata == {
        "title": "Hi",
        "type": "warning",
        "count": 2,
        "user_ids": [alice["id"], bob["id"]],
    }

    plain = await cli.admin(
        "notifications", "send", "--title", "Again", "--body", "B", "--user-ids", str(bob["id"])
    )
    plain.assert_ok()  # on SQLite with no server running: the one note that nothing was pushed live
    assert plain.stdout == "Notification sent to 1 users\n"
    row = (await audit_rows(cli, "NOTIFICATION_SEND"))[-1]
    assert (row.actor_id, row.entity_type, row.entity_id) == (None, "user", bob["id"])
    assert row.event_metadata["type"] == "info"


async def test_send_to_everyone(cli: CliBackend) -> None:
    alice = await cli.make_user()
    everyone = await registered(cli)
    sent = await cli.admin("notifications", "send", "--title", "All", "--body", "Everyone", "--json")
    assert sent.json() == {"message": f"Notification sent to {everyone} users", "count": everyone}
    assert (await titles_of(cli, alice["id"]))[-1] == "All"
    row = (await audit_rows(cli, "NOTIFICATION_BROADCAST"))[-1]
    assert (row.actor_id, row.entity_type, row.event_metadata) == (
        None,
        None,
        {"title": "All", "type": "info", "count": everyone},
    )


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["--user-ids", "999999"], "error: User not found"),
        (["--user-ids", ""], "error: user_ids must contain 1 to 1000 items"),
        (["--user-ids", "1,x"], "error: user_ids must be a comma-separated list of integers"),
        (["--user-ids", ",".join(["1"] * 1001)], "error: user_ids must contain 1 to 1000 items"),
        (["--type", "danger"], "error: type must be one of: info, success, warning, error"),
        (["--title", ""], "error: title must be at least 1 character"),
        (["--title", "x" * 101], "error: title must be at most 100 characters"),
        (["--body", "x" * 2001], "error: body must be at most 2000 characters"),
    ],
)
async def test_send_errors_are_one_line_and_send_nothing(
    cli: CliBackend, args: list[str], error: str
) -> None:
    alice = await cli.make_user()
    options = {"--title": "T", "--body": "B", "--user-ids": str(alice["id"])}
    for name, value in zip(args[::2], args[1::2], strict=True):
        options[name] = value if value != "999999" else f"{alice['id']},999999"
    argv = [part for pair in options.items() for part in pair]
    (await cli.admin("notifications", "send", *argv)).assert_one_error_line(error)
    assert await titles_of(cli, alice["id"]) == []


# ---- announcements ------------------------------------------------------------------------------------


async def test_create_list_and_end(cli: CliBackend) -> None:
    created = (
        await cli.admin(
            "announcements",
            "create",
            "--title",
            "Maintenance",
            "--body",
            "Tonight",
            "--level",
            "warning",
            "--json",
        )
    ).json()
    assert created.keys() == ANNOUNCEMENT_KEYS
    assert (created["title"], created["level"], created["ends_at"]) == ("Maintenance", "warning", None)
    scheduled = (
        await cli.admin(
            "announcements",
            "create",
            "--title",
            "Later",
            "--body",
            "B",
            "--starts-at",
            "2999-01-01T00:00:00Z",
            "--json",
        )
    ).json()
    assert scheduled["starts_at"] == "2999-01-01T00:00:00Z"

    listed = (await cli.admin("announcements", "list", "--json")).json()
    assert created in listed and all(a["id"] != scheduled["id"] for a in listed)
    every = (await cli.admin("announcements", "list", "--all", "--q", "later", "--json")).json()
    assert [a["id"] for a in every] == [scheduled["id"]]
    table = await cli.admin("announcements", "list")
    header, *lines = table.stdout.splitlines()
    assert header.split() == ["id", "level", "title", "starts_at", "ends_at"]
    assert any(line.split()[:3] == [str(created["id"]), "warning", "Maintenance"] for line in lines)

    ended = (
        await cli.admin("announcements", "end", "--announcement-id", str(created["id"]), "--json")
    ).json()
    assert ended["ends_at"] is not None and {**ended, "ends_at": None} == created
    again = await cli.admin("announcements", "end", "--announcement-id", str(created["id"]))
    assert again.code == 0 and again.stdout.startswith(
        f"ended announcement {created['id']} (warning) 'Maintenance'"
    )
    assert all(a["id"] != created["id"] for a in (await cli.admin("announcements", "list", "--json")).json())

    [create_row, *_] = [
        r
        for r in await audit_rows(cli, "ANNOUNCEMENT_CREATE")
        if r.event_metadata["announcement_id"] == created["id"]
    ]
    assert (create_row.actor_id, create_row.entity_type, create_row.event_metadata["level"]) == (
        None,
        None,
        "warning",
    )
    ends = [
        r
        for r in await audit_rows(cli, "ANNOUNCEMENT_END")
        if r.event_metadata["announcement_id"] == created["id"]
    ]
    assert [(r.actor_id, r.entity_type) for r in ends] == [
        (None, None)
    ]  # once: the second end changed nothing

    plain = await cli.admin("announcements", "create", "--title", "Hello", "--body", "B")
    assert (
        plain.code == 0
        and plain.stdout.startswith("created announcement ")
        and "(info) 'Hello'" in plain.stdout
    )


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["create", "--title", "", "--body", "B"], "error: title must be at least 1 character"),
        (
            ["create", "--title", "T", "--body", "B", "--level", "error"],
            "error: level must be one of: info, warning, critical",
        ),
        (
            ["create", "--title", "T", "--body", "B", "--ends-at", "soon"],
            "error: ends_at must be an ISO-8601 date-time",
        ),
        (
            ["create", "--title", "T", "--body", "B", "--ends-at", "2000-01-01T00:00:00Z"],
            "error: ends_at must be after starts_at",
        ),
        (["end", "--announcement-id", "999999"], "error: Announcement not found"),
    ],
)
async def test_announcement_errors_are_one_line(cli: CliBackend, args: list[str], error: str) -> None:
    (await cli.admin("announcements", *args)).assert_one_error_line(error)


async def test_admin_tools_is_the_same_command(cli: CliBackend) -> None:
    listed = await cli.admin_tools("announcements", "list", "--json")
    assert isinstance(listed.json(), list)


# ---- a running server hears the CLI's notification ------------------------------------------------------


async def run_cli_against(portal: Portal, *args: str) -> CliResult:
    """`portal admin ...` in its own process, pointed at the running test server's database (and Redis)."""
    settings = portal.server.settings
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
    env.update(process_env(portal.server, Path(settings.var_dir)))
    process = await asyncio.create_subprocess_exec(
        str(PORTAL),
        "admin",
        *args,
        env=env,
        cwd=Path(settings.var_dir).parent,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return CliResult(process.returncode, stdout.decode(), stderr.decode())


async def test_a_cli_notification_reaches_a_connected_socket(portal: Portal, sockets: Any) -> None:
    alice, bob = await portal.login(), await portal.login()
    alice_socket = await online(sockets, alice.client.session_token)
    bob_socket = await online(sockets, bob.client.session_token)

    sent = await run_cli_against(
        portal,
        "notifications",
        "send",
        "--title",
        "From the CLI",
        "--body",
        "Hi",
        "--user-ids",
        str(alice.id),
        "--json",
    )
    assert sent.json() == {"message": "Notification sent to 1 users", "count": 1}
    listed = await alice.client.call("GET", "/v1/notifications")
    newest = listed["notifications"][0]
    assert (newest["title"], newest["created_by"]) == ("From the CLI", None)

    if not portal.server.settings.redis_url:  # single process: the CLI reached it over its control socket
        assert (Path(portal.server.settings.var_dir) / "portal.sock").exists()
    assert await alice_socket.expect("notification:new") == newest
    await bob_socket.assert_silent("notification:new")
