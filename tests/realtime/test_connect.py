"""Connecting to Socket.IO: authentication, origin, `chat:list`, and sessions ending (00 §5, 08 §52, §57)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from portal.db.models import User
from portal.db.uow import users_changed
from tests.helpers import LoggedIn, Portal


async def assert_chat_list(chat_list: list, who: LoggedIn) -> None:
    """`chat:list` names exactly the chats `GET /v1/portal/chats` lists (00 §5, §3.8)."""
    listed = {chat["id"] for chat in await who.client.call("GET", "/v1/portal/chats")}
    assert sorted(entry["chat_id"] for entry in chat_list) == sorted(listed)


async def test_connect_with_auth_session_receives_chat_list(portal: Portal, sockets) -> None:
    alice = await portal.login()
    probe = sockets()
    await probe.connect(token=alice.client.session_token)
    await assert_chat_list(await probe.expect("chat:list"), alice)


async def test_connect_with_session_cookie(portal: Portal, sockets) -> None:
    alice = await portal.login()
    probe = sockets()
    await probe.connect(headers={"Cookie": f"psession={alice.client.session_token}"})
    await assert_chat_list(await probe.expect("chat:list"), alice)


async def test_stranger_may_connect(portal: Portal, sockets) -> None:
    stranger = await portal.stranger()
    probe = sockets()
    await probe.connect(token=stranger.client.session_token)
    assert await probe.expect("chat:list") == []


async def test_connect_without_or_with_bad_session_is_refused(portal: Portal, sockets) -> None:
    assert await sockets().refused() == "ERR_UNAUTHORIZED"
    assert await sockets().refused(token="not-a-session") == "ERR_UNAUTHORIZED"
    assert await sockets().refused(headers={"Cookie": "psession=garbage"}) == "ERR_UNAUTHORIZED"


async def test_foreign_origin_is_refused_and_allowed_origin_accepted(portal: Portal, sockets) -> None:
    alice = await portal.login()
    token = alice.client.session_token
    refused = await sockets().refused(token=token, headers={"Origin": "https://evil.example"})
    assert refused == "ERR_ORIGIN_NOT_ALLOWED"
    probe = sockets()
    await probe.connect(token=token, headers={"Origin": "http://localhost:8080"})
    await assert_chat_list(await probe.expect("chat:list"), alice)


async def test_restricted_account_is_refused(portal: Portal, sockets) -> None:
    alice = await portal.login()
    until = portal.server.clock.now() + timedelta(hours=1)
    async with portal.container.db.transaction() as session:
        await session.execute(update(User).where(User.id == alice.id).values(state=1, state_expires_at=until))
        users_changed(session, [alice.id])
    assert await sockets().refused(token=alice.client.session_token) == "ERR_ACCOUNT_RESTRICTED"
    # Its sessions were ended, so the next attempt is simply unauthorised.
    assert await sockets().refused(token=alice.client.session_token) == "ERR_UNAUTHORIZED"


async def test_logout_ends_the_sockets_of_that_session_only(portal: Portal, sockets) -> None:
    alice = await portal.login()
    other_login = portal.client()
    identity = alice.user["linked_platforms"][0]
    await portal.web_login(other_login, identity["platform"], identity["platform_user_id"])
    first, second = sockets(), sockets()
    await first.connect(token=alice.client.session_token)
    await second.connect(token=other_login.session_token)
    await first.expect("chat:list")
    await second.expect("chat:list")

    await alice.client.logout()

    assert await first.expect("session:ended") == {"reason": "logout"}
    await first.wait_disconnected()
    assert second.sio.connected
    assert second.events["session:ended"].empty()


async def test_revoked_session_gets_session_ended_revoked(portal: Portal, sockets) -> None:
    alice = await portal.login()
    identity = alice.user["linked_platforms"][0]
    phone = portal.client()
    await portal.web_login(phone, identity["platform"], identity["platform_user_id"])
    probe = sockets()
    await probe.connect(token=phone.session_token)
    await probe.expect("chat:list")

    await alice.client.destroy_session(phone.session_token[-6:])

    assert await probe.expect("session:ended") == {"reason": "revoked"}
    await probe.wait_disconnected()


async def test_expired_session_is_ended_by_the_janitor(portal: Portal, tmp_path) -> None:
    """08 §57: a session past its fixed expiry ends with `session:ended {expired}`. On a server of its own:
    moving a shared clock by 30 days would expire every other test's sessions."""
    from tests.helpers import Portal as PortalHelper
    from tests.realtime.conftest import SocketProbe
    from tests.servers import running_server

    async with running_server(portal.server.backend, tmp_path) as own:
        helper = PortalHelper(own)
        try:
            alice = await helper.login()
            probe = SocketProbe(own.base_url)
            await probe.connect(token=alice.client.session_token)
            await probe.expect("chat:list")

            own.clock.advance(30 * 86400 + 1)
            report = await own.container.janitor.run_once()

            assert report.sessions_expired == 1
            assert await probe.expect("session:ended") == {"reason": "expired"}
            await probe.wait_disconnected()
        finally:
            await helper.close()
