"""Who controls a chat's browser (00 §5, §7; 08 §60): one host, a queue of requests, the four settings.

Control is room state: it needs no running VM, so these tests start none. Every change is announced to the
room as `control:update {chat_id, host_user_id, queue}`; refusals are acks with `ERR_*` codes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from tests.helpers import LoggedIn, Portal
from tests.sockets import SocketProbe, online
from tests.vm.support import chat_path


@dataclass
class Room:
    portal: Portal
    sockets: Any
    owner: LoggedIn
    chat: dict[str, Any]
    owner_probe: SocketProbe

    @property
    def id(self) -> int:
        return int(self.chat["id"])

    async def enter(
        self, level: str = "user", *, who: LoggedIn | None = None
    ) -> tuple[LoggedIn, SocketProbe]:
        who = who or await self.portal.login(level)
        probe = await online(self.sockets, who.client.session_token)
        ack = await probe.call("room:join", {"chat_id": self.id})
        assert ack["ok"] is True, ack
        probe.join_ack = ack  # type: ignore[attr-defined]
        return who, probe

    async def config(self, **flags: bool) -> None:
        await self.owner.client.call("POST", chat_path(self.id, "/config/update"), json=flags)
        changed = await self.owner_probe.expect_for("room:config", self.id)
        assert changed == {"chat_id": self.id, **flags}

    async def update(self) -> dict[str, Any]:
        """The next `control:update` the owner's socket (in the room) hears."""
        return dict(await self.owner_probe.expect_for("control:update", self.id))

    async def silent(self) -> None:
        await self.owner_probe.assert_silent("control:update", self.id)


async def room(portal: Portal, sockets: Any, *, private: bool = False, **flags: bool) -> Room:
    owner = await portal.login("user", tier=2)
    chat = await (portal.private_chat(owner) if private else portal.public_chat(owner))
    probe = await online(sockets, owner.client.session_token)
    assert (await probe.call("room:join", {"chat_id": chat["id"]}))["ok"] is True
    made = Room(portal, sockets, owner, chat, probe)
    if flags:
        await made.config(**flags)
    return made


def state(r: Room, host: int | None, queue: list[int] | None = None) -> dict[str, Any]:
    return {"chat_id": r.id, "host_user_id": host, "queue": queue or []}


def refused(code: str) -> Any:
    class Refusal:
        def __eq__(self, ack: object) -> bool:
            return isinstance(ack, dict) and ack.get("ok") is False and ack.get("error") == code

        def __repr__(self) -> str:
            return f"<ack refused with {code}>"

    return Refusal()


OK = {"ok": True}


# ---- the join ack ---------------------------------------------------------------------------------------


async def test_the_join_ack_carries_the_control_state(portal: Portal, sockets) -> None:
    """00 §5: the ack's `control {host_user_id, queue}`, also while the VM is stopped."""
    r = await room(portal, sockets, allow_control_requests=True)
    asker, asking = await r.enter()
    assert asking.join_ack["control"] == {"host_user_id": None, "queue": []}
    assert await asking.call("control:request", {"chat_id": r.id}) == OK
    await r.update()
    assert await r.owner_probe.call("control:take", {"chat_id": r.id}) == OK
    await r.update()
    _, late = await r.enter()
    assert late.join_ack["control"] == {"host_user_id": r.owner.id, "queue": [asker.id]}
    assert late.join_ack["vm"] is None


# ---- control:request (allow_control_requests) ----------------------------------------------------------


async def test_a_request_needs_allow_control_requests(portal: Portal, sockets) -> None:
    """08 §11: off by default → ERR_CONTROL_DISABLED, nothing changes."""
    r = await room(portal, sockets)
    _, asking = await r.enter()
    assert await asking.call("control:request", {"chat_id": r.id}) == refused("ERR_CONTROL_DISABLED")
    await r.silent()


async def test_a_request_only_queues_in_order_and_once(portal: Portal, sockets) -> None:
    """08 §60: `control:request` only adds the user to the queue (nobody becomes host by asking)."""
    r = await room(portal, sockets, allow_control_requests=True)
    first, asking = await r.enter()
    second, other = await r.enter()
    assert await asking.call("control:request", {"chat_id": r.id}) == OK
    assert await r.update() == state(r, None, [first.id])
    assert await other.expect_for("control:update", r.id) == state(r, None, [first.id])
    assert await other.call("control:request", {"chat_id": r.id}) == OK
    assert await r.update() == state(r, None, [first.id, second.id])
    assert await asking.call("control:request", {"chat_id": r.id}) == OK  # asking again: no change
    await r.silent()


async def test_a_request_from_outside_the_room_is_not_joined(portal: Portal, sockets) -> None:
    r = await room(portal, sockets, allow_control_requests=True)
    outsider = await portal.login()
    probe = await online(sockets, outsider.client.session_token)
    assert await probe.call("control:request", {"chat_id": r.id}) == refused("ERR_NOT_JOINED")
    await r.silent()


async def test_the_host_asking_again_changes_nothing(portal: Portal, sockets) -> None:
    r = await room(portal, sockets, allow_control_requests=True)
    assert await r.owner_probe.call("control:take", {"chat_id": r.id}) == OK
    assert await r.update() == state(r, r.owner.id)
    assert await r.owner_probe.call("control:request", {"chat_id": r.id}) == OK
    await r.silent()


async def test_allow_control_requests_is_applied_live(portal: Portal, sockets) -> None:
    """A config/update of the flag takes effect for the next event (no restart, no re-join)."""
    r = await room(portal, sockets)
    asker, asking = await r.enter()
    assert await asking.call("control:request", {"chat_id": r.id}) == refused("ERR_CONTROL_DISABLED")
    await r.config(allow_control_requests=True)
    assert await asking.call("control:request", {"chat_id": r.id}) == OK
    assert await r.update() == state(r, None, [asker.id])
    await r.config(allow_control_requests=False)
    _, late = await r.enter()
    assert await late.call("control:request", {"chat_id": r.id}) == refused("ERR_CONTROL_DISABLED")


# ---- control:take (locked_controls) ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("actor", "locked", "hosted", "allowed"),
    [
        ("viewer", False, False, True),
        ("viewer", False, True, False),
        ("viewer", True, False, False),
        ("viewer", True, True, False),
        ("owner", False, False, True),
        ("owner", False, True, True),
        ("owner", True, False, True),
        ("owner", True, True, True),
        ("moderator", True, True, True),  # outranks the User who owns this public chat: a manager
        ("admin", True, False, True),
    ],
)
async def test_take_follows_locked_controls_and_who_hosts(
    portal: Portal, sockets, actor: str, locked: bool, hosted: bool, allowed: bool
) -> None:
    """08 §60: unlocked → any viewer while nobody hosts; locked → managers only; managers always."""
    r = await room(portal, sockets)
    if actor == "owner":
        who, probe = r.owner, r.owner_probe
    else:
        who, probe = await r.enter("user" if actor == "viewer" else actor)
    host = None
    if hosted:
        host, _ = await r.enter()
        assert await r.owner_probe.call("control:give", {"chat_id": r.id, "user_id": host.id}) == OK
        assert await r.update() == state(r, host.id)
    if locked:
        await r.config(locked_controls=True)

    ack = await probe.call("control:take", {"chat_id": r.id})

    if allowed:
        assert ack == OK
        assert await r.update() == state(r, who.id)
    else:
        assert ack == refused("ERR_FORBIDDEN")
        await r.silent()
        _, late = await r.enter()
        assert late.join_ack["control"]["host_user_id"] == (host.id if host else None)


async def test_take_removes_the_taker_from_the_queue(portal: Portal, sockets) -> None:
    r = await room(portal, sockets, allow_control_requests=True)
    first, asking = await r.enter()
    second, other = await r.enter()
    for probe in (asking, other):
        assert await probe.call("control:request", {"chat_id": r.id}) == OK
        await r.update()
    assert await other.call("control:take", {"chat_id": r.id}) == OK
    assert await r.update() == state(r, second.id, [first.id])


async def test_locked_controls_in_a_private_chat_leave_only_the_owner(portal: Portal, sockets) -> None:
    """Private chats are managed by their owner only (`can_manage_chat`): an Admin who may join is not a
    manager there, a member may take while nothing is locked."""
    r = await room(portal, sockets, private=True)
    member = await portal.login()
    await portal.invite_into(r.owner, r.id, member)
    _, member_probe = await r.enter(who=member)
    _, admin_probe = await r.enter("admin")
    await r.config(locked_controls=True)
    assert await member_probe.call("control:take", {"chat_id": r.id}) == refused("ERR_FORBIDDEN")
    assert await admin_probe.call("control:take", {"chat_id": r.id}) == refused("ERR_FORBIDDEN")
    await r.config(locked_controls=False)
    assert await member_probe.call("control:take", {"chat_id": r.id}) == OK
    assert await r.update() == state(r, member.id)


async def test_take_outside_the_room_is_not_joined(portal: Portal, sockets) -> None:
    r = await room(portal, sockets)
    probe = await online(sockets, r.owner.client.session_token)  # the owner's second socket, not joined
    assert (await probe.call("room:leave", {"chat_id": r.id}))["ok"] is True
    outsider = await portal.login()
    lonely = await online(sockets, outsider.client.session_token)
    assert await lonely.call("control:take", {"chat_id": r.id}) == refused("ERR_NOT_JOINED")
    await r.silent()


# ---- control:give / control:deny / control:release -----------------------------------------------------


async def test_the_host_gives_control_to_someone_queued(portal: Portal, sockets) -> None:
    r = await room(portal, sockets, allow_control_requests=True)
    host, hosting = await r.enter()
    asker, asking = await r.enter()
    assert await hosting.call("control:take", {"chat_id": r.id}) == OK
    await r.update()
    assert await asking.call("control:request", {"chat_id": r.id}) == OK
    assert await r.update() == state(r, host.id, [asker.id])
    await r.config(locked_controls=True)  # locked: still the host's (or a manager's) to give (00 §7)
    assert await hosting.call("control:give", {"chat_id": r.id, "user_id": asker.id}) == OK
    assert await r.update() == state(r, asker.id)
    assert await hosting.call("control:give", {"chat_id": r.id, "user_id": host.id}) == refused(
        "ERR_FORBIDDEN"
    )  # no longer the host, and not a manager
    await r.silent()


async def test_a_manager_gives_and_nobody_else_does(portal: Portal, sockets) -> None:
    r = await room(portal, sockets)
    first, first_probe = await r.enter()
    second, second_probe = await r.enter()
    assert await second_probe.call("control:give", {"chat_id": r.id, "user_id": first.id}) == refused(
        "ERR_FORBIDDEN"
    )
    await r.silent()
    assert await r.owner_probe.call("control:give", {"chat_id": r.id, "user_id": first.id}) == OK
    assert await r.update() == state(r, first.id)
    assert await r.owner_probe.call("control:give", {"chat_id": r.id, "user_id": second.id}) == OK
    assert await r.update() == state(r, second.id)
    assert await first_probe.expect_for("control:update", r.id) == state(r, first.id)


async def test_control_is_given_only_to_someone_in_the_room(portal: Portal, sockets) -> None:
    r = await room(portal, sockets)
    outsider = await portal.login()
    ack = await r.owner_probe.call("control:give", {"chat_id": r.id, "user_id": outsider.id})
    assert ack == refused("ERR_NOT_JOINED")
    ack = await r.owner_probe.call("control:give", {"chat_id": r.id, "user_id": 2_000_000_000})
    assert ack == refused("ERR_NOT_JOINED")
    await r.silent()


async def test_deny_drops_a_request_for_the_host_or_a_manager(portal: Portal, sockets) -> None:
    r = await room(portal, sockets, allow_control_requests=True)
    host, hosting = await r.enter()
    first, first_probe = await r.enter()
    second, second_probe = await r.enter()
    assert await hosting.call("control:take", {"chat_id": r.id}) == OK
    await r.update()
    for probe in (first_probe, second_probe):
        assert await probe.call("control:request", {"chat_id": r.id}) == OK
        await r.update()
    assert await second_probe.call("control:deny", {"chat_id": r.id, "user_id": first.id}) == refused(
        "ERR_FORBIDDEN"
    )
    await r.silent()
    assert await hosting.call("control:deny", {"chat_id": r.id, "user_id": first.id}) == OK
    assert await r.update() == state(r, host.id, [second.id])
    assert await r.owner_probe.call("control:deny", {"chat_id": r.id, "user_id": second.id}) == OK
    assert await r.update() == state(r, host.id)
    assert await hosting.call("control:deny", {"chat_id": r.id, "user_id": second.id}) == OK  # not queued
    await r.silent()


async def test_only_the_host_releases(portal: Portal, sockets) -> None:
    r = await room(portal, sockets)
    _, hosting = await r.enter()
    _, other = await r.enter()
    assert await hosting.call("control:release", {"chat_id": r.id}) == refused("ERR_NOT_HOST")
    assert await hosting.call("control:take", {"chat_id": r.id}) == OK
    await r.update()
    assert await other.call("control:release", {"chat_id": r.id}) == refused("ERR_NOT_HOST")
    assert await r.owner_probe.call("control:release", {"chat_id": r.id}) == refused("ERR_NOT_HOST")
    await r.silent()
    assert await hosting.call("control:release", {"chat_id": r.id}) == OK
    assert await r.update() == state(r, None)


# ---- implicit_hosting -----------------------------------------------------------------------------------


async def test_implicit_hosting_makes_the_first_joiner_host(portal: Portal, sockets) -> None:
    """00 §7: the first joiner becomes host when nobody is; later joiners do not replace them."""
    owner = await portal.login("user", tier=2)
    chat = await portal.public_chat(owner)
    await owner.client.call("POST", chat_path(chat["id"], "/config/update"), json={"implicit_hosting": True})
    first = await portal.login()
    first_probe = await online(sockets, first.client.session_token)
    ack = await first_probe.call("room:join", {"chat_id": chat["id"]})
    assert ack["control"] == {"host_user_id": first.id, "queue": []}
    update = await first_probe.expect_for("control:update", chat["id"])
    assert update == {"chat_id": chat["id"], "host_user_id": first.id, "queue": []}
    second = await portal.login()
    second_probe = await online(sockets, second.client.session_token)
    ack = await second_probe.call("room:join", {"chat_id": chat["id"]})
    assert ack["control"] == {"host_user_id": first.id, "queue": []}
    await first_probe.assert_silent("control:update", chat["id"])


async def test_without_implicit_hosting_a_joiner_does_not_host(portal: Portal, sockets) -> None:
    r = await room(portal, sockets)
    _, probe = await r.enter()
    assert probe.join_ack["control"] == {"host_user_id": None, "queue": []}
    await r.silent()


async def test_implicit_hosting_is_applied_live(portal: Portal, sockets) -> None:
    r = await room(portal, sockets)
    await r.config(implicit_hosting=True)
    joiner, probe = await r.enter()
    assert probe.join_ack["control"]["host_user_id"] == joiner.id
    assert await r.update() == state(r, joiner.id)


# ---- losing control: leave, last socket, kick, ban --------------------------------------------------------


async def test_the_host_keeps_control_until_their_last_socket_leaves(portal: Portal, sockets) -> None:
    """08 §60: the host loses control when their *last* socket leaves the room."""
    r = await room(portal, sockets)
    host, first = await r.enter()
    _, second = await r.enter(who=host)
    assert await first.call("control:take", {"chat_id": r.id}) == OK
    await r.update()
    assert (await first.call("room:leave", {"chat_id": r.id}))["ok"] is True
    await r.silent()
    await second.close()  # a disconnect counts as leaving
    assert await r.update() == state(r, None)


async def test_leaving_drops_a_request(portal: Portal, sockets) -> None:
    r = await room(portal, sockets, allow_control_requests=True)
    _, asking = await r.enter()
    assert await asking.call("control:request", {"chat_id": r.id}) == OK
    await r.update()
    assert (await asking.call("room:leave", {"chat_id": r.id}))["ok"] is True
    assert await r.update() == state(r, None)


async def test_leaving_a_private_chat_drops_hosting(portal: Portal, sockets) -> None:
    """08 §21: `POST …/leave` drops the leaver's host role and queue entry."""
    r = await room(portal, sockets, private=True)
    member = await portal.login()
    await portal.invite_into(r.owner, r.id, member)
    _, probe = await r.enter(who=member)
    assert await probe.call("control:take", {"chat_id": r.id}) == OK
    assert await r.update() == state(r, member.id)
    assert await member.client.call("POST", chat_path(r.id, "/leave")) == {"ok": True}
    assert await r.update() == state(r, None)


@pytest.mark.parametrize("how", ["rest-kick", "socket-kick", "socket-ban"])
async def test_a_kicked_or_banned_host_and_requester_lose_everything(
    portal: Portal, sockets, how: str
) -> None:
    """03 §3.8, 00 §7: kick and ban drop the user's hosting and request (`control:update`)."""
    r = await room(portal, sockets, allow_control_requests=True)
    host, hosting = await r.enter()
    asker, asking = await r.enter()
    assert await hosting.call("control:take", {"chat_id": r.id}) == OK
    await r.update()
    assert await asking.call("control:request", {"chat_id": r.id}) == OK
    assert await r.update() == state(r, host.id, [asker.id])

    for target in (host, asker):
        if how == "rest-kick":
            await r.owner.client.call("POST", chat_path(r.id, "/kick"), json={"user_id": target.id})
        else:
            body = {"chat_id": r.id, "user_id": target.id, "ban": how == "socket-ban"}
            assert await r.owner_probe.call("room:kick", body) == OK
    assert await r.update() == state(r, None, [asker.id])
    assert await r.update() == state(r, None)
    assert (await hosting.expect_for("room:kicked", r.id))["chat_id"] == r.id


async def test_a_rest_ban_drops_the_hosting_of_a_joined_user(portal: Portal, sockets) -> None:
    """00 §7: "kick/ban/leave drops a user's request and hosting" — the REST ban too (its socket may stay in
    the room, 08 §50, but it must not keep driving the browser)."""
    r = await room(portal, sockets)
    host, hosting = await r.enter()
    assert await hosting.call("control:take", {"chat_id": r.id}) == OK
    await r.update()
    await r.owner.client.call("POST", chat_path(r.id, "/ban"), json={"user_id": host.id})
    assert await r.update() == state(r, None)


async def test_a_banned_user_still_in_the_room_cannot_ask_or_take(portal: Portal, sockets) -> None:
    """A REST ban leaves the socket in the room (08 §50): it is refused control with ERR_BANNED."""
    r = await room(portal, sockets, allow_control_requests=True)
    banned, probe = await r.enter()
    await r.owner.client.call("POST", chat_path(r.id, "/ban"), json={"user_id": banned.id})
    assert await probe.call("control:request", {"chat_id": r.id}) == refused("ERR_BANNED")
    assert await probe.call("control:take", {"chat_id": r.id}) == refused("ERR_BANNED")
    ack = await r.owner_probe.call("control:give", {"chat_id": r.id, "user_id": banned.id})
    assert ack == refused("ERR_BANNED")
    await r.silent()


# ---- bad payloads and unknown chats -------------------------------------------------------------------


CHAT_EVENTS = ["control:request", "control:release", "control:take"]
TARGET_EVENTS = ["control:give", "control:deny"]


@pytest.mark.parametrize("event", CHAT_EVENTS + TARGET_EVENTS + ["vm:input"])
async def test_malformed_payloads_are_bad_requests(portal: Portal, sockets, event: str) -> None:
    """00 §5: malformed payloads answer ERR_BAD_REQUEST (strict types: "1" is not an id)."""
    r = await room(portal, sockets, allow_control_requests=True)
    _, probe = await r.enter()
    base: dict[str, Any] = {"chat_id": r.id}
    if event in TARGET_EVENTS:
        base["user_id"] = r.owner.id
    if event == "vm:input":
        base["events"] = []
    bad: list[Any] = [None, [], "x", 5, {**base, "chat_id": str(r.id)}, {**base, "chat_id": None}]
    bad.append({k: v for k, v in base.items() if k != "chat_id"})
    bad.append({**base, "chat_id": True})
    if event in TARGET_EVENTS:
        bad += [{"chat_id": r.id}, {**base, "user_id": "1"}, {**base, "user_id": 1.5}]
    if event == "vm:input":
        bad += [{"chat_id": r.id}, {**base, "events": "text"}, {**base, "events": [1, 2]}]
        bad.append({**base, "events": None})
    for payload in bad:
        assert await probe.call(event, payload) == refused("ERR_BAD_REQUEST"), payload
    await r.silent()


@pytest.mark.parametrize("event", CHAT_EVENTS + TARGET_EVENTS)
async def test_unknown_and_invisible_chats(portal: Portal, sockets, event: str) -> None:
    """A chat that does not exist is ERR_NOT_FOUND; a private chat the user may not see, ERR_FORBIDDEN."""
    r = await room(portal, sockets, private=True)
    outsider = await portal.login()
    probe = await online(sockets, outsider.client.session_token)
    extra = {"user_id": r.owner.id} if event in TARGET_EVENTS else {}
    assert await probe.call(event, {"chat_id": 2_000_000_000, **extra}) == refused("ERR_NOT_FOUND")
    assert await probe.call(event, {"chat_id": r.id, **extra}) == refused("ERR_FORBIDDEN")
    await r.silent()


async def test_extra_payload_fields_are_ignored(portal: Portal, sockets) -> None:
    """08 §7: Socket.IO payloads ignore extra fields."""
    r = await room(portal, sockets)
    joiner, probe = await r.enter()
    assert await probe.call("control:take", {"chat_id": r.id, "please": True}) == OK
    assert await r.update() == state(r, joiner.id)
