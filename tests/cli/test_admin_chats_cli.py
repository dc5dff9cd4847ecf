"""`portal admin chats ...` run as subprocesses against a real database, with no server running (00 §8; 06 §7;
08 §62): the same service actions as `/v1/admin/chats/*`, `--json` = the REST body, readable text otherwise,
one error line, audit rows with `actor_id: null`. The commands against a running server are in
test_live_cli.py.
"""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path
from typing import Any

from sqlalchemy import select

from portal.db import chats as chats_db
from portal.db import users as users_db
from portal.db.models import AuditLog, Chat, ChatMember
from portal.schemas.chats import AdminCreateChatIn
from portal.services.permissions import Level
from tests.cli.conftest import CliBackend, fresh_backend
from tests.helpers import unique_name

ADMIN_CHAT_FIELDS = {
    "id",
    "name",
    "owner_id",
    "is_public",
    "visibility",
    "label",
    "slug",
    "description",
    "avatar_source",
    "last_activity_at",
    "created_at",
    "updated_at",
}
LIVE_STATE_FIELDS = {
    "chat_id",
    "chat_name",
    "username",
    "browser",
    "allow_control_requests",
    "visibility",
    "label",
    "slug",
    "description",
    "avatar_source",
    "running",
    "viewer_count",
}


def slug() -> str:
    return f"cli-{secrets.token_hex(4)}"


async def official(cli: CliBackend, owner_id: int, *, name: str | None = None) -> dict[str, Any]:
    """Set-up: an official chat made by the same action as `chats create-official`."""
    async with cli.container() as c:
        body = AdminCreateChatIn(name=name or unique_name("chat"), slug=slug())
        live = await c.admin_chats.create_official(body, actor=None, owner_id=owner_id)
    return {"id": live.chat_id, "name": live.chat_name, "slug": live.slug}


async def add_member(cli: CliBackend, chat_id: int, user_id: int) -> None:
    async with cli.container() as c, c.db.transaction() as session:
        now = c.clock.now()
        member = ChatMember(
            chat_id=chat_id, user_id=user_id, method=None, invite_code=None, joined_at=now, created_at=now
        )
        await chats_db.add_member(session, member, gone=LookupError(f"chat {chat_id} or user {user_id}"))


async def audit(cli: CliBackend, event_type: str, chat_id: int) -> list[AuditLog]:
    async with cli.container() as c, c.db.read() as session:
        query = select(AuditLog).where(
            AuditLog.event_type == event_type, AuditLog.entity_type == "chat", AuditLog.entity_id == chat_id
        )
        return list((await session.execute(query.order_by(AuditLog.id))).scalars().all())


async def chat_row(cli: CliBackend, chat_id: int) -> Chat | None:
    async with cli.container() as c, c.db.read() as session:
        return await session.get(Chat, chat_id)


async def lowest_owner(cli: CliBackend) -> int:
    async with cli.container() as c, c.db.read() as session:
        owner_id = await users_db.lowest_id_at_level(session, Level.OWNER)
    assert owner_id is not None
    return owner_id


# ---- create-official ----------------------------------------------------------------------------------


async def test_create_official_prints_the_live_state_and_audits(cli: CliBackend) -> None:
    owner = await cli.make_user("admin")
    name, chat_slug = unique_name("lobby"), slug()
    result = await cli.admin(
        "chats",
        "create-official",
        "--name",
        name,
        "--slug",
        chat_slug,
        "--owner-id",
        str(owner["id"]),
        "--description",
        "Main lobby",
        "--allow-control-requests",
        "--browser-config",
        '{"browser": "firefox", "kiosk": true}',
        "--json",
    )
    state = result.json()
    assert set(state) == LIVE_STATE_FIELDS
    assert state | {"chat_id": 0} == {
        "chat_id": 0,
        "chat_name": name,
        "username": owner["username"],
        "browser": "firefox",
        "allow_control_requests": True,
        "visibility": "official",
        "label": None,
        "slug": chat_slug,
        "description": "Main lobby",
        "avatar_source": None,
        "running": False,
        "viewer_count": 0,
    }
    row = await chat_row(cli, state["chat_id"])
    assert row is not None and row.owner_id == owner["id"]
    assert row.browser_config == {"browser": "firefox", "start_url": None, "kiosk": True}
    [entry] = await audit(cli, "CHAT_CREATE_OFFICIAL", state["chat_id"])
    assert entry.actor_id is None
    assert entry.event_metadata == {"name": name, "slug": chat_slug, "user_id": owner["id"]}


async def test_create_official_defaults_to_the_lowest_id_owner(cli: CliBackend) -> None:
    await cli.make_user("owner")
    await cli.make_user("owner")
    first_owner = await lowest_owner(cli)
    chat_slug = slug()
    result = await cli.admin("chats", "create-official", "--name", "General", "--slug", chat_slug)
    result.assert_ok()
    chat_id = int(result.stdout.split()[3])
    assert result.stdout.startswith(f"created official chat {chat_id} (General, /{chat_slug}) owned by ")
    row = await chat_row(cli, chat_id)
    assert row is not None and row.owner_id == first_owner


async def test_create_official_without_any_owner_fails(tmp_path: Path) -> None:
    async with fresh_backend("sqlite", tmp_path) as backend:
        assert (await backend.portal("migrate")).code == 0
        await backend.make_user("admin")
        result = await backend.admin("chats", "create-official", "--name", "General", "--slug", "general")
        result.assert_one_error_line("error: There is no Owner to own the chat: give owner_id")


async def test_create_official_errors(cli: CliBackend) -> None:
    owner = await cli.make_user("owner")
    taken = await official(cli, owner["id"])
    base = ["chats", "create-official", "--owner-id", str(owner["id"])]
    cases = {
        "error: slug contains invalid characters": [
            *base,
            "--name",
            "Ok",
            "--slug",
            "B!",
        ],
        "error: name must be at least 2 characters": [*base, "--name", "x", "--slug", slug()],
        "error: ERR_SLUG_TAKEN": [*base, "--name", "Ok", "--slug", taken["slug"]],
        "error: User not found": [
            "chats",
            "create-official",
            "--owner-id",
            "999999",
            "--name",
            "Ok",
            "--slug",
            slug(),
        ],
        "error: --browser-config must be a JSON object": [
            *base,
            "--name",
            "Ok",
            "--slug",
            slug(),
            "--browser-config",
            "[1]",
        ],
        "error: browser_config.browser must be one of: chromium, firefox, brave, tor-browser": [
            *base,
            "--name",
            "Ok",
            "--slug",
            slug(),
            "--browser-config",
            '{"browser": "lynx"}',
        ],
    }
    results = await asyncio.gather(*(cli.admin(*args) for args in cases.values()))
    for expected, result in zip(cases, results, strict=True):
        result.assert_one_error_line(expected)


# ---- list and show ------------------------------------------------------------------------------------


async def test_list_shows_every_group_chat_as_a_table_or_the_rest_body(cli: CliBackend) -> None:
    owner = await cli.make_user("owner")
    tag = secrets.token_hex(3)
    first = await official(cli, owner["id"], name=f"alpha-{tag}")
    second = await official(cli, owner["id"], name=f"beta-{tag}")

    everything, found, paged, text = await asyncio.gather(
        cli.admin("chats", "list", "--json"),
        cli.admin("chats", "list", "--q", tag, "--json"),
        cli.admin("chats", "list", "--q", tag, "--offset", "1", "--limit", "1", "--json"),
        cli.admin("chats", "list", "--q", f"ALPHA-{tag}"),
    )
    listed = everything.json()
    assert all(set(chat) == ADMIN_CHAT_FIELDS for chat in listed)
    assert {first["id"], second["id"]} <= {chat["id"] for chat in listed}
    assert [chat["id"] for chat in found.json()] == [first["id"], second["id"]]
    assert [chat["id"] for chat in paged.json()] == [second["id"]]
    [entry] = [chat for chat in listed if chat["id"] == first["id"]]
    assert entry | {"last_activity_at": 0, "created_at": 0, "updated_at": 0} == {
        "id": first["id"],
        "name": first["name"],
        "owner_id": owner["id"],
        "is_public": True,
        "visibility": "official",
        "label": None,
        "slug": first["slug"],
        "description": None,
        "avatar_source": None,
        "last_activity_at": 0,
        "created_at": 0,
        "updated_at": 0,
    }
    text.assert_ok()
    header, row = text.stdout.splitlines()
    assert header.split() == ["id", "name", "visibility", "slug", "owner_id", "label", "last_activity_at"]
    assert row.split()[:6] == [
        str(first["id"]),
        first["name"],
        "official",
        first["slug"],
        str(owner["id"]),
        "-",
    ]

    by_id, nothing, bad_limit = await asyncio.gather(
        cli.admin("chats", "list", "--q", str(second["id"]), "--json"),
        cli.admin("chats", "list", "--q", f"nothing-{tag}"),
        cli.admin("chats", "list", "--limit", "0"),
    )
    assert second["id"] in [chat["id"] for chat in by_id.json()]
    assert nothing.stdout == "(none)\n"
    assert bad_limit.code == 2 and bad_limit.stdout == "" and len(bad_limit.stderr.splitlines()) == 1


async def test_show_prints_the_detail_with_members(cli: CliBackend) -> None:
    owner, member = await asyncio.gather(cli.make_user("owner"), cli.make_user())
    chat = await official(cli, owner["id"])
    await add_member(cli, chat["id"], member["id"])

    as_json, text, missing = await asyncio.gather(
        cli.admin("chats", "show", "--chat-id", str(chat["id"]), "--json"),
        cli.admin("chats", "show", "--chat-id", str(chat["id"])),
        cli.admin("chats", "show", "--chat-id", "999999"),
    )
    detail = as_json.json()
    assert set(detail) == ADMIN_CHAT_FIELDS | {"browser_config", "member_count", "members"}
    assert detail["browser_config"] == {"browser": "chromium", "start_url": None, "kiosk": False}
    assert detail["member_count"] == 1
    [row] = detail["members"]
    assert row["user"]["id"] == member["id"] and row["is_online"] is False
    text.assert_ok()
    lines = text.stdout.splitlines()
    assert lines[0] == f"chat {chat['id']}: {chat['name']}"
    assert f"  visibility   official (/{chat['slug']})" in lines
    assert "members (1, owner not counted):" in lines
    assert lines[-1].split()[:4] == [str(member["id"]), member["username"], "0", "no"]
    missing.assert_one_error_line("error: Chat not found")


# ---- update -------------------------------------------------------------------------------------------


async def test_update_changes_only_the_fields_given_and_audits(cli: CliBackend) -> None:
    owner = await cli.make_user("owner")
    chat = await official(cli, owner["id"])
    result = await cli.admin(
        "chats",
        "update",
        "--chat-id",
        str(chat["id"]),
        "--label",
        "Staff pick",
        "--description",
        "New",
        "--json",
    )
    updated = result.json()
    assert set(updated) == ADMIN_CHAT_FIELDS
    assert (updated["label"], updated["description"], updated["name"]) == ("Staff pick", "New", chat["name"])
    [entry] = await audit(cli, "CHAT_UPDATE", chat["id"])
    assert entry.actor_id is None and entry.event_metadata["fields"] == ["description", "label"]

    cleared = await cli.admin(
        "chats", "update", "--chat-id", str(chat["id"]), "--clear-slug", "--clear-label"
    )
    cleared.assert_ok()
    assert cleared.stdout == f"updated chat {chat['id']} ({chat['name']}): label, slug\n"
    row = await chat_row(cli, chat["id"])
    assert row is not None and (row.visibility, row.slug, row.label) == ("private", None, None)


async def test_update_errors(cli: CliBackend) -> None:
    owner = await cli.make_user("owner")
    chat, other = await official(cli, owner["id"]), await official(cli, owner["id"])
    base = ["chats", "update", "--chat-id", str(chat["id"])]
    cases = {
        "error: nothing to change: give at least one field": base,
        "error: --label and --clear-label exclude each other": [*base, "--label", "x", "--clear-label"],
        "error: visibility must be one of: official, public, private": [*base, "--visibility", "secret"],
        "error: ERR_SLUG_TAKEN": [*base, "--slug", other["slug"]],
        "error: Chat not found": ["chats", "update", "--chat-id", "999999", "--name", "Fine"],
        "error: slug is required for public chats": [*base, "--clear-slug", "--visibility", "public"],
    }
    results = await asyncio.gather(*(cli.admin(*args) for args in cases.values()))
    for expected, result in zip(cases, results, strict=True):
        result.assert_one_error_line(expected)
    assert await audit(cli, "CHAT_UPDATE", chat["id"]) == []


# ---- delete and transfer ------------------------------------------------------------------------------


async def test_delete_removes_the_chat_and_audits(cli: CliBackend) -> None:
    owner = await cli.make_user("owner")
    chat = await official(cli, owner["id"])
    result = await cli.admin("chats", "delete", "--chat-id", str(chat["id"]), "--json")
    assert result.json() == {"message": f"Chat '{chat['name']}' deleted"}
    assert await chat_row(cli, chat["id"]) is None
    [entry] = await audit(cli, "CHAT_DELETE", chat["id"])
    assert entry.actor_id is None and entry.event_metadata == {"name": chat["name"]}
    again = await cli.admin("chats", "delete", "--chat-id", str(chat["id"]))
    again.assert_one_error_line("error: Chat not found")


async def test_transfer_hands_the_chat_over_and_audits(cli: CliBackend) -> None:
    owner, heir = await asyncio.gather(cli.make_user("owner"), cli.make_user())
    chat = await official(cli, owner["id"])
    args = ["chats", "transfer", "--chat-id", str(chat["id"]), "--new-owner-id"]
    done, unknown = await asyncio.gather(cli.admin(*args, str(heir["id"])), cli.admin(*args, "999999"))
    done.assert_ok()
    assert done.stdout == f"Chat '{chat['name']}' transferred to user {heir['id']}\n"
    unknown.assert_one_error_line("error: User not found")
    row = await chat_row(cli, chat["id"])
    assert row is not None and row.owner_id == heir["id"]
    [entry] = await audit(cli, "CHAT_TRANSFER", chat["id"])
    assert entry.actor_id is None
    assert entry.event_metadata == {"user_id": heir["id"], "old_owner_id": owner["id"]}
    same = await cli.admin(*args, str(heir["id"]), "--json")  # already theirs: the same answer, no new row
    assert same.json() == {"message": f"Chat '{chat['name']}' transferred to user {heir['id']}"}
    assert len(await audit(cli, "CHAT_TRANSFER", chat["id"])) == 1


# ---- kick, start and stop with no server --------------------------------------------------------------


async def test_kick_without_a_server_does_the_database_part_and_says_so(cli: CliBackend) -> None:
    owner, member, outsider = await asyncio.gather(cli.make_user("owner"), cli.make_user(), cli.make_user())
    chat = await official(cli, owner["id"])
    await add_member(cli, chat["id"], member["id"])
    args = ["chats", "kick", "--chat-id", str(chat["id"]), "--user-id"]
    kicked = await cli.admin(*args, str(member["id"]), "--json")
    assert kicked.json() == {"message": f"Kicked {member['username']} from chat '{chat['name']}'"}
    if cli.redis_prefix:  # the bus: published, whether or not a node listens
        assert kicked.stderr == ""
    else:
        path = cli.var_dir / "portal.sock"
        assert kicked.stderr == f"note: no server is running (no {path}): live updates were not sent\n"
    [entry] = await audit(cli, "CHAT_KICK", chat["id"])
    assert entry.actor_id is None and entry.event_metadata["user_id"] == member["id"]
    async with cli.container() as c, c.db.read() as session:
        assert await chats_db.membership(session, chat["id"], member["id"]) is None

    again, never, nobody, no_chat = await asyncio.gather(
        cli.admin(*args, str(member["id"])),
        cli.admin(*args, str(outsider["id"])),
        cli.admin(*args, "999999"),
        cli.admin("chats", "kick", "--chat-id", "999999", "--user-id", str(member["id"])),
    )
    again.assert_one_error_line("error: Member not found")
    never.assert_one_error_line("error: Member not found")
    nobody.assert_one_error_line("error: User not found")
    no_chat.assert_one_error_line("error: Chat not found")


async def test_start_needs_a_running_server_and_stop_finds_nothing_running(cli: CliBackend) -> None:
    owner = await cli.make_user("owner")
    chat = await official(cli, owner["id"])
    start, stop, missing = await asyncio.gather(
        cli.admin("chats", "start", "--chat-id", str(chat["id"])),
        cli.admin("chats", "stop", "--chat-id", str(chat["id"])),
        cli.admin("chats", "start", "--chat-id", "999999"),
    )
    start.assert_one_error_line("error: ERR_VM_UNAVAILABLE: No running server to start the browser on")
    stop.assert_one_error_line("error: Chat is not running")
    missing.assert_one_error_line("error: Chat not found")
