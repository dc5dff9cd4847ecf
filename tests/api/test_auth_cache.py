"""The authentication cache (portal/services/auth_cache.py): a known session costs no statement, and every
change that matters to authentication — logout, a ban, a permission change, a new username — takes effect
at once, on this node and on every other node (the invalidation goes over the LiveStore bus)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.db.models import LinkedPlatform, User
from portal.db.uow import ALL_USERS
from portal.security import sha256_hex
from tests.helpers import LoggedIn, Portal, counted_statements, expect_error, link_platform
from tests.servers import another_node
from tests.sockets import eventually


async def promote(portal: Portal, who: LoggedIn, level: int) -> None:
    owner = await portal.login("owner")
    body = {"permission_level": level, "reason": "cache test"}
    await owner.client.call("POST", f"/v1/admin/users/{who.id}/permission", json=body)


# ---- one node ---------------------------------------------------------------------------------------------


async def test_a_known_session_costs_no_statement(portal: Portal) -> None:
    alice = await portal.login()
    token = alice.client.session_token
    await alice.client.me()  # the first request looks the session up (and may write last_activity_at)
    with counted_statements(portal) as lookups:
        ctx = await portal.container.sessions.authenticate(token)
    assert ctx is not None and ctx.user.id == alice.id and lookups == []
    with counted_statements(portal) as request:
        assert (await alice.client.me())["id"] == alice.id
    assert request == []  # the session, its user and the user's platforms all came from the cache


async def test_a_new_or_renamed_platform_shows_at_once(portal: Portal) -> None:
    alice = await portal.login()
    assert len((await alice.client.me())["linked_platforms"]) == 1
    await link_platform(portal, alice.id, "telegram", platform_username="alice_tg")
    platforms = (await alice.client.me())["linked_platforms"]
    assert [p["platform"] for p in platforms] == ["discord", "telegram"]

    async with portal.container.db.transaction() as session:
        query = select(LinkedPlatform).where(LinkedPlatform.user_id == alice.id)
        for link in (await session.execute(query)).scalars():
            link.platform_username = f"{link.platform}-renamed"  # as a bot's report at sign-in does
    names = [p["platform_username"] for p in (await alice.client.me())["linked_platforms"]]
    assert names == ["discord-renamed", "telegram-renamed"]


async def test_each_request_gets_its_own_user_object(portal: Portal) -> None:
    alice = await portal.login()
    token = alice.client.session_token
    first = await portal.container.sessions.authenticate(token)
    second = await portal.container.sessions.authenticate(token)
    assert first is not None and second is not None
    assert first.user is not second.user and first.session is not second.session
    first.user.username = "changed-in-memory-only"  # a handler's change to its copy stays there
    assert second.user.username == alice.user["username"]


async def test_logout_rename_permission_and_ban_apply_at_once(portal: Portal) -> None:
    alice = await portal.login()
    assert (await alice.client.me())["permission_level"] == 0

    new_name = f"renamed{alice.id}"
    await alice.client.call("POST", "/v1/users/me/update", json={"username": new_name})
    assert (await alice.client.me())["username"] == new_name

    await promote(portal, alice, 1)  # a level change ends the user's sessions (permission_changed)
    await expect_error(alice.client.me(), 401)

    bob = await portal.login()
    await bob.client.me()
    admin = await portal.login("admin")
    await admin.client.call("POST", f"/v1/admin/users/{bob.id}/ban", json={"reason": "cache test"})
    await expect_error(bob.client.me(), 401)

    carol = await portal.login()
    await carol.client.me()
    await carol.client.logout()
    await expect_error(carol.client.me(), 401)


async def test_a_session_past_its_expiry_is_refused_from_the_cache(portal: Portal) -> None:
    alice = await portal.login()
    await alice.client.me()
    portal.server.clock.advance(31 * 86400)  # past any session's life
    await expect_error(alice.client.me(), 401)


async def test_a_lookup_that_raced_an_invalidation_is_not_kept(portal: Portal) -> None:
    alice = await portal.login()
    cache = portal.container.auth_cache
    token_hash = sha256_hex(alice.client.session_token)
    found = await portal.container.sessions.authenticate(alice.client.session_token)
    assert found is not None
    cache.forget(ALL_USERS)

    since = cache.generation()
    cache.forget({alice.id})  # the row changed while the lookup was reading it
    cache.put(token_hash, found.session, found.user, since=since)
    assert cache.get(token_hash) is None

    since = cache.generation()
    cache.forget({alice.id + 1_000_000})  # someone else's change does not matter
    cache.put(token_hash, found.session, found.user, since=since)
    assert cache.get(token_hash) is not None


async def test_a_touch_of_last_activity_keeps_the_entry(portal: Portal) -> None:
    """Bumping `last_activity_at` (at most once a minute) is not news: no invalidation, and the entry keeps
    the new time, so the next request does not write again."""
    alice = await portal.login()
    await alice.client.me()
    portal.server.clock.advance(61)
    await alice.client.me()  # writes last_activity_at once
    with counted_statements(portal) as request:
        await alice.client.me()
    assert not [s for s in request if s.lstrip().upper().startswith("UPDATE")], request
    async with portal.container.db.read() as session:
        row = await session.get(User, alice.id)
    assert row is not None


# ---- two nodes --------------------------------------------------------------------------------------------


def need_two_nodes(portal: Portal) -> None:
    if portal.server.backend != "postgres":
        pytest.skip("several nodes need PostgreSQL + Redis; the sqlite backend is one process by design")


async def test_changes_on_one_node_reach_the_other_nodes_cache(portal: Portal) -> None:
    need_two_nodes(portal)
    alice, bob = await portal.login(), await portal.login()
    async with another_node(portal.server) as node_b:
        on_b = {who.id: portal.client(base_url=node_b.base_url) for who in (alice, bob)}
        for who in (alice, bob):
            on_b[who.id].session_token = who.client.session_token
            await on_b[who.id].me()  # node B caches both sessions

        new_name = f"renamed{alice.id}"
        await alice.client.call("POST", "/v1/users/me/update", json={"username": new_name})  # on node A

        async def renamed() -> bool:
            return (await on_b[alice.id].me())["username"] == new_name

        await eventually(renamed)

        await bob.client.logout()  # on node A

        async def refused() -> bool:
            try:
                await on_b[bob.id].me()
            except Exception as error:
                return getattr(error, "status", None) == 401
            return False

        await eventually(refused)
