"""`portal admin bots list|update|regenerate-key|delete|reset-stats` run as subprocesses against a real
database (SQLite and PostgreSQL): `--json` is the REST body, the default a readable answer, errors one line on
stderr, and every action writes its audit event with `actor_id: null` (00 §8; 08 §42, §62)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from portal.db import bots as bots_db
from portal.db.models import AuditLog, Bot
from portal.security import sha256_hex
from tests.bots.support import PRIVATE_KEYS
from tests.cli.conftest import CliBackend
from tests.helpers import unique_name


async def registered(cli: CliBackend, name: str | None = None) -> dict[str, Any]:
    owner = await cli.make_user()
    args = ["--name", name or "Cli Bot", "--owner-id", str(owner["id"]), "--platform", "discord"]
    return (await cli.admin("bots", "register", *args, "--json")).json()


async def audit(cli: CliBackend, bot_id: int) -> list[tuple[str, int | None, dict[str, Any]]]:
    async with cli.container() as c, c.db.read() as session:
        rows = await session.scalars(
            select(AuditLog)
            .where(AuditLog.entity_type == "bot", AuditLog.entity_id == bot_id)
            .order_by(AuditLog.id)
        )
        return [(r.event_type, r.actor_id, r.event_metadata) for r in rows]


async def row(cli: CliBackend, bot_id: int) -> Bot | None:
    async with cli.container() as c, c.db.read() as session:
        return await session.get(Bot, bot_id)


async def test_list(cli: CliBackend) -> None:
    tag = unique_name("clibot")
    first = (await registered(cli, tag))["bot"]
    second = (await registered(cli, tag + "x"))["bot"]
    listed = (await cli.admin("bots", "list", "--q", tag, "--json")).json()
    assert [b["id"] for b in listed] == [first["id"], second["id"]]
    assert all(set(b) == PRIVATE_KEYS for b in listed) and listed[0] == first
    assert len((await cli.admin("bots", "list", "--limit", "1", "--json")).json()) == 1
    text = await cli.admin("bots", "list", "--q", tag)
    assert text.code == 0
    lines = text.stdout.splitlines()
    assert lines[0].split() == [
        "id",
        "name",
        "platform",
        "owner_id",
        "bot_type",
        "is_active",
        "rate_limit_per_hour",
        "groups",
        "users",
    ]
    assert lines[1].split()[:3] == [str(first["id"]), tag, "discord"] and len(lines) == 3
    assert (await cli.admin("bots", "list", "--q", "no-such-bot-anywhere")).stdout.strip() == "(none)"
    (await cli.admin("bots", "list", "--limit", "26")).assert_one_error_line(
        "error: limit must be between 1 and 25"
    )
    (await cli.admin("bots", "list", "--q", "x" * 51)).assert_one_error_line(
        "error: q must be at most 50 characters"
    )


async def test_update(cli: CliBackend) -> None:
    bot = (await registered(cli))["bot"]
    new_owner = await cli.make_user()
    args = ["--bot-id", str(bot["id"]), "--name", "Renamed", "--owner-id", str(new_owner["id"])]
    answer = await cli.admin(
        "bots", "update", *args, "--rate-limit-per-hour", "7", "--bot-type", "verified", "--json"
    )
    assert answer.json() == {"message": f"Bot {bot['id']} updated"}
    text = await cli.admin("bots", "update", "--bot-id", str(bot["id"]), "--inactive")
    assert (text.code, text.stdout.strip()) == (0, f"Bot {bot['id']} updated")
    await cli.admin("bots", "update", "--bot-id", str(bot["id"]), "--bot-type", "3")
    stored = await row(cli, bot["id"])
    assert stored is not None
    assert (stored.name, stored.owner_id, stored.rate_limit_per_hour, stored.bot_type, stored.is_active) == (
        "Renamed",
        new_owner["id"],
        7,
        3,
        False,
    )
    events = await audit(cli, bot["id"])
    assert [e[:2] for e in events] == [
        ("BOT_REGISTER", None),
        ("BOT_UPDATE", None),
        ("BOT_VERIFY", None),
        ("BOT_UPDATE", None),
        ("BOT_UNVERIFY", None),
    ]
    assert events[1][2] == {
        "changes": {
            "name": ["Cli Bot", "Renamed"],
            "owner_id": [bot["owner_id"], new_owner["id"]],
            "rate_limit_per_hour": [1000, 7],
        }
    }
    assert events[2][2] == {"old_type": 3, "new_type": 2}
    assert events[3][2] == {"changes": {"is_active": [True, False]}}


async def test_update_errors(cli: CliBackend) -> None:
    bot = (await registered(cli))["bot"]
    bid = str(bot["id"])
    cases = [
        (["--bot-id", bid, "--name", "x"], "error: name must be at least 2 characters"),
        (
            ["--bot-id", bid, "--rate-limit-per-hour", "0"],
            "error: rate_limit_per_hour must be between 1 and 100000",
        ),
        (
            ["--bot-id", bid, "--bot-type", "gold"],
            "error: bot_type must be one of: official, verified, community, 1, 2, 3",
        ),
        (["--bot-id", bid, "--owner-id", "999999999"], "error: User not found"),
        (["--bot-id", "999999999", "--name", "Fine"], "error: Bot not found"),
    ]
    for args, line in cases:
        (await cli.admin("bots", "update", *args)).assert_one_error_line(line)
    assert [e[0] for e in await audit(cli, bot["id"])] == ["BOT_REGISTER"]


async def test_regenerate_key(cli: CliBackend) -> None:
    issued = await registered(cli)
    bot = issued["bot"]
    fresh = (await cli.admin("bots", "regenerate-key", "--bot-id", str(bot["id"]), "--json")).json()
    assert set(fresh) == {"message", "bot", "api_key", "created_at", "updated_at"}
    assert fresh["message"] == "API key regenerated for bot Cli Bot" and fresh["api_key"] != issued["api_key"]
    async with cli.container() as c, c.db.read() as session:
        assert await bots_db.by_key_hash(session, sha256_hex(issued["api_key"])) is None
        assert (await bots_db.by_key_hash(session, sha256_hex(fresh["api_key"]))) is not None
    text = await cli.admin("bots", "regenerate-key", "--bot-id", str(bot["id"]))
    assert text.stdout.splitlines()[0] == "API key regenerated for bot Cli Bot"
    assert text.stdout.splitlines()[1].startswith("API key (shown once): hbot_")
    assert [e[:2] for e in await audit(cli, bot["id"])][1:] == [("BOT_KEY_REGENERATE", None)] * 2
    (await cli.admin("bots", "regenerate-key", "--bot-id", "999999999")).assert_one_error_line(
        "error: Bot not found"
    )


async def test_reset_stats_and_delete(cli: CliBackend) -> None:
    bot = (await registered(cli))["bot"]
    bid = str(bot["id"])
    async with cli.container() as c:
        bot_row = await c.bots.authenticate(
            (await registered(cli))["api_key"]
        )  # another bot: untouched below
        other_id = bot_row.id
    reset = await cli.admin("bots", "reset-stats", "--bot-id", bid, "--json")
    assert reset.json() == {"message": f"Stats reset for bot {bid}"}
    assert (
        await cli.admin("bots", "reset-stats", "--bot-id", bid)
    ).stdout.strip() == f"Stats reset for bot {bid}"
    deleted = await cli.admin("bots", "delete", "--bot-id", bid, "--json")
    assert deleted.json() == {"message": f"Bot {bid} deleted"}
    assert await row(cli, bot["id"]) is None and await row(cli, other_id) is not None
    assert [e[:2] for e in await audit(cli, bot["id"])] == [
        ("BOT_REGISTER", None),
        ("BOT_RESET_STATS", None),
        ("BOT_RESET_STATS", None),
        ("BOT_DELETE", None),
    ]
    assert (await audit(cli, bot["id"]))[-1][2] == {
        "name": "Cli Bot",
        "owner_id": bot["owner_id"],
        "platform": "discord",
    }
    (await cli.admin("bots", "delete", "--bot-id", bid)).assert_one_error_line("error: Bot not found")
    (await cli.admin("bots", "reset-stats", "--bot-id", bid)).assert_one_error_line("error: Bot not found")


async def test_admin_tools_is_the_same_command(cli: CliBackend) -> None:
    bot = (await registered(cli, unique_name("tools")))["bot"]
    listed = await cli.admin_tools("bots", "list", "--q", bot["name"], "--json")
    assert json.loads(listed.stdout) == [bot]
