"""`portal admin users|subscriptions|audit ...` run as subprocesses against a real database (00 §8; 08 §62).

Each command prints with `--json` the body the matching REST call answers, a readable summary otherwise,
skips the level rules but not validation, writes its audit event with `actor_id: null`, and fails with one
line on stderr.
"""

from __future__ import annotations

from sqlalchemy import select

from portal.db.models import AuditLog, LinkedPlatform, ModerationAction, User
from tests.admin.support import RECORD_FIELDS
from tests.cli.conftest import CliBackend
from tests.helpers import unique_platform_id

USER_DETAIL_KEYS = {
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
    "moderation_actions",
    "chats",
    "bots",
    "subscription_history",
    "permission_history",
    "session_history",
}


async def audit_of(cli: CliBackend, event_type: str, user_id: int) -> list[AuditLog]:
    async with cli.container() as container, container.db.read() as session:
        query = (
            select(AuditLog)
            .where(AuditLog.event_type == event_type, AuditLog.entity_id == user_id)
            .order_by(AuditLog.id)
        )
        return list((await session.execute(query)).scalars())


async def user_of(cli: CliBackend, user_id: int) -> User:
    async with cli.container() as container, container.db.read() as session:
        row = await session.get(User, user_id)
    assert row is not None
    return row


async def test_set_permission_any_level_with_audit_and_errors(cli: CliBackend) -> None:
    target = await cli.make_user()
    uid = str(target["id"])
    done = await cli.admin(
        "users", "set-permission", "--user-id", uid, "--permission-level", "owner", "--json"
    )
    assert done.json() == {"message": f"Permission level for user {uid} set to 3"}
    plain = await cli.admin(
        "users", "set-permission", "--user-id", uid, "--permission-level", "1", "--reason", "step down"
    )
    assert plain.code == 0 and plain.stdout.strip() == f"Permission level for user {uid} set to 1"
    assert (await user_of(cli, target["id"])).permission_level == 1
    audits = await audit_of(cli, "PERMISSION_CHANGE", target["id"])
    assert [(a.actor_id, a.event_metadata) for a in audits] == [
        (None, {"old_level": 0, "new_level": 3, "reason": None}),
        (None, {"old_level": 3, "new_level": 1, "reason": "step down"}),
    ]
    (
        await cli.admin("users", "set-permission", "--user-id", "999999999", "--permission-level", "1")
    ).assert_one_error_line("error: User not found")
    (
        await cli.admin("users", "set-permission", "--user-id", uid, "--permission-level", "king")
    ).assert_one_error_line(
        "error: permission_level must be one of: 0, 1, 2, 3, user, moderator, admin, owner"
    )
    (
        await cli.admin(
            "users", "set-permission", "--user-id", uid, "--permission-level", "0", "--reason", "x" * 501
        )
    ).assert_one_error_line("error: reason must be at most 500 characters")


async def test_ban_unban_timeout_warn(cli: CliBackend) -> None:
    owner = await cli.make_user("owner")  # the CLI skips the level rules: even an Owner may be banned
    uid = str(owner["id"])
    ban = (
        await cli.admin(
            "users", "ban", "--user-id", uid, "--reason", "compromised", "--duration", "600", "--json"
        )
    ).json()
    assert set(ban) == RECORD_FIELDS
    assert (ban["user_id"], ban["action_type"], ban["issued_by_id"], ban["reason"]) == (
        owner["id"],
        "PLATFORM_BAN",
        None,
        "compromised",
    )
    assert (await user_of(cli, owner["id"])).state == 2
    [audit] = await audit_of(cli, "USER_BAN", owner["id"])
    assert audit.actor_id is None and audit.event_metadata == {"reason": "compromised", "duration": 600}

    unban = await cli.admin("users", "unban", "--user-id", uid, "--reason", "recovered")
    assert unban.code == 0 and unban.stdout.strip() == f"lifted PLATFORM_BAN #{ban['id']} of user {uid}"
    assert (await user_of(cli, owner["id"])).state == 0
    again = (await cli.admin("users", "unban", "--user-id", uid, "--reason", "again", "--json")).json()
    assert again == {"user_id": owner["id"], **{k: None for k in RECORD_FIELDS - {"user_id"}}}
    [audit] = await audit_of(cli, "USER_UNBAN", owner["id"])
    assert audit.actor_id is None and audit.event_metadata == {
        "reason": "recovered",
        "lifted": "PLATFORM_BAN",
    }

    timeout = (
        await cli.admin(
            "users", "timeout", "--user-id", uid, "--reason", "slow down", "--duration", "60", "--json"
        )
    ).json()
    assert (timeout["action_type"], timeout["user_id"]) == ("PLATFORM_TIMEOUT", owner["id"])
    [audit] = await audit_of(cli, "USER_TIMEOUT", owner["id"])
    assert audit.actor_id is None and audit.event_metadata["duration"] == 60
    warn = await cli.admin("users", "warn", "--user-id", uid, "--reason", "be nice")
    assert warn.code == 0 and warn.stdout.startswith(f"warned user {uid}: PLATFORM_WARNING #")
    [audit] = await audit_of(cli, "USER_WARN", owner["id"])
    assert audit.actor_id is None and audit.event_metadata == {"reason": "be nice", "chat_id": None}

    (
        await cli.admin("users", "timeout", "--user-id", uid, "--reason", "x", "--duration", "59")
    ).assert_one_error_line("error: duration must be between 60 and 2592000")
    (
        await cli.admin("users", "ban", "--user-id", uid, "--reason", "", "--duration", "0")
    ).assert_one_error_line("error: reason must be at least 1 character")
    (
        await cli.admin("users", "ban", "--user-id", uid, "--reason", "x", "--duration", "31536001")
    ).assert_one_error_line("error: duration must be between 0 and 31536000")
    (await cli.admin("users", "warn", "--user-id", "999999999", "--reason", "x")).assert_one_error_line(
        "error: User not found"
    )


async def test_hard_mute_and_hard_unmute(cli: CliBackend) -> None:
    target = await cli.make_user()
    uid = str(target["id"])
    muted = await cli.admin(
        "users", "hard-mute", "--user-id", uid, "--duration", "0", "--reason", "raid", "--json"
    )
    assert muted.json() == {"ok": True}
    [audit] = await audit_of(cli, "USER_HARD_MUTE", target["id"])
    assert audit.actor_id is None and audit.event_metadata == {"reason": "raid", "duration": 0}
    lifted = await cli.admin("users", "hard-unmute", "--user-id", uid)
    assert lifted.code == 0 and lifted.stdout.strip() == f"hard mute of user {uid} lifted"
    [audit] = await audit_of(cli, "USER_HARD_UNMUTE", target["id"])
    assert audit.actor_id is None
    again = await cli.admin("users", "hard-unmute", "--user-id", uid, "--json")
    assert again.json() == {"ok": True}
    assert len(await audit_of(cli, "USER_HARD_UNMUTE", target["id"])) == 1
    (await cli.admin("users", "hard-mute", "--user-id", uid, "--duration", "86401")).assert_one_error_line(
        "error: duration must be between 0 and 86400"
    )


async def test_link_platform_show_and_list(cli: CliBackend) -> None:
    target = await cli.make_user()
    uid = str(target["id"])
    telegram_id = unique_platform_id()
    linked = (
        await cli.admin(
            "users",
            "link-platform",
            "--user-id",
            uid,
            "--platform",
            "telegram",
            "--platform-user-id",
            telegram_id,
            "--platform-username",
            "tg_name",
            "--json",
        )
    ).json()
    assert set(linked) == set(target)  # the private user object, as `users create` prints it
    assert [(p["platform"], p["platform_user_id"]) for p in linked["linked_platforms"]][-1] == (
        "telegram",
        telegram_id,
    )
    async with cli.container() as container, container.db.read() as session:
        links = (
            (await session.execute(select(LinkedPlatform).where(LinkedPlatform.user_id == target["id"])))
            .scalars()
            .all()
        )
    assert {link.platform for link in links} == {"discord", "telegram"}
    [audit] = await audit_of(cli, "USER_LINK_PLATFORM", target["id"])
    assert audit.actor_id is None and audit.event_metadata == {
        "platform": "telegram",
        "platform_user_id": telegram_id,
    }
    taken = await cli.admin(
        "users",
        "link-platform",
        "--user-id",
        uid,
        "--platform",
        "telegram",
        "--platform-user-id",
        telegram_id,
    )
    taken.assert_one_error_line("error: platform identity is already linked to another user")
    bad = await cli.admin(
        "users", "link-platform", "--user-id", uid, "--platform", "Tele gram", "--platform-user-id", "1"
    )
    bad.assert_one_error_line("error: platform contains invalid characters")

    await cli.admin("users", "warn", "--user-id", uid, "--reason", "for the record")
    shown = (await cli.admin("users", "show", "--user-id", uid, "--json")).json()
    assert set(shown) == USER_DETAIL_KEYS
    assert [a["action_type"] for a in shown["moderation_actions"]] == ["PLATFORM_WARNING"]
    plain = await cli.admin("users", "show", "--user-id", uid)
    assert plain.code == 0 and plain.stdout.startswith(f"user {uid} ({target['username']})")
    assert "telegram:" + telegram_id in plain.stdout
    (await cli.admin("users", "show", "--user-id", "999999999")).assert_one_error_line(
        "error: User not found"
    )

    listed = (await cli.admin("users", "list", "--q", target["username"], "--json")).json()
    assert set(listed) == {"users", "total", "offset", "limit"}
    assert [u["id"] for u in listed["users"]] == [target["id"]] and listed["limit"] == 25
    assert "permission_level" in listed["users"][0]  # the detail row an Owner gets from /v1/users/search
    table = await cli.admin("users", "list", "--q", target["username"])
    assert table.code == 0
    header, row, count = table.stdout.strip().splitlines()
    assert header.split() == ["id", "username", "level", "tier", "state", "last_activity_at"]
    assert row.split()[:3] == [uid, target["username"], "user"] and count == "(1 of 1)"
    page = (await cli.admin("users", "list", "--limit", "1", "--offset", "0", "--json")).json()
    assert len(page["users"]) == 1 and page["total"] >= 2


async def test_subscriptions_revoke_and_list(cli: CliBackend) -> None:
    target = await cli.make_user()
    uid = str(target["id"])
    granted = await cli.admin(
        "subscriptions", "grant", "--user-id", uid, "--tier", "2", "--duration-days", "30"
    )
    assert granted.code == 0, granted.stderr
    listed = (await cli.admin("subscriptions", "list", "--tier", "2", "--json")).json()
    [mine] = [u for u in listed["users"] if u["id"] == target["id"]]
    assert set(mine) == {"id", "name", "tier", "expires_at", "is_active"}
    assert (mine["name"], mine["tier"], mine["is_active"]) == (target["username"], 2, True)
    table = await cli.admin("subscriptions", "list", "--q", target["username"])
    assert table.code == 0
    assert table.stdout.strip().splitlines()[0].split() == ["id", "name", "tier", "expires_at"]
    assert f"{uid}  " in table.stdout and "2 (premium)" in table.stdout

    revoked = await cli.admin("subscriptions", "revoke", "--user-id", uid, "--reason", "chargeback", "--json")
    assert revoked.json() == {"message": f"Subscription revoked for user {uid}"}
    assert (await user_of(cli, target["id"])).subscription_tier == 0
    [audit] = await audit_of(cli, "SUBSCRIPTION_REVOKE", target["id"])
    assert audit.actor_id is None and audit.event_metadata == {
        "old_tier": 2,
        "new_tier": 0,
        "reason": "chargeback",
    }
    again = await cli.admin("subscriptions", "revoke", "--user-id", uid, "--reason", "again")
    assert again.code == 0 and again.stdout.strip() == f"Subscription revoked for user {uid}"
    assert len(await audit_of(cli, "SUBSCRIPTION_REVOKE", target["id"])) == 1
    assert target["id"] not in {
        u["id"] for u in (await cli.admin("subscriptions", "list", "--json")).json()["users"]
    }
    (await cli.admin("subscriptions", "revoke", "--user-id", uid, "--reason", "")).assert_one_error_line(
        "error: reason must be at least 1 character"
    )
    (await cli.admin("subscriptions", "list", "--tier", "5")).assert_one_error_line(
        "error: tier must be one of: 1, 2, 3"
    )


async def test_audit_logs(cli: CliBackend) -> None:
    target = await cli.make_user()
    uid = str(target["id"])
    await cli.admin("users", "warn", "--user-id", uid, "--reason", "one")
    await cli.admin("users", "ban", "--user-id", uid, "--reason", "two")
    logs = (await cli.admin("audit", "logs", "--entity-type", "user", "--entity-id", uid, "--json")).json()
    assert set(logs) == {"items", "total", "offset", "limit"}
    assert (logs["total"], logs["offset"], logs["limit"]) == (2, 0, 50)
    assert [i["event_type"] for i in logs["items"]] == ["USER_BAN", "USER_WARN"]
    assert all(i["actor_id"] is None and i["entity_id"] == target["id"] for i in logs["items"])
    one = (await cli.admin("audit", "logs", "--entity-id", uid, "--event-type", "USER_WARN", "--json")).json()
    assert [i["event_metadata"] for i in one["items"]] == [{"reason": "one", "chat_id": None}]
    table = await cli.admin("audit", "logs", "--entity-id", uid, "--limit", "1")
    assert table.code == 0
    header, row, count = table.stdout.strip().splitlines()
    assert header.split() == ["id", "created_at", "event_type", "entity", "actor", "metadata"]
    assert "USER_BAN" in row and f"user:{uid}" in row and count == "(1 of 2)"
    (await cli.admin("audit", "logs", "--entity-type", "guild")).assert_one_error_line(
        "error: entity_type must be one of: user, chat, bot"
    )


async def records_of(cli: CliBackend, user_id: int) -> list[ModerationAction]:
    async with cli.container() as container, container.db.read() as session:
        query = select(ModerationAction).where(ModerationAction.user_id == user_id)
        return list((await session.execute(query)).scalars())


async def test_failures_write_nothing(cli: CliBackend) -> None:
    target = await cli.make_user()
    uid = str(target["id"])
    for args in (
        ("users", "ban", "--user-id", uid, "--reason", "x" * 501),
        ("users", "timeout", "--user-id", uid, "--reason", "x", "--duration", "2592001"),
        ("users", "warn", "--user-id", uid, "--reason", ""),
    ):
        result = await cli.admin(*args)
        assert result.code == 1 and result.stdout == "" and len(result.stderr.splitlines()) == 1
    assert await records_of(cli, target["id"]) == []
    assert (await user_of(cli, target["id"])).state == 0
