"""`portal migrate` and the three fixed admin commands (00 §2, §8; 08 §62), run as real subprocesses.

`users create`, `bots register` and `subscriptions grant` print with `--json` exactly the body the
matching REST call answers; failures exit non-zero with one line on stderr and nothing on stdout; the
CLI writes audit rows with `actor_id: null`. `python admin_tools.py` is the same command. The last test is
the README walk-through against `portal serve`.
"""

from __future__ import annotations

import asyncio
import re
import secrets
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text

from portal.clock import FakeClock
from portal.container import Container
from portal.db.models import AuditLog, Bot, LinkedPlatform, User
from tests.cli.conftest import CliBackend, fresh_backend
from tests.helpers import unique_name, unique_platform_id
from tests.servers import PUBLIC_KEY, read_text, serve_process, serving

BOT_KEY = re.compile(r"^hbot_[A-Za-z0-9_-]{32}$")
ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
PRIVATE_USER_KEYS = {
    "id",
    "username",
    "avatar_url",
    "subscription_tier",
    "state",
    "permission_level",
    "subscription_expires_at",
    "subscription_granted_by",
    "last_activity_at",
    "permission_since",
    "avatar_source",
    "linked_platforms",
    "created_at",
    "updated_at",
}
PRIVATE_BOT_KEYS = {
    "id",
    "name",
    "groups",
    "users",
    "avatar_url",
    "latency_ms",
    "is_verified",
    "last_activity_at",
    "created_at",
    "updated_at",
    "platform",
    "owner_id",
    "bot_type",
    "is_active",
    "rate_limit_per_hour",
}


def create_args(username: str, platform_user_id: str, *extra: str, permission: str = "owner") -> list[str]:
    return [
        "users",
        "create",
        "--username",
        username,
        "--permission",
        permission,
        "--platform",
        "discord",
        "--platform-user-id",
        platform_user_id,
        *extra,
    ]


async def create_user(cli: CliBackend, *, permission: str = "user") -> dict[str, Any]:
    result = await cli.admin(
        *create_args(unique_name(), unique_platform_id(), "--json", permission=permission)
    )
    return result.json()


async def register_bot(cli: CliBackend, owner_id: int, *extra: str) -> dict[str, Any]:
    args = ["--name", "Portal Bot", "--owner-id", str(owner_id), "--platform", "discord", *extra]
    return (await cli.admin("bots", "register", *args, "--json")).json()


async def audit_rows(cli: CliBackend, entity_type: str, entity_id: int) -> list[AuditLog]:
    async with cli.container() as c, c.db.read() as session:
        rows = await session.scalars(
            select(AuditLog)
            .where(AuditLog.entity_type == entity_type, AuditLog.entity_id == entity_id)
            .order_by(AuditLog.id)
        )
        return list(rows)


async def user_row(cli: CliBackend, user_id: int) -> User | None:
    async with cli.container() as c, c.db.read() as session:
        return await session.get(User, user_id)


# ---- portal migrate -------------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_migrate_builds_a_fresh_database_and_is_idempotent(backend: str, tmp_path: Path) -> None:
    async with fresh_backend(backend, tmp_path) as cli:
        first = await cli.portal("migrate")
        assert first.code == 0, first.stderr
        assert first.stdout.strip() == "database is up to date"
        again = await cli.portal("migrate")
        assert again.code == 0, again.stderr

        async with cli.container() as c, c.db.read() as session:
            version = (await session.execute(text("SELECT version_num FROM alembic_version"))).scalar_one()
            assert version
            assert (await session.execute(select(User))).first() is None  # tables exist, empty


# ---- users create -------------------------------------------------------------------------------------


async def test_users_create_prints_the_private_user_object(cli: CliBackend) -> None:
    name, platform_id = unique_name("owner"), unique_platform_id()

    result = await cli.admin(*create_args(name, platform_id, "--platform-username", "Alice#1", "--json"))

    result.assert_ok()
    user = result.json()
    assert set(user) == PRIVATE_USER_KEYS
    assert isinstance(user["id"], int)
    assert user["username"] == name
    assert user["permission_level"] == 3
    assert user["subscription_tier"] == 0
    assert user["state"] == 0
    assert user["subscription_expires_at"] is None
    assert user["subscription_granted_by"] is None
    assert user["avatar_url"] is None
    assert ISO_Z.match(user["created_at"]) and ISO_Z.match(user["updated_at"])
    assert ISO_Z.match(user["permission_since"])
    [link] = user["linked_platforms"]
    assert link["platform"] == "discord"
    assert link["platform_user_id"] == platform_id
    assert link["platform_username"] == "Alice#1"


async def test_users_create_sets_each_permission_level(cli: CliBackend) -> None:
    levels = {"user": 0, "moderator": 1, "admin": 2, "owner": 3}
    results = await asyncio.gather(
        *(
            cli.admin(*create_args(unique_name(), unique_platform_id(), "--json", permission=p))
            for p in levels
        )
    )
    for level, result in zip(levels.values(), results, strict=True):
        user = result.json()
        assert user["permission_level"] == level
        row = await user_row(cli, user["id"])
        assert row is not None and row.permission_level == level


async def test_users_create_without_json_prints_a_summary(cli: CliBackend) -> None:
    name, platform_id = unique_name(), unique_platform_id()
    result = await cli.admin(*create_args(name, platform_id, permission="admin"))
    result.assert_ok()
    match = re.fullmatch(
        rf"created user (\d+) \({name}\), level admin, linked to discord:{platform_id}\n", result.stdout
    )
    assert match, result.stdout
    row = await user_row(cli, int(match.group(1)))
    assert row is not None and row.username == name


async def test_admin_tools_py_is_the_same_command(cli: CliBackend) -> None:
    name, platform_id = unique_name(), unique_platform_id()
    via_script = await cli.admin_tools(*create_args(name, platform_id, "--json"))
    user = via_script.json()
    assert set(user) == PRIVATE_USER_KEYS
    assert user["username"] == name and user["permission_level"] == 3

    # The same failure reads the same through both names.
    for result in await asyncio.gather(
        cli.admin_tools(*create_args(name, unique_platform_id())),
        cli.admin(*create_args(name, unique_platform_id())),
    ):
        result.assert_one_error_line("error: username is already taken")


# ---- bots register ------------------------------------------------------------------------------------


async def test_bots_register_prints_the_bot_and_its_key(cli: CliBackend) -> None:
    owner = await cli.make_user()

    issued = await register_bot(cli, owner["id"], "--rate-limit-per-hour", "250")

    assert set(issued) == {"message", "bot", "api_key", "created_at", "updated_at"}
    assert BOT_KEY.match(issued["api_key"])
    bot = issued["bot"]
    assert set(bot) == PRIVATE_BOT_KEYS
    assert isinstance(bot["id"], int)
    assert bot["name"] == "Portal Bot"
    assert bot["owner_id"] == owner["id"]
    assert bot["platform"] == "discord"
    assert bot["rate_limit_per_hour"] == 250
    assert bot["is_active"] is True
    assert ISO_Z.match(issued["created_at"]) and issued["created_at"] == bot["created_at"]
    # Only the key's hash is stored.
    async with cli.container() as c, c.db.read() as session:
        row = await session.get(Bot, bot["id"])
    assert row is not None and issued["api_key"] not in (row.api_key_hash or "")


async def test_bots_register_without_json_shows_the_key_once(cli: CliBackend) -> None:
    owner = await cli.make_user()
    result = await cli.admin(
        "bots", "register", "--name", "Helper", "--owner-id", str(owner["id"]), "--platform", "discord"
    )
    result.assert_ok()
    first, second = result.stdout.splitlines()
    assert re.fullmatch(r"registered bot \d+ \(Helper\) on discord", first)
    assert re.fullmatch(r"API key \(shown once\): hbot_[A-Za-z0-9_-]{32}", second)
    bot_id = int(first.split()[2])
    async with cli.container() as c, c.db.read() as session:
        row = await session.get(Bot, bot_id)
    assert row is not None and row.rate_limit_per_hour == 1000  # the default


# ---- subscriptions grant ------------------------------------------------------------------------------


def grant_args(user_id: int, tier: str, *extra: str) -> list[str]:
    return ["subscriptions", "grant", "--user-id", str(user_id), "--tier", tier, *extra]


async def test_subscriptions_grant_answers_the_rest_message(cli: CliBackend) -> None:
    trial, premium, lifetime, tier_one = await asyncio.gather(*(cli.make_user() for _ in range(4)))

    results = await asyncio.gather(
        cli.admin(*grant_args(trial["id"], "TRIAL", "--json")),
        cli.admin(*grant_args(premium["id"], "2", "--duration-days", "30", "--reason", "Contest", "--json")),
        cli.admin(*grant_args(lifetime["id"], "3", "--json")),
        cli.admin(*grant_args(tier_one["id"], "1")),  # 1 is the trial too; no --json: the message alone
    )

    assert [r.json() for r in results[:3]] == [
        {"message": f"Subscription granted to user {trial['id']} (7-day trial)"},
        {"message": f"Subscription granted to user {premium['id']} for 30 days"},
        {"message": f"Subscription granted to user {lifetime['id']} (lifetime)"},
    ]
    results[3].assert_ok()
    assert results[3].stdout == f"Subscription granted to user {tier_one['id']} (7-day trial)\n"
    rows = [await user_row(cli, u["id"]) for u in (trial, premium, lifetime, tier_one)]
    assert [row.subscription_tier for row in rows if row] == [1, 2, 3, 1]


# ---- failures: one line on stderr, nothing on stdout, nothing written ----------------------------------


async def test_failures_print_one_line_and_change_nothing(cli: CliBackend) -> None:
    owner = await cli.make_user("owner")
    trial_user = await cli.make_user()
    async with cli.container() as c:
        await c.subscriptions.grant(actor=None, user_id=trial_user["id"], tier="TRIAL")
    free_platform_id = unique_platform_id()
    register = ["bots", "register", "--owner-id", str(owner["id"]), "--platform", "discord", "--name"]
    cases = {
        "error: username is already taken": create_args(owner["username"], free_platform_id),
        "error: username must be at least 3 characters": create_args("ab", unique_platform_id()),
        "error: username contains invalid characters": create_args("bad name!", unique_platform_id()),
        "error: platform_user_id must be at most 64 characters": create_args(unique_name(), "9" * 65),
        "error: User not found": [
            "bots",
            "register",
            "--owner-id",
            "987654321",
            "--platform",
            "discord",
            "--name",
            "Orphan Bot",
        ],
        "error: name must be at least 2 characters": [*register, "B"],
        "error: name must be at most 32 characters": [*register, "B" * 33],
        "error: ERR_TRIAL_ALREADY_USED": grant_args(trial_user["id"], "TRIAL"),
        "error: duration_days is required": grant_args(owner["id"], "2"),
        "error: tier must be one of: 1, 2, 3, TRIAL": grant_args(owner["id"], "7"),
    }

    results = await asyncio.gather(*(cli.admin(*args) for args in cases.values()))

    for expected, result in zip(cases, results, strict=True):
        result.assert_one_error_line(expected)
    async with cli.container() as c, c.db.read() as session:
        assert (
            await session.scalar(
                select(LinkedPlatform).where(LinkedPlatform.platform_user_id == free_platform_id)
            )
            is None
        )
        assert await session.scalar(select(Bot).where(Bot.name == "Orphan Bot")) is None
        assert await session.scalar(select(Bot).where(Bot.owner_id == owner["id"])) is None
    owner_row = await user_row(cli, owner["id"])
    assert owner_row is not None and owner_row.subscription_tier == 0
    trial_row = await user_row(cli, trial_user["id"])
    assert trial_row is not None and trial_row.subscription_tier == 1


async def test_premium_duration_edges(cli: CliBackend) -> None:
    user = await cli.make_user()
    grant = ["subscriptions", "grant", "--user-id", str(user["id"]), "--tier", "2", "--duration-days"]
    low, high = await asyncio.gather(cli.admin(*grant, "0"), cli.admin(*grant, "3651"))
    low.assert_one_error_line("error: duration_days must be between 1 and 3650")
    high.assert_one_error_line("error: duration_days must be between 1 and 3650")
    ok = await cli.admin(*grant, "3650", "--json")
    assert ok.json() == {"message": f"Subscription granted to user {user['id']} for 3650 days"}


async def test_usage_errors_are_one_line_too(cli: CliBackend) -> None:
    missing, bad_level, bad_int = await asyncio.gather(
        cli.admin("users", "create", "--username", unique_name(), "--platform", "discord"),
        cli.admin(*create_args(unique_name(), unique_platform_id(), permission="wizard")),
        cli.admin("subscriptions", "grant", "--user-id", "abc", "--tier", "1"),
    )
    missing.assert_one_error_line("error: Missing option '--platform-user-id'.", code=2)
    assert bad_level.code == 2 and bad_level.stdout == "" and len(bad_level.stderr.splitlines()) == 1
    assert bad_level.stderr.startswith("error: Invalid value for '--permission'")
    assert bad_int.code == 2 and bad_int.stdout == "" and len(bad_int.stderr.splitlines()) == 1
    assert bad_int.stderr.startswith("error: Invalid value for '--user-id'")


async def test_length_edges_are_accepted(cli: CliBackend) -> None:
    owner = await cli.make_user()
    register = [
        "bots",
        "register",
        "--owner-id",
        str(owner["id"]),
        "--platform",
        "discord",
        "--json",
        "--name",
    ]
    shortest, longest, long_id = await asyncio.gather(
        cli.admin(*register, "Bo"),
        cli.admin(*register, "B" * 32),
        cli.admin(*create_args(unique_name(), "9" * 64, "--json")),
    )
    assert shortest.json()["bot"]["name"] == "Bo"
    assert longest.json()["bot"]["name"] == "B" * 32
    assert long_id.json()["linked_platforms"][0]["platform_user_id"] == "9" * 64


# ---- audit (08 §39, §62) ------------------------------------------------------------------------------


async def test_cli_actions_are_audited_without_an_actor(cli: CliBackend) -> None:
    owner = (await cli.admin(*create_args(unique_name(), unique_platform_id(), "--json"))).json()
    registered, granted = await asyncio.gather(
        register_bot(cli, owner["id"]),
        cli.admin(*grant_args(owner["id"], "2", "--duration-days", "14", "--reason", "thanks")),
    )
    assert granted.code == 0, granted.stderr

    [bot_event] = await audit_rows(cli, "bot", registered["bot"]["id"])
    assert bot_event.event_type == "BOT_REGISTER"
    assert bot_event.actor_id is None
    assert bot_event.event_metadata["owner_id"] == owner["id"]

    user_events = {row.event_type: row for row in await audit_rows(cli, "user", owner["id"])}
    assert user_events["SUBSCRIPTION_GRANT"].actor_id is None
    assert user_events["SUBSCRIPTION_GRANT"].event_metadata["new_tier"] == 2
    assert user_events["SUBSCRIPTION_GRANT"].event_metadata["duration_days"] == 14
    assert user_events["PERMISSION_CHANGE"].actor_id is None  # created as an Owner
    assert user_events["PERMISSION_CHANGE"].event_metadata["new_level"] == 3


# ---- what the CLI made works on a real server ---------------------------------------------------------


async def web_login(client: httpx.AsyncClient, bot_key: str, platform_user_id: str) -> None:
    """request → the bot fetches the pending code → verify; `client` (with the public key) gets the cookie."""
    identity = {"platform": "discord", "platform_user_id": platform_user_id}
    requested = await client.post("/v1/authentication/request", json=identity)
    assert requested.status_code == 200, requested.text
    fetched = await client.post(
        "/v1/authentication/bot/login-code",
        json={**identity, "platform_username": "alice", "platform_avatar_url": None},
        headers={"X-API-Key": bot_key},
    )
    assert fetched.status_code == 200, fetched.text
    code = fetched.json()["code"]
    assert code and re.fullmatch(r"[A-Za-z0-9]{8}", code)
    verified = await client.post("/v1/authentication/verify", json={"code": code})
    assert verified.status_code == 200, verified.text
    assert verified.json()["user_created"] is False
    assert client.cookies.get("psession")


async def test_the_cli_owner_and_bot_log_in_on_a_server(cli: CliBackend) -> None:
    platform_id = unique_platform_id()
    created = (await cli.admin(*create_args(unique_name("boss"), platform_id, "--json"))).json()
    issued = await register_bot(cli, created["id"])

    clock = FakeClock()
    settings = cli.settings()
    async with (
        serving(Container(settings, clock=clock), cli.name, clock) as node,
        httpx.AsyncClient(base_url=node.base_url, headers={"X-API-Key": PUBLIC_KEY}) as client,
    ):
        await web_login(client, issued["api_key"], platform_id)
        me = await client.get("/v1/users/me")

    assert me.status_code == 200, me.text
    body = me.json()
    assert set(body) == set(created)  # the CLI printed the /v1/users/me shape
    for key in ("id", "username", "permission_level", "subscription_tier", "state", "created_at"):
        assert body[key] == created[key], key


# ---- the README walk-through ----------------------------------------------------------------------------


async def test_readme_walk_through(tmp_path: Path) -> None:
    """README: `portal serve` on a fresh SQLite, an Owner and a bot from the CLI, then a web login."""
    cli = CliBackend("sqlite", f"sqlite+aiosqlite:///{tmp_path / 'var' / 'portal.db'}", tmp_path / "var")
    log = tmp_path / "serve.log"
    async with serve_process(cli.env, log, cwd=tmp_path) as base_url:
        public_key = (await read_text(cli.var_dir / "public_api_key")).strip()
        assert public_key in await read_text(log)  # printed at start

        platform_id = unique_platform_id()
        owner = (await cli.admin(*create_args("alice_" + secrets.token_hex(3), platform_id, "--json"))).json()
        bot = await register_bot(cli, owner["id"])

        async with httpx.AsyncClient(base_url=base_url, headers={"X-API-Key": public_key}) as client:
            await web_login(client, bot["api_key"], platform_id)
            me = await client.get("/v1/users/me")
            sessions = await client.get("/v1/users/me/sessions")
            logout = await client.post("/v1/authentication/logout")
            after = await client.get("/v1/users/me")

        assert me.status_code == 200, me.text
        assert me.json()["id"] == owner["id"]
        assert me.json()["permission_level"] == 3
        assert set(me.json()) == set(owner)
        assert sessions.status_code == 200
        assert logout.json() == {"message": "Logged out"}
        assert after.status_code == 401
        # With SQLite, console codes are on: the code is in the server log too (00 §2).
        assert f"login code for discord:{platform_id}: " in await read_text(log)
