"""Deleting messages: by id, mine, the last N (04 §5.3–5.5, §6.10, 00 §3.5, 08 §44, §47)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from portal.client.secure import SecureChat
from tests.helpers import LoggedIn, Portal, expect_error
from tests.messaging.support import (
    history,
    id_key,
    private_room,
    secure,
    secure_send,
    texts,
    user_ids,
    watcher,
)


def delete_path(chat_id: int, what: str = "delete") -> str:
    return f"/v1/portal/chats/{chat_id}/messages/{what}"


async def delete_ids(who: LoggedIn, chat_id: int, ids: list[str]) -> int:
    answer = await who.client.call("POST", delete_path(chat_id), json={"ids": ids})
    assert set(answer) == {"deleted"}, answer
    return int(answer["deleted"])


async def delete_mine(who: LoggedIn, chat_id: int) -> int:
    answer = await who.client.call("POST", delete_path(chat_id, "delete-mine"))
    assert set(answer) == {"deleted"}, answer
    return int(answer["deleted"])


async def delete_last(who: LoggedIn, chat_id: int, count: int) -> int:
    answer = await who.client.call("POST", delete_path(chat_id, "delete-last"), json={"count": count})
    assert set(answer) == {"deleted"}, answer
    return int(answer["deleted"])


@dataclass
class Cast:
    """A public chat of a premium User with a User, another User, a Moderator and an Admin in it; each
    of the five has sent one message (`sent[name]`)."""

    chat: dict[str, Any]
    people: dict[str, LoggedIn]
    secure: dict[str, SecureChat]
    sent: dict[str, str]

    @property
    def id(self) -> int:
        return int(self.chat["id"])


async def cast(portal: Portal, *, owner_level: str = "user") -> Cast:
    owner = await portal.login(owner_level, tier=2)
    chat = await portal.public_chat(owner)
    people = {
        "owner": owner,
        "alice": await portal.login(),
        "bob": await portal.login(),
        "mod": await portal.login("moderator"),
        "admin": await portal.login("admin"),
    }
    chats = {name: await secure(portal, who, chat["id"]) for name, who in people.items()}
    sent = {name: (await secure_send(chats[name], chat["id"], f"from {name}"))[0] for name in people}
    return Cast(chat, people, chats, sent)


async def remaining(who: LoggedIn, chat_id: int) -> list[str]:
    return user_ids(await history(who, chat_id, limit=500))


# ---- delete by id -----------------------------------------------------------------------------------------


async def test_the_owner_deletes_by_id_and_the_room_hears_bulk_deleted(portal: Portal) -> None:
    c = await cast(portal)
    owner = c.people["owner"]
    watch = await watcher(portal, await portal.login(), c.id)
    joined = next(m["id"] for m in await history(owner, c.id) if m["type"] == "system")
    targets = [c.sent["alice"], c.sent["bob"], c.sent["owner"], joined]

    assert await delete_ids(owner, c.id, targets) == 4

    event = await watch.expect_for("message:bulk_deleted", c.id)
    assert set(event) == {"chat_id", "ids"}
    assert sorted(event["ids"], key=id_key) == sorted(targets, key=id_key) and len(event["ids"]) == 4
    listed = await history(owner, c.id, limit=500)
    assert not {m["id"] for m in listed} & set(targets)
    assert user_ids(listed) == [c.sent["mod"], c.sent["admin"]]


async def test_the_owner_skips_senders_above_their_own_level(portal: Portal) -> None:
    """00 §3.5: acting as the owner, targets up to the owner's level; 08 §47: the others are skipped and
    not counted (nor announced)."""
    c = await cast(portal)
    watch = await watcher(portal, await portal.login(), c.id)
    asked = [c.sent["mod"], c.sent["admin"], c.sent["alice"]]

    assert await delete_ids(c.people["owner"], c.id, asked) == 1

    event = await watch.expect_for("message:bulk_deleted", c.id)
    assert event == {"chat_id": c.id, "ids": [c.sent["alice"]]}
    assert await remaining(c.people["owner"], c.id) == [c.sent[n] for n in ("owner", "bob", "mod", "admin")]


async def test_a_moderator_deletes_what_they_outrank_on_a_user_owned_public_chat(portal: Portal) -> None:
    c = await cast(portal)
    other_mod = await portal.login("moderator")
    other_mods = await secure(portal, other_mod, c.id)
    theirs, _ = await secure_send(other_mods, c.id, "from another moderator")
    every = [*c.sent.values(), theirs]

    assert await delete_ids(c.people["mod"], c.id, every) == 4  # owner, alice, bob and their own

    assert await remaining(c.people["owner"], c.id) == [c.sent["admin"], theirs]


async def test_an_admin_deletes_every_lower_senders_message(portal: Portal) -> None:
    c = await cast(portal)
    assert await delete_ids(c.people["admin"], c.id, list(c.sent.values())) == 5
    assert await remaining(c.people["owner"], c.id) == []


async def test_unknown_and_repeated_ids_are_skipped(portal: Portal) -> None:
    c = await cast(portal)
    owner = c.people["owner"]
    watch = await watcher(portal, await portal.login(), c.id)
    assert await delete_ids(owner, c.id, ["1-0", "999999999999999-5"]) == 0
    assert await delete_ids(owner, c.id, [c.sent["alice"], c.sent["alice"], "1-0"]) == 1
    event = await watch.expect_for("message:bulk_deleted", c.id)
    assert event == {"chat_id": c.id, "ids": [c.sent["alice"]]}  # the first call announced nothing
    assert await delete_ids(owner, c.id, [c.sent["alice"]]) == 0  # already gone
    await watch.assert_silent("message:bulk_deleted", c.id)


async def test_ids_from_another_chat_are_not_touched(portal: Portal) -> None:
    c = await cast(portal)
    other = await cast(portal)
    assert await delete_ids(c.people["owner"], c.id, [other.sent["alice"]]) == 0
    assert c.sent["alice"] != other.sent["alice"]
    assert other.sent["alice"] in await remaining(other.people["owner"], other.id)


async def test_ids_must_be_1_to_100_message_ids(portal: Portal) -> None:
    c = await cast(portal)
    owner = c.people["owner"]
    filler = [f"1-{n}" for n in range(99)]
    assert await delete_ids(owner, c.id, [*filler, c.sent["bob"]]) == 1
    assert await delete_ids(owner, c.id, [c.sent["alice"]]) == 1
    before = await remaining(owner, c.id)
    for body, error in (
        ({"ids": []}, "ids must contain 1 to 100 items"),
        ({"ids": [*filler, "1-99", c.sent["owner"]]}, "ids must contain 1 to 100 items"),
        ({}, "ids is required"),
        ({"ids": c.sent["owner"]}, "ids must be a list"),
        ({"ids": None}, "ids must be a list"),
        ({"ids": [5]}, "ids must be a string"),
        ({"ids": ["abc"]}, "ids contains invalid characters"),
        ({"ids": [c.sent["owner"], "1-2-3"]}, "ids contains invalid characters"),
        ({"ids": [c.sent["owner"]], "all": True}, "all is not allowed"),
        ([c.sent["owner"]], "Invalid request"),
    ):
        await expect_error(owner.client.call("POST", delete_path(c.id), json=body), 400, error)
        # 08 §4: validation before the chat lookup
        await expect_error(owner.client.call("POST", delete_path(2_000_000_000), json=body), 400, error)
    assert await remaining(owner, c.id) == before


async def test_delete_gates(portal: Portal) -> None:
    """401, 404, then 403 for members without moderation rights (even for their own messages: that is
    delete-mine), strangers and outsiders of a private chat."""
    c = await cast(portal)
    body = {"ids": [c.sent["alice"]]}
    await expect_error(
        portal.client().call("POST", delete_path(c.id), json=body), 401, "Authentication required"
    )
    alice = c.people["alice"]
    await expect_error(
        alice.client.call("POST", delete_path(2_000_000_000), json=body), 404, "Chat not found"
    )
    await expect_error(alice.client.call("POST", delete_path(c.id), json=body), 403, "Access denied")
    stranger = await portal.stranger()
    await expect_error(stranger.client.call("POST", delete_path(c.id), json=body), 403, "Access denied")
    assert c.sent["alice"] in await remaining(alice, c.id)


async def test_private_chats_owner_and_admin_yes_moderator_no(portal: Portal) -> None:
    """00 §3.5: delete-messages in a private chat → owner or Admin+; Moderators never act there."""
    owner, chat, alice = await private_room(portal)
    member = await portal.login()
    await portal.invite_into(owner, chat["id"], member)
    members = await secure(portal, member, chat["id"])
    first, _ = await secure_send(members, chat["id"], "one")
    second, _ = await secure_send(members, chat["id"], "two")
    mine, _ = await secure_send(alice, chat["id"], "owner's")
    mod = await portal.login("moderator")
    admin = await portal.login("admin")

    body = {"ids": [first]}
    await expect_error(mod.client.call("POST", delete_path(chat["id"]), json=body), 403, "Access denied")
    await expect_error(member.client.call("POST", delete_path(chat["id"]), json=body), 403, "Access denied")
    assert await delete_ids(admin, chat["id"], [first, mine]) == 2  # admin outranks both
    assert await delete_ids(owner, chat["id"], [second]) == 1
    assert await remaining(owner, chat["id"]) == []


async def test_acting_by_rank_needs_rank_over_the_owner(portal: Portal) -> None:
    """08 §44: a Moderator cannot moderate a Moderator's chat, an Admin not an Admin's; an Owner can."""
    mods = await cast(portal, owner_level="moderator")
    await expect_error(
        mods.people["mod"].client.call("POST", delete_path(mods.id), json={"ids": [mods.sent["alice"]]}),
        403,
        "Access denied",
    )
    assert await delete_ids(mods.people["admin"], mods.id, [mods.sent["alice"]]) == 1

    admins = await cast(portal, owner_level="admin")
    await expect_error(
        admins.people["admin"].client.call(
            "POST", delete_path(admins.id), json={"ids": [admins.sent["bob"]]}
        ),
        403,
        "Access denied",
    )
    chief = await portal.login("owner")
    assert await delete_ids(chief, admins.id, [admins.sent["bob"], admins.sent["owner"]]) == 2


# ---- delete-mine -------------------------------------------------------------------------------------------


async def test_delete_mine_removes_only_the_callers_user_messages(portal: Portal) -> None:
    c = await cast(portal)
    alice = c.people["alice"]
    extra, _ = await secure_send(c.secure["alice"], c.id, "another one")
    watch = await watcher(portal, await portal.login(), c.id)
    system_before = texts(await history(alice, c.id, limit=500))

    assert await delete_mine(alice, c.id) == 2

    event = await watch.expect_for("message:bulk_deleted", c.id)
    assert event == {"chat_id": c.id, "ids": [c.sent["alice"], extra]}
    listed = await history(alice, c.id, limit=500)
    assert user_ids(listed) == [c.sent[n] for n in ("owner", "bob", "mod", "admin")]
    assert texts(listed) == system_before  # "alice joined the chat" stays
    assert await delete_mine(alice, c.id) == 0
    await watch.assert_silent("message:bulk_deleted", c.id)


async def test_delete_mine_is_for_anyone_who_may_see_the_chat(portal: Portal) -> None:
    owner, chat, alice = await private_room(portal)
    member = await portal.login()
    await portal.invite_into(owner, chat["id"], member)
    members = await secure(portal, member, chat["id"])
    await secure_send(members, chat["id"], "mine")
    await secure_send(alice, chat["id"], "the owner's")
    outsider = await portal.login()
    stranger = await portal.stranger()
    path = delete_path(chat["id"], "delete-mine")
    await expect_error(portal.client().call("POST", path), 401, "Authentication required")
    await expect_error(outsider.client.call("POST", path), 403, "Access denied")
    await expect_error(stranger.client.call("POST", path), 403, "Access denied")
    await expect_error(
        member.client.call("POST", delete_path(2_000_000_000, "delete-mine")), 404, "Chat not found"
    )
    assert await delete_mine(member, chat["id"]) == 1
    assert await delete_mine(outsider, (await portal.public_chat(owner))["id"]) == 0  # never spoke there
    assert [m["sender"]["id"] for m in await history(owner, chat["id"]) if m["type"] == "user"] == [owner.id]


# ---- delete-last ------------------------------------------------------------------------------------------


async def test_delete_last_takes_the_newest_user_messages_and_skips_untargetable_senders(
    portal: Portal,
) -> None:
    """08 §47: only user messages count; of the newest N, those the actor may not target are skipped
    (and not replaced by older ones)."""
    c = await cast(portal)  # sent in order: owner, alice, bob, mod, admin
    owner = c.people["owner"]
    watch = await watcher(portal, await portal.login(), c.id)  # its "joined" message is the newest now
    later, _ = await secure_send(c.secure["bob"], c.id, "bob again")
    system_before = texts(await history(owner, c.id, limit=500))

    assert await delete_last(owner, c.id, 3) == 1  # newest three: bob again, admin, mod → only bob's

    event = await watch.expect_for("message:bulk_deleted", c.id)
    assert event == {"chat_id": c.id, "ids": [later]}
    assert await remaining(owner, c.id) == [c.sent[n] for n in ("owner", "alice", "bob", "mod", "admin")]
    assert await delete_last(owner, c.id, 100) == 3  # owner, alice, bob
    assert await remaining(owner, c.id) == [c.sent["mod"], c.sent["admin"]]
    assert texts(await history(owner, c.id, limit=500)) == system_before
    assert await delete_last(owner, c.id, 100) == 0


async def test_delete_last_by_a_moderator_and_an_admin(portal: Portal) -> None:
    c = await cast(portal)
    assert await delete_last(c.people["mod"], c.id, 2) == 1  # admin's skipped, their own deleted
    assert await remaining(c.people["owner"], c.id) == [c.sent[n] for n in ("owner", "alice", "bob", "admin")]
    assert await delete_last(c.people["admin"], c.id, 1) == 1  # their own
    assert await delete_last(c.people["admin"], c.id, 100) == 3


async def test_delete_last_count_is_1_to_100(portal: Portal) -> None:
    c = await cast(portal)
    owner = c.people["owner"]
    for body, error in (
        ({"count": 0}, "count must be between 1 and 100"),
        ({"count": 101}, "count must be between 1 and 100"),
        ({"count": -1}, "count must be between 1 and 100"),
        ({"count": "5"}, "count must be an integer"),
        ({"count": 1.5}, "count must be an integer"),
        ({"count": True}, "count must be an integer"),
        ({"count": None}, "count must be an integer"),
        ({}, "count is required"),
        ({"count": 1, "all": True}, "all is not allowed"),
    ):
        await expect_error(owner.client.call("POST", delete_path(c.id, "delete-last"), json=body), 400, error)
    assert len(await remaining(owner, c.id)) == 5
    assert await delete_last(owner, c.id, 1) == 0  # the newest is the admin's: skipped
    assert len(await remaining(owner, c.id)) == 5


async def test_delete_last_permissions(portal: Portal) -> None:
    """04 §6.10: owner; Mod+ over a User owner on listed chats; private: owner or Admin+, never mods."""
    c = await cast(portal)
    await expect_error(
        c.people["alice"].client.call("POST", delete_path(c.id, "delete-last"), json={"count": 1}),
        403,
        "Access denied",
    )
    _owner, chat, alice = await private_room(portal)
    await secure_send(alice, chat["id"], "x")
    mod = await portal.login("moderator")
    await expect_error(
        mod.client.call("POST", delete_path(chat["id"], "delete-last"), json={"count": 1}),
        403,
        "Access denied",
    )
    admin = await portal.login("admin")
    assert await delete_last(admin, chat["id"], 1) == 1


async def test_concurrent_deletes_of_the_same_messages_count_each_message_once(portal: Portal) -> None:
    """Racing deletes never fail and never count one message twice; each id is announced once."""
    c = await cast(portal)
    chiefs = [await portal.login("owner") for _ in range(3)]
    watch = await watcher(portal, await portal.login(), c.id)
    ids = list(c.sent.values())

    counts = await asyncio.gather(*(delete_ids(who, c.id, ids) for who in [c.people["admin"], *chiefs]))

    assert sum(counts) == 5
    announced: list[str] = []
    for _ in range(sum(1 for n in counts if n)):  # one event per call that removed something
        announced += (await watch.expect_for("message:bulk_deleted", c.id))["ids"]
    assert sorted(announced, key=id_key) == sorted(ids, key=id_key)
    assert await remaining(c.people["owner"], c.id) == []
