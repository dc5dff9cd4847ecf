"""Clearing a chat and the auto-wipe (04 §5.6, §5.7, 00 §3.5, §4, 08 §16, §17)."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.events import capture_events
from tests.helpers import LoggedIn, Portal, expect_error
from tests.messaging.support import (
    Watcher,
    bundle,
    epoch_of,
    history,
    on_frozen_clock,
    private_room,
    public_room,
    read,
    secure,
    secure_send,
    send_raw,
    set_config,
    texts,
    user_ids,
    watcher,
)
from tests.realtime.support import assert_system_message
from tests.servers import node_like

WIPED = "Messages were wiped"


def clear_path(chat_id: int) -> str:
    return f"/v1/portal/chats/{chat_id}/clear"


async def clear(who: LoggedIn, chat_id: int) -> int:
    answer = await who.client.call("POST", clear_path(chat_id))
    assert set(answer) == {"ok", "cleared"} and answer["ok"] is True, answer
    return int(answer["cleared"])


async def purge_events(watch: Watcher, chat_id: int, notice: str) -> list[tuple[str, Any]]:
    """The events of one clear or wipe, in arrival order (waits for its closing system message)."""
    await watch.expect_where("message:new", lambda m: m["chat_id"] == chat_id and m["content"] == notice)
    events = watch.order(chat_id, "portal:cleared", "room:epoch_changed", "message:new")
    start = max(i for i, (name, _) in enumerate(events) if name == "portal:cleared")
    return events[start:]


def assert_purged_in_order(
    events: list[tuple[str, Any]], chat: dict[str, Any], cleared: int, epoch: int, notice: str
) -> None:
    """08 §16 / 04 §5.6: `portal:cleared`, then the rotation, then the one system message."""
    assert [name for name, _ in events] == ["portal:cleared", "room:epoch_changed", "message:new"], events
    assert events[0][1] == {"chat_id": chat["id"], "cleared": cleared}
    rotated = events[1][1]
    assert rotated["chat_id"] == chat["id"] and rotated["epoch"] == epoch
    assert_system_message(events[2][1], chat, notice)


# ---- clear ------------------------------------------------------------------------------------------------


async def test_clear_deletes_everything_then_announces_rotates_and_posts(portal: Portal) -> None:
    owner, chat, alice = await public_room(portal)
    guest = await portal.login()
    bob = await secure(portal, guest, chat["id"])
    watch = await watcher(portal, await portal.login(), chat["id"])
    await secure_send(alice, chat["id"], "one")
    await secure_send(bob, chat["id"], "two")
    count = len(await history(owner, chat["id"], limit=500))  # 3 joins + 2 messages
    old = await epoch_of(portal, chat["id"])
    notice = f"{owner.user['username']} cleared the chat"

    assert await clear(owner, chat["id"]) == count == 5

    assert_purged_in_order(await purge_events(watch, chat["id"], notice), chat, 5, old + 1, notice)
    [only] = await history(owner, chat["id"])
    assert_system_message(only, chat, notice)
    assert await epoch_of(portal, chat["id"]) == old + 1

    await expect_error(send_raw(owner, chat["id"], bundle(old)), 403, "ERR_EPOCH_MISMATCH")
    said, _ = await secure_send(alice, chat["id"], "after the clear")
    assert await read(bob, chat["id"], said) == "after the clear"
    await secure_send(bob, chat["id"], "bob too")
    assert [alice.open(m) for m in await history(owner, chat["id"]) if m["type"] == "user"] == [
        "after the clear",
        "bob too",
    ]


async def test_clearing_an_empty_chat_still_rotates(portal: Portal) -> None:
    owner = await portal.login("user", tier=2)
    chat = await portal.public_chat(owner)
    assert await history(owner, chat["id"]) == []
    assert await clear(owner, chat["id"]) == 0
    assert await epoch_of(portal, chat["id"]) == 1
    assert texts(await history(owner, chat["id"])) == [f"{owner.user['username']} cleared the chat"]


async def test_who_may_clear(portal: Portal) -> None:
    """00 §3.5, 04 §5.6: the owner, or Admin+ with rank over the owner (08 §44); Moderators never."""
    owner, public, alice = await public_room(portal)
    await secure_send(alice, public["id"], "x")
    powner, private, _palice = await private_room(portal)
    member = await portal.login()
    await portal.invite_into(powner, private["id"], member)
    mod = await portal.login("moderator")
    stranger = await portal.stranger()
    before = (await epoch_of(portal, public["id"]), await history(owner, public["id"]))

    await expect_error(portal.client().call("POST", clear_path(public["id"])), 401, "Authentication required")
    await expect_error(mod.client.call("POST", clear_path(2_000_000_000)), 404, "Chat not found")
    for who, chat in ((mod, public), (mod, private), (member, private), (stranger, public)):
        await expect_error(who.client.call("POST", clear_path(chat["id"])), 403, "Access denied")
    assert (await epoch_of(portal, public["id"]), await history(owner, public["id"])) == before

    admin = await portal.login("admin")
    assert await clear(admin, public["id"]) >= 2
    assert await clear(admin, private["id"]) >= 1
    assert await clear(powner, private["id"]) == 1
    assert await clear(owner, public["id"]) == 1
    assert texts(await history(owner, public["id"])) == [f"{owner.user['username']} cleared the chat"]


async def test_rank_over_the_owner_is_needed_to_clear_a_staff_chat(portal: Portal) -> None:
    """08 §44: an Admin cannot clear another Admin's chat; an Owner can."""
    admin_owner = await portal.login("admin")
    chat = await portal.public_chat(admin_owner)
    other_admin = await portal.login("admin")
    await expect_error(other_admin.client.call("POST", clear_path(chat["id"])), 403, "Access denied")
    chief = await portal.login("owner")
    assert await clear(chief, chat["id"]) == 0
    assert texts(await history(admin_owner, chat["id"])) == [f"{chief.user['username']} cleared the chat"]


@on_frozen_clock
async def test_clear_restarts_the_wipe_timer(portal: Portal) -> None:
    owner, chat, alice = await public_room(portal)
    clock = portal.server.clock
    await set_config(owner, chat["id"], wipe_preset="15m")
    clock.advance(600)
    await clear(owner, chat["id"])
    await secure_send(alice, chat["id"], "after the clear")
    clock.advance(400)  # 16 min after the preset, 6.7 after the clear
    await portal.container.messaging.run_wipes()
    assert WIPED not in texts(await history(owner, chat["id"]))
    clock.advance(500)  # 15 min after the clear
    await portal.container.messaging.run_wipes()
    assert texts(await history(owner, chat["id"])) == [WIPED]


# ---- auto-wipe --------------------------------------------------------------------------------------------


@on_frozen_clock
async def test_a_wipe_deletes_everything_rotates_and_posts_one_message(portal: Portal) -> None:
    """08 §16: system messages go too; then `portal:cleared`, the rotation and "Messages were wiped";
    the participants get the new key and keep talking."""
    owner, chat, alice = await public_room(portal)
    guest = await portal.login()
    bob = await secure(portal, guest, chat["id"])
    watch = await watcher(portal, await portal.login(), chat["id"])
    await set_config(owner, chat["id"], wipe_preset="1m")
    await secure_send(alice, chat["id"], "soon gone")
    await secure_send(bob, chat["id"], "me too")
    listed = await history(owner, chat["id"], limit=500)
    assert texts(listed)[-1] == "Auto-wipe set to 1m" and len(listed) == 6
    old = await epoch_of(portal, chat["id"])
    clock = portal.server.clock

    clock.advance(58)
    await portal.container.janitor.run_once()
    assert await history(owner, chat["id"], limit=500) == listed

    clock.advance(2)
    report = await portal.container.janitor.run_once()
    assert report.chats_wiped >= 1

    assert_purged_in_order(await purge_events(watch, chat["id"], WIPED), chat, 6, old + 1, WIPED)
    [only] = await history(owner, chat["id"])
    assert_system_message(only, chat, WIPED)
    assert await epoch_of(portal, chat["id"]) == old + 1
    await expect_error(send_raw(owner, chat["id"], bundle(old)), 403, "ERR_EPOCH_MISMATCH")
    said, _ = await secure_send(bob, chat["id"], "new epoch")
    assert await read(alice, chat["id"], said) == "new epoch"


@on_frozen_clock
async def test_the_next_wipe_is_n_after_the_last_one(portal: Portal) -> None:
    owner, chat, alice = await public_room(portal)
    clock = portal.server.clock
    await set_config(owner, chat["id"], wipe_preset="1m")
    await secure_send(alice, chat["id"], "first")
    clock.advance(60)
    await portal.container.messaging.run_wipes()
    assert texts(await history(owner, chat["id"])) == [WIPED]
    epoch = await epoch_of(portal, chat["id"])

    second, _ = await secure_send(alice, chat["id"], "second")
    clock.advance(58)
    await portal.container.messaging.run_wipes()
    assert user_ids(await history(owner, chat["id"])) == [second]
    clock.advance(2)
    await portal.container.messaging.run_wipes()
    assert texts(await history(owner, chat["id"])) == [WIPED]
    assert await epoch_of(portal, chat["id"]) == epoch + 1


@on_frozen_clock
async def test_an_empty_chat_is_skipped_without_rotation_or_event(portal: Portal) -> None:
    """08 §16. "Empty": no message, or only the notice of the latest wipe, clear or preset change (which
    every chat with a preset holds)."""
    owner, chat, alice = await public_room(portal)
    everything = [m["id"] for m in await history(owner, chat["id"])]
    await owner.client.call(
        "POST", f"/v1/portal/chats/{chat['id']}/messages/delete", json={"ids": everything}
    )
    await set_config(owner, chat["id"], wipe_preset="1m")
    notice = await history(owner, chat["id"])
    assert texts(notice) == ["Auto-wipe set to 1m"]
    epoch = await epoch_of(portal, chat["id"])
    clock = portal.server.clock

    clock.advance(60)
    await portal.container.messaging.run_wipes()
    assert await history(owner, chat["id"]) == notice
    assert await epoch_of(portal, chat["id"]) == epoch

    await owner.client.call(
        "POST", f"/v1/portal/chats/{chat['id']}/messages/delete", json={"ids": [notice[0]["id"]]}
    )
    clock.advance(60)
    async with capture_events(portal.container) as sent:
        await portal.container.messaging.run_wipes()  # no message at all
    assert await history(owner, chat["id"]) == []
    assert await epoch_of(portal, chat["id"]) == epoch
    assert sent.about(chat["id"]) == []

    # the timer keeps its beat: something said now is wiped at the next multiple of N
    said, _ = await secure_send(alice, chat["id"], "anyone here?")
    clock.advance(58)
    await portal.container.messaging.run_wipes()
    assert user_ids(await history(owner, chat["id"])) == [said]
    clock.advance(2)
    await portal.container.messaging.run_wipes()
    assert texts(await history(owner, chat["id"])) == [WIPED]
    assert await epoch_of(portal, chat["id"]) == epoch + 1

    # and an idle chat holding only that notice is not wiped again
    clock.advance(120)
    await portal.container.messaging.run_wipes()
    assert texts(await history(owner, chat["id"])) == [WIPED]
    assert await epoch_of(portal, chat["id"]) == epoch + 1


@on_frozen_clock
async def test_a_preset_change_restarts_the_timer_and_off_stops_it(portal: Portal) -> None:
    owner, chat, alice = await public_room(portal)
    clock = portal.server.clock
    await set_config(owner, chat["id"], wipe_preset="1m")
    await secure_send(alice, chat["id"], "kept for now")
    clock.advance(50)
    await set_config(owner, chat["id"], wipe_preset="15m")
    clock.advance(20)
    await portal.container.messaging.run_wipes()
    assert texts(await history(owner, chat["id"]))[-2:] == ["Auto-wipe set to 1m", "Auto-wipe set to 15m"]
    clock.advance(900 - 20)
    await portal.container.messaging.run_wipes()
    assert texts(await history(owner, chat["id"])) == [WIPED]

    await secure_send(alice, chat["id"], "kept for good")
    await set_config(owner, chat["id"], wipe_preset=None)
    clock.advance(3600)
    await portal.container.messaging.run_wipes()
    assert texts(await history(owner, chat["id"])) == [WIPED, "Auto-wipe turned off"]
    assert len(user_ids(await history(owner, chat["id"]))) == 1


@on_frozen_clock
async def test_two_nodes_wiping_at_once_wipe_once(portal: Portal) -> None:
    owners_chats = [await public_room(portal) for _ in range(3)]
    clock = portal.server.clock
    epochs = {}
    for owner, chat, alice in owners_chats:
        await set_config(owner, chat["id"], wipe_preset="1m")
        await secure_send(alice, chat["id"], "x")
        epochs[chat["id"]] = await epoch_of(portal, chat["id"])
    clock.advance(60)

    async with node_like(portal.server) as node:
        await asyncio.gather(
            portal.container.messaging.run_wipes(),
            node.container.messaging.run_wipes(),
            portal.container.janitor.run_once(),
            node.container.janitor.run_once(),
        )

    for owner, chat, _alice in owners_chats:
        assert texts(await history(owner, chat["id"])) == [WIPED]
        assert await epoch_of(portal, chat["id"]) == epochs[chat["id"]] + 1
