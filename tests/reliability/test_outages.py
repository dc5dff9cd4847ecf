"""Redis and PostgreSQL outages (issue 14): a TCP proxy between the node and the shared server stands in for
the outage (tests/servers.py `TcpProxy`: it drops every connection and refuses new ones, exactly what a
stopped server does to its clients, without stopping the machine's Redis or PostgreSQL that other tests
use). While it is cut, `/health` says so, whatever needs the missing part answers 503 "Service
unavailable" in the envelope at once (no hang), the rest keeps working; once it is back, everything works
again without restarting the node (docs/deployment.md "Outages")."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from portal.client import PortalClient
from portal.clock import FakeClock
from portal.errors import ErrorCode
from tests.helpers import LoggedIn
from tests.messaging.support import (
    bundle,
    messages_path,
    own_backend,
    portal_on,
    public_room,
    serve,
    watcher,
)
from tests.servers import POSTGRES_SKIP, PostgresProxy, RedisProxy
from tests.sockets import SocketProbe, eventually

pytestmark = pytest.mark.skipif(bool(POSTGRES_SKIP), reason=POSTGRES_SKIP or "")

FAST = 3.0  # seconds: an answer during an outage comes at once (a refused connection), never a hang
RECOVERY = 15.0  # seconds: the node serves again this soon after the server is back


async def timed(call: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    result = await call
    return result, time.perf_counter() - started


def assert_unavailable(response: Any, elapsed: float) -> None:
    """503 "Service unavailable" in the error envelope, with Retry-After, quickly."""
    assert response.status_code == 503, response.text
    body = response.json()
    assert body == {"error": "Service unavailable", "correlation_id": response.headers["x-correlation-id"]}
    assert int(response.headers["retry-after"]) > 0
    assert elapsed < FAST, f"took {elapsed:.1f}s"


async def post_message(who: LoggedIn, chat_id: int, epoch: int) -> Any:
    return await who.client.raw("POST", messages_path(chat_id), json={"content": bundle(epoch)})


# ---- Redis --------------------------------------------------------------------------------------------


@pytest_asyncio.fixture
async def redis_proxy() -> AsyncIterator[RedisProxy]:
    proxy = RedisProxy()
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.close()


async def test_redis_outage_answers_503_and_recovers_without_a_restart(
    redis_proxy: RedisProxy, tmp_path: Path
) -> None:
    clock = FakeClock()
    async with (
        own_backend("postgres", tmp_path, redis_url=redis_proxy.url) as settings,
        serve(settings, "postgres", clock) as node,
        portal_on(node) as here,
    ):
        owner, chat, alice = await public_room(here)
        chat_id, epoch = chat["id"], alice.epochs[chat["id"]]
        reader = await watcher(here, owner, chat_id)
        assert (await post_message(owner, chat_id, epoch)).status_code == 200

        await redis_proxy.cut()

        health = await owner.client.raw("GET", "/health")
        assert health.status_code == 200
        assert (health.json()["status"], health.json()["cache"]) == ("degraded", False)
        # What needs live state (the sender's presence, the viewer count) answers 503 at once…
        assert_unavailable(*await timed(post_message(owner, chat_id, epoch)))
        assert_unavailable(*await timed(owner.client.raw("GET", f"/v1/portal/chats/{chat_id}")))
        ack, elapsed = await timed(reader.call("room:join", {"chat_id": chat_id}))
        assert ack == {"ok": False, "error": "ERR_SERVICE_UNAVAILABLE", "message": "Service unavailable"}
        assert elapsed < FAST
        late = SocketProbe(node.base_url)
        try:
            assert await late.refused(token=owner.client.session_token) == ErrorCode.SERVICE_UNAVAILABLE
        finally:
            await late.close()
        # …what needs only the database still works.
        assert (await owner.client.raw("GET", "/v1/users/me")).status_code == 200
        assert (await owner.client.raw("GET", f"/v1/portal/chats/{chat_id}/history")).status_code == 200

        await redis_proxy.start()  # Redis is back on the same address; the node is not restarted

        async def healthy() -> bool:
            return bool((await owner.client.raw("GET", "/health")).json()["status"] == "healthy")

        await eventually(healthy, timeout=RECOVERY)
        sent = await post_message(owner, chat_id, epoch)
        assert sent.status_code == 200, sent.text
        # The room emit goes through Redis pub/sub even on one node: its arrival shows the resubscribe.
        message = await reader.expect_where(
            "message:new", lambda m: m.get("id") == sent.json()["id"], timeout=RECOVERY
        )
        assert message["chat_id"] == chat_id
        again = await reader.call("room:join", {"chat_id": chat_id})
        assert again["ok"] is True, again


# ---- PostgreSQL ---------------------------------------------------------------------------------------


@pytest_asyncio.fixture
async def postgres_proxy() -> AsyncIterator[PostgresProxy]:
    proxy = PostgresProxy()
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.close()


async def test_a_postgres_restart_fails_requests_fast_and_the_pool_reconnects(
    postgres_proxy: PostgresProxy, tmp_path: Path
) -> None:
    clock = FakeClock()
    async with own_backend("postgres", tmp_path) as direct:
        settings = direct.model_copy(update={"database_url": postgres_proxy.url_for(direct.database_url)})
        async with serve(settings, "postgres", clock) as node, portal_on(node) as here:
            owner, chat, alice = await public_room(here)
            chat_id, epoch = chat["id"], alice.epochs[chat["id"]]
            anonymous = here.client(api_key=None)
            reader = await watcher(here, owner, chat_id)
            assert (await post_message(owner, chat_id, epoch)).status_code == 200
            assert (await owner.client.raw("GET", "/v1/users/me")).status_code == 200

            await postgres_proxy.cut()  # every pooled connection dies; new ones are refused

            health, elapsed = await timed(anonymous.raw("GET", "/health"))
            assert health.status_code == 503 and health.json()["status"] == "unhealthy"
            assert elapsed < FAST
            for call in (
                owner.client.raw("GET", "/v1/portal/chats"),
                owner.client.raw("GET", f"/v1/portal/chats/{chat_id}/history"),
                post_message(owner, chat_id, epoch),
            ):
                assert_unavailable(*await timed(call))
            # The caller's own profile needs no database while the auth cache holds it (docs/performance.md).
            me, elapsed = await timed(owner.client.raw("GET", "/v1/users/me"))
            assert me.status_code == 200 and elapsed < FAST
            ack = await reader.call("room:join", {"chat_id": chat_id}, timeout=FAST)
            assert ack["error"] == "ERR_SERVICE_UNAVAILABLE", ack

            await postgres_proxy.start()  # PostgreSQL answers again; the node is not restarted

            # The first request after the restart succeeds: the pool pings and replaces dead connections.
            me = await owner.client.raw("GET", "/v1/users/me")
            assert me.status_code == 200, me.text
            sent = await post_message(owner, chat_id, epoch)
            assert sent.status_code == 200, sent.text
            listed = await owner.client.call(
                "GET", f"/v1/portal/chats/{chat_id}/history", params={"limit": 50}
            )
            assert sent.json()["id"] in [m["id"] for m in listed]
            assert (await anonymous.raw("GET", "/health")).json()["status"] == "healthy"


async def test_a_node_started_while_postgres_is_down_serves_once_it_is_back(
    postgres_proxy: PostgresProxy, tmp_path: Path
) -> None:
    """The pool is empty at start; /health is 503 until PostgreSQL answers, then 200, no restart."""
    clock = FakeClock()
    async with own_backend("postgres", tmp_path) as direct:
        settings = direct.model_copy(update={"database_url": postgres_proxy.url_for(direct.database_url)})
        await postgres_proxy.cut()
        async with serve(settings, "postgres", clock) as node, PortalClient(node.base_url) as client:
            down, elapsed = await timed(client.raw("GET", "/health"))
            assert down.status_code == 503 and elapsed < FAST
            await postgres_proxy.start()
            assert (await client.raw("GET", "/health")).status_code == 200
