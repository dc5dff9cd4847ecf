"""`POST /v1/portal/hard-mute` and `/hard-unmute` (04 §6.4, §7, §8; 00 §3.5, §4, §5; 08 §3, §4, §38, §43,
§48, §49, §59).

A hard mute silences a user in every chat, overriding chat mutes; `user:hard_muted {user_id, ttl}` and
`user:hard_unmuted {user_id}` go to every connected socket. Admin+ only, over users they can act on.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from portal.client import PortalAPIError
from portal.client.secure import SecureChat
from tests.helpers import LoggedIn, Portal, expect_error, parse_time
from tests.moderation.support import (
    RECORD_FIELDS,
    act,
    audit_of,
    hard_mute_row,
    in_room,
    lobby,
    premium,
    records_of,
    refused_with,
)

HARD_MUTE_MAX = 86_400
HARD_MUTE = "/v1/portal/hard-mute"
HARD_UNMUTE = "/v1/portal/hard-unmute"


async def hard_mute(actor: LoggedIn, user_id: int, **body: Any) -> Any:
    return await actor.client.call("POST", HARD_MUTE, json={"user_id": user_id, **body})


async def hard_unmute(actor: LoggedIn, user_id: int) -> Any:
    return await actor.client.call("POST", HARD_UNMUTE, json={"user_id": user_id})


async def two_chats(portal: Portal, sockets: Any) -> tuple[LoggedIn, list[dict[str, Any]], LoggedIn]:
    """A premium owner with two public chats, and a user joined to both."""
    owner = await premium(portal)
    chats = [await portal.public_chat(owner), await portal.public_chat(owner)]
    user = await portal.login()
    for chat in chats:
        await in_room(sockets, user, chat["id"])
    return owner, chats, user


async def test_hard_mute_reaches_every_connected_socket(portal: Portal, sockets: Any) -> None:
    """04 §6.4, 00 §5: `{ok:true}`; `user:hard_muted {user_id, ttl}` to all sockets — in a room, in no
    room, a stranger's, the target's own."""
    admin = await portal.login("admin")
    owner = await premium(portal)
    chat = await portal.public_chat(owner)
    target = await portal.login()
    in_chat = await in_room(sockets, owner, chat["id"])
    idle = await lobby(sockets, await portal.login())
    stranger = await portal.stranger()
    stranger_socket = sockets()
    await stranger_socket.connect(token=stranger.client.session_token)
    own = await lobby(sockets, target)

    assert await hard_mute(admin, target.id, duration=600, reason="raid") == {"ok": True}

    for probe in (in_chat, idle, stranger_socket, own):
        assert await probe.expect("user:hard_muted") == {"user_id": target.id, "ttl": 600}


async def test_hard_mute_refuses_sends_in_every_chat_with_a_shrinking_ttl(
    portal: Portal, sockets: Any
) -> None:
    """00 §4: 403 ERR_HARD_MUTED + ttl in every chat; the mute ends by itself."""
    admin = await portal.login("admin")
    _, chats, user = await two_chats(portal, sockets)
    await hard_mute(admin, user.id)  # default 300
    for chat in chats:
        code, ttl = await refused_with(user, chat["id"])
        assert code == "ERR_HARD_MUTED" and ttl is not None and 299 <= ttl <= 300
    portal.server.clock.advance(250)
    code, ttl = await refused_with(user, chats[0]["id"])
    assert code == "ERR_HARD_MUTED" and ttl is not None and 49 <= ttl <= 50
    portal.server.clock.advance(50)
    for chat in chats:
        assert await refused_with(user, chat["id"]) == ("", None)


async def test_hard_mute_record_and_audit(portal: Portal) -> None:
    """08 §38: PLATFORM_HARD_MUTE with `chat_id: null`, issued_by_id, expires_at; audit USER_HARD_MUTE."""
    admin = await portal.login("admin")
    target = await portal.login()
    now = portal.server.clock.now()
    await hard_mute(admin, target.id, duration=HARD_MUTE_MAX, reason="r" * 500)
    [record] = await target.client.punishments()
    assert set(record) == RECORD_FIELDS
    assert (
        record["action_type"],
        record["chat_id"],
        record["issued_by_id"],
        record["reason"],
        record["is_lifted"],
        record["lifted_at"],
    ) == ("PLATFORM_HARD_MUTE", None, admin.id, "r" * 500, False, None)
    assert (
        abs((parse_time(record["expires_at"]) - (now + timedelta(seconds=HARD_MUTE_MAX))).total_seconds()) < 2
    )
    row = await hard_mute_row(portal, target.id)
    assert row is not None and row.issued_by_id == admin.id
    [audit] = await audit_of(portal, "USER_HARD_MUTE", target.id)
    assert (audit.entity_type, audit.actor_id, audit.event_metadata["duration"]) == (
        "user",
        admin.id,
        HARD_MUTE_MAX,
    )


async def test_an_indefinite_hard_mute_lasts_until_lifted(portal: Portal, sockets: Any) -> None:
    """04 §6.4, 08 §59: duration 0 = until `hard-unmute`; ttl 0 in the event and the refusal."""
    admin = await portal.login("owner")  # an Owner's session outlives the clock jump below (1 day for 2–3)
    _, chats, user = await two_chats(portal, sockets)
    watcher = await lobby(sockets, await portal.login())
    await hard_mute(admin, user.id, duration=0)
    assert await watcher.expect("user:hard_muted") == {"user_id": user.id, "ttl": 0}
    assert (await hard_mute_row(portal, user.id)).expires_at is None
    [record] = await user.client.punishments()
    assert record["expires_at"] is None
    portal.server.clock.advance(80_000)
    assert await refused_with(user, chats[0]["id"]) == ("ERR_HARD_MUTED", 0)
    lifted_at = portal.server.clock.now()

    assert await hard_unmute(admin, user.id) == {"ok": True}

    assert await watcher.expect("user:hard_unmuted") == {"user_id": user.id}
    assert await refused_with(user, chats[0]["id"]) == ("", None)
    [record] = await user.client.punishments()
    assert record["is_lifted"] is True
    assert abs((parse_time(record["lifted_at"]) - lifted_at).total_seconds()) < 2
    assert await hard_mute_row(portal, user.id) is None


async def test_hard_unmute_reaches_every_socket_and_is_idempotent(portal: Portal, sockets: Any) -> None:
    admin = await portal.login("admin")
    target = await portal.login()
    stranger = await portal.stranger()
    stranger_socket = sockets()
    await stranger_socket.connect(token=stranger.client.session_token)
    idle = await lobby(sockets, await portal.login())
    await hard_mute(admin, target.id, duration=60)
    assert await hard_unmute(admin, target.id) == {"ok": True}
    for probe in (idle, stranger_socket):
        assert await probe.expect("user:hard_unmuted") == {"user_id": target.id}
    assert await hard_unmute(admin, target.id) == {"ok": True}
    [record] = await records_of(portal, target.id)
    assert record.is_lifted is True


async def test_a_new_hard_mute_replaces_the_old_ttl(portal: Portal, sockets: Any) -> None:
    """08 §59: the newer mute's TTL wins, shorter or longer."""
    admin = await portal.login("admin")
    _, chats, user = await two_chats(portal, sockets)
    await hard_mute(admin, user.id, duration=0)
    await hard_mute(admin, user.id, duration=60)
    code, ttl = await refused_with(user, chats[0]["id"])
    assert code == "ERR_HARD_MUTED" and ttl in (59, 60)
    portal.server.clock.advance(60)
    assert await refused_with(user, chats[0]["id"]) == ("", None)
    await hard_mute(admin, user.id, duration=60)
    await hard_mute(admin, user.id, duration=600)
    portal.server.clock.advance(60)
    code, ttl = await refused_with(user, chats[1]["id"])
    assert code == "ERR_HARD_MUTED" and ttl is not None and 539 <= ttl <= 540


async def test_an_expired_hard_mute_record_keeps_is_lifted_false(portal: Portal) -> None:
    admin = await portal.login("admin")
    target = await portal.login()
    await hard_mute(admin, target.id, duration=1)
    portal.server.clock.advance(2)
    [record] = await target.client.punishments()
    assert (record["is_lifted"], record["lifted_at"]) == (False, None)


async def test_hard_mute_overrides_the_chat_mute_and_its_unmute(portal: Portal, sockets: Any) -> None:
    """04 §6.3–6.4, 00 §4: banned → hard-muted → muted; a chat unmute does not lift a hard mute."""
    admin = await portal.login("admin")
    owner = await premium(portal)
    chat = await portal.public_chat(owner)
    user = await portal.login()
    await in_room(sockets, user, chat["id"])
    await act(owner, chat["id"], "mute", user.id, duration=0)
    await hard_mute(admin, user.id, duration=0)
    assert await refused_with(user, chat["id"]) == ("ERR_HARD_MUTED", 0)
    await act(owner, chat["id"], "unmute", user.id)
    assert await refused_with(user, chat["id"]) == ("ERR_HARD_MUTED", 0)
    await act(owner, chat["id"], "mute", user.id, duration=0)
    await hard_unmute(admin, user.id)
    assert await refused_with(user, chat["id"]) == ("ERR_MUTED", 0)
    await act(owner, chat["id"], "unmute", user.id)
    assert await refused_with(user, chat["id"]) == ("", None)


async def test_a_ban_comes_before_the_hard_mute(portal: Portal, sockets: Any) -> None:
    admin = await portal.login("admin")
    owner = await premium(portal)
    chat = await portal.public_chat(owner)
    user = await portal.login()
    await in_room(sockets, user, chat["id"])
    await hard_mute(admin, user.id, duration=0)
    await act(owner, chat["id"], "ban", user.id)  # a REST ban leaves the socket in the room
    assert await refused_with(user, chat["id"]) == ("ERR_BANNED", None)


async def test_a_hard_muted_secure_client_cannot_send_until_unmuted(portal: Portal) -> None:
    admin = await portal.login("admin")
    owner = await premium(portal)
    chat = await portal.public_chat(owner)
    guest = await portal.login()
    async with SecureChat(owner.client) as alice, SecureChat(guest.client) as bob:
        await alice.join(chat["id"])
        await bob.join(chat["id"])
        await hard_mute(admin, guest.id, duration=0)
        with pytest.raises(PortalAPIError) as refused:
            await bob.send(chat["id"], "hello?")
        assert (refused.value.status, refused.value.error, refused.value.body["ttl"]) == (
            403,
            "ERR_HARD_MUTED",
            0,
        )
        await hard_unmute(admin, guest.id)
        await bob.send(chat["id"], "back")
        assert await alice.next_text(chat["id"]) == "back"


async def test_portal_status_shows_the_callers_hard_mute(portal: Portal) -> None:
    """08 §43: `muted` means the caller is hard-muted now."""
    admin = await portal.login("admin")
    user = await portal.login()
    assert (await user.client.call("GET", "/v1/portal/status"))["muted"] is False
    await hard_mute(admin, user.id, duration=30)
    assert (await user.client.call("GET", "/v1/portal/status"))["muted"] is True
    portal.server.clock.advance(30)
    assert (await user.client.call("GET", "/v1/portal/status"))["muted"] is False


async def test_a_stranger_may_be_hard_muted(portal: Portal) -> None:
    """08 §48: staff use the hard mute where chat moderation does not reach (direct chats, strangers)."""
    admin = await portal.login("admin")
    stranger = await portal.stranger()
    assert await hard_mute(admin, stranger.id, duration=60) == {"ok": True}
    assert await hard_mute_row(portal, stranger.id) is not None
    assert await hard_unmute(admin, stranger.id) == {"ok": True}
    assert await hard_mute_row(portal, stranger.id) is None


# ---- who may hard-mute whom (08 §3, §49; 00 §3.5) -----------------------------------------------------

GATE = (403, "Admin access required")
DENIED = (403, "Access denied")
OK = "ok"

# (actor level, target level, expected)
HARD_MUTE_CASES: list[tuple[str, str, Any]] = [
    ("user", "user", GATE),
    ("moderator", "user", GATE),
    ("admin", "user", OK),
    ("admin", "moderator", OK),
    ("admin", "admin", DENIED),
    ("admin", "owner", DENIED),
    ("owner", "user", OK),
    ("owner", "admin", OK),
    ("owner", "owner", OK),  # Owners act on Owners
]


@pytest.mark.parametrize("endpoint", ["hard-mute", "hard-unmute"])
@pytest.mark.parametrize(
    ("actor_level", "target_level", "expected"),
    HARD_MUTE_CASES,
    ids=[f"{a}-on-{t}" for a, t, _ in HARD_MUTE_CASES],
)
async def test_who_may_hard_mute_whom(
    portal: Portal, endpoint: str, actor_level: str, target_level: str, expected: Any
) -> None:
    actor = await portal.login(actor_level)
    target = await portal.create_user(target_level)
    if endpoint == "hard-unmute":
        await portal.container.punishments.hard_mute(target["id"], 0, None, actor=None)
    call = actor.client.call("POST", f"/v1/portal/{endpoint}", json={"user_id": target["id"]})
    if expected == OK:
        assert await call == {"ok": True}
    else:
        await expect_error(call, *expected)
    muted = await hard_mute_row(portal, target["id"]) is not None
    assert muted is ((endpoint == "hard-mute") == (expected == OK))


@pytest.mark.parametrize("endpoint", ["hard-mute", "hard-unmute"])
async def test_hard_mute_refusals(portal: Portal, endpoint: str) -> None:
    """08 §3–5, §49: 401; strangers 403 "Access denied"; yourself 403 (Owners too); unknown user 404."""
    path = f"/v1/portal/{endpoint}"
    target = await portal.login()
    await expect_error(
        portal.client().call("POST", path, json={"user_id": target.id}), 401, "Authentication required"
    )
    stranger = await portal.stranger()
    await expect_error(stranger.client.call("POST", path, json={"user_id": target.id}), 403, "Access denied")
    for level in ("admin", "owner"):
        actor = await portal.login(level)
        await expect_error(actor.client.call("POST", path, json={"user_id": actor.id}), 403, "Access denied")
        for user_id in (999_999, 0, -1, 2**40):
            await expect_error(
                actor.client.call("POST", path, json={"user_id": user_id}), 404, "User not found"
            )
        assert await hard_mute_row(portal, actor.id) is None
    assert await hard_mute_row(portal, target.id) is None


@pytest.mark.parametrize("duration", [0, 1, HARD_MUTE_MAX])
async def test_hard_mute_duration_edges_accepted(portal: Portal, sockets: Any, duration: int) -> None:
    admin = await portal.login("admin")
    target = await portal.login()
    watcher = await lobby(sockets, await portal.login())
    assert await hard_mute(admin, target.id, duration=duration) == {"ok": True}
    assert await watcher.expect("user:hard_muted") == {"user_id": target.id, "ttl": duration}


BAD_BODIES: list[tuple[str, Any, str]] = [
    ("hard-mute", {}, "user_id is required"),
    ("hard-mute", {"duration": 60}, "user_id is required"),
    ("hard-mute", {"user_id": "5"}, "user_id must be an integer"),
    ("hard-mute", {"user_id": 5, "duration": -1}, f"duration must be between 0 and {HARD_MUTE_MAX}"),
    (
        "hard-mute",
        {"user_id": 5, "duration": HARD_MUTE_MAX + 1},
        f"duration must be between 0 and {HARD_MUTE_MAX}",
    ),
    ("hard-mute", {"user_id": 5, "duration": "60"}, "duration must be an integer"),
    ("hard-mute", {"user_id": 5, "duration": True}, "duration must be an integer"),
    ("hard-mute", {"user_id": 5, "reason": "r" * 501}, "reason must be at most 500 characters"),
    ("hard-mute", {"user_id": 5, "reason": {}}, "reason must be a string"),
    ("hard-mute", {"user_id": 5, "chat_id": 1}, "chat_id is not allowed"),
    ("hard-mute", [1], "Invalid request"),
    ("hard-unmute", {}, "user_id is required"),
    ("hard-unmute", {"user_id": None}, "user_id must be an integer"),
    ("hard-unmute", {"user_id": 5, "duration": 0}, "duration is not allowed"),
    ("hard-unmute", {"user_id": 5, "reason": "x"}, "reason is not allowed"),
    ("hard-unmute", "5", "Invalid request"),
]


@pytest.mark.parametrize(
    ("endpoint", "body", "error"), BAD_BODIES, ids=[str(i) for i in range(len(BAD_BODIES))]
)
async def test_bad_hard_mute_bodies_are_400_and_change_nothing(
    portal: Portal, endpoint: str, body: Any, error: str
) -> None:
    admin = await portal.login("admin")
    target = await portal.login()
    if endpoint == "hard-unmute":
        await hard_mute(admin, target.id, duration=0)
    if isinstance(body, dict) and body.get("user_id") == 5 and type(body["user_id"]) is int:
        body = {**body, "user_id": target.id}
    await expect_error(admin.client.call("POST", f"/v1/portal/{endpoint}", json=body), 400, error)
    assert (await hard_mute_row(portal, target.id) is not None) is (endpoint == "hard-unmute")
    assert len(await records_of(portal, target.id)) == (1 if endpoint == "hard-unmute" else 0)


@pytest.mark.parametrize("endpoint", ["hard-mute", "hard-unmute"])
async def test_the_level_gate_comes_before_validation(portal: Portal, endpoint: str) -> None:
    """08 §4: the endpoint gate (2) before schema validation (3); broken JSON after the session (1)."""
    path = f"/v1/portal/{endpoint}"
    moderator = await portal.login("moderator")
    await expect_error(
        moderator.client.call("POST", path, json={"user_id": "x"}), 403, "Admin access required"
    )
    response = await moderator.client.raw(
        "POST", path, content=b"{", headers={"Content-Type": "application/json"}
    )
    assert (response.status_code, response.json()["error"]) == GATE
    admin = await portal.login("admin")
    response = await admin.client.raw(
        "POST", path, content=b"{", headers={"Content-Type": "application/json"}
    )
    assert (response.status_code, response.json()["error"]) == (400, "Invalid request")
    response = await portal.client().raw(
        "POST", path, content=b"{", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 401
