"""The LiveStore contract (portal/live/base.py), run on both the memory and the Redis store.

No test sleeps: memory expiry moves the fake clock, Redis expiry uses a 50 ms TTL and polls the server
(`LiveHarness.let_expire`), and pub/sub tests wait on events with a 2 s timeout.
"""

from __future__ import annotations

import asyncio
import logging
import math
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING, Any
from uuid import uuid4

import pytest

from portal.clock import FakeClock
from portal.config import Settings
from portal.live import LiveStats, LiveStore, LockTimeout, MemoryLiveStore, RedisLiveStore, create_live_store

if TYPE_CHECKING:
    from .conftest import LiveHarness

DELIVERY_TIMEOUT = 2.0
TINY_TTL = 0.05


class Inbox:
    """A bus handler that records messages and lets a test wait for one matching a predicate."""

    def __init__(self, fail_on: int | None = None, gate: asyncio.Event | None = None) -> None:
        self.messages: list[dict[str, Any]] = []
        self._fail_on = fail_on
        self._gate = gate  # when given, the handler blocks until it is set (a slow subscriber)
        self._changed = asyncio.Event()

    async def __call__(self, message: dict[str, Any]) -> None:
        if self._gate is not None:
            await self._gate.wait()
        self.messages.append(message)
        self._changed.set()
        if self._fail_on is not None and message.get("n") == self._fail_on:
            raise RuntimeError("handler failure on purpose")

    async def wait_for(self, predicate: Any) -> None:
        async def _wait() -> None:
            while not any(predicate(m) for m in self.messages):
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(_wait(), DELIVERY_TIMEOUT)

    async def wait_marker(self, marker: str = "end") -> None:
        await self.wait_for(lambda m: m.get("marker") == marker)

    def numbers(self) -> list[int]:
        return [m["n"] for m in self.messages if "n" in m]


# ---- lifecycle -----------------------------------------------------------------------------------


async def test_kind_names_the_backend(live: LiveHarness) -> None:
    assert live.store.kind == live.kind


async def test_start_and_close_are_idempotent(live: LiveHarness) -> None:
    store = live.store
    await store.start()
    assert await store.set("k", "v")
    assert await store.get("k") == "v"
    await store.close()
    await store.close()
    await store.start()
    assert await store.ping() is True
    assert await store.get("k") == "v"


async def test_ping_answers_true(store: LiveStore) -> None:
    assert await store.ping() is True


async def test_stats_fields(live: LiveHarness) -> None:
    store = live.store
    await store.set("a", "1")
    await store.sadd("b", "x")
    await store.set("gone", "1", ttl=TINY_TTL)
    await live.let_expire(TINY_TTL, "gone")
    other = await live.new_store()
    await other.set("not-mine", "1")

    stats = await store.stats()

    assert isinstance(stats, LiveStats)
    assert stats.total_keys == 2  # live keys of this store only
    assert stats.latency_ms is not None and stats.latency_ms >= 0
    redis_only = [
        stats.memory_usage_bytes,
        stats.connected_clients,
        stats.uptime_seconds,
        stats.evicted_keys,
        stats.total_commands_processed,
    ]
    if live.kind == "memory":
        assert redis_only == [None] * 5 and stats.hit_rate is None
    else:
        assert all(isinstance(v, int) for v in redis_only)
        assert stats.memory_usage_bytes and stats.memory_usage_bytes > 0
        assert stats.connected_clients and stats.connected_clients >= 1
        assert stats.total_commands_processed and stats.total_commands_processed > 0
        assert stats.hit_rate is None or 0.0 <= stats.hit_rate <= 100.0


# ---- plain keys ----------------------------------------------------------------------------------


async def test_get_set_and_only_if_absent(store: LiveStore) -> None:
    assert await store.get("k") is None
    assert await store.set("k", "one") is True
    assert await store.get("k") == "one"
    assert await store.set("k", "two") is True
    assert await store.get("k") == "two"
    assert await store.set("k", "three", only_if_absent=True) is False
    assert await store.get("k") == "two"
    assert await store.set("fresh", "x", only_if_absent=True) is True
    assert await store.get("fresh") == "x"


async def test_only_if_absent_sees_keys_of_any_type(store: LiveStore) -> None:
    await store.sadd("taken", "m")
    assert await store.set("taken", "x", only_if_absent=True) is False
    assert await store.smembers("taken") == {"m"}


async def test_set_with_ttl_and_plain_set_clears_it(store: LiveStore) -> None:
    assert await store.set("k", "v", ttl=30) is True
    remaining = await store.ttl("k")
    assert remaining is not None and 29 < remaining <= 30
    assert await store.set("k", "w") is True
    assert await store.ttl("k") is None
    assert await store.set("nx", "v", ttl=1.5, only_if_absent=True) is True
    remaining = await store.ttl("nx")
    assert remaining is not None and 1.4 < remaining <= 1.5


async def test_delete_removes_keys_of_every_type(store: LiveStore) -> None:
    await store.set("s", "v")
    await store.sadd("set", "a", "b")
    await store.hset("hash", {"f": "v"})
    await store.zadd("zset", {"m": 1.0})

    assert await store.delete("s", "set", "hash", "zset", "missing") == 4

    assert await store.get("s") is None
    assert await store.smembers("set") == set()
    assert await store.hgetall("hash") == {}
    assert await store.zcard("zset") == 0
    assert await store.delete("s", "set") == 0
    assert await store.delete() == 0


async def test_incr_counts_from_zero(store: LiveStore) -> None:
    assert await store.incr("n") == 1
    assert await store.incr("n") == 2
    assert await store.incr("n", 10) == 12
    assert await store.incr("n", -15) == -3
    assert await store.get("n") == "-3"


async def test_incr_applies_ttl_only_when_it_creates_the_key(store: LiveStore) -> None:
    assert await store.incr("window", ttl=30) == 1
    first = await store.ttl("window")
    assert first is not None and 29 < first <= 30
    assert await store.incr("window", ttl=1000) == 2
    second = await store.ttl("window")
    assert second is not None and second <= first  # not reset or extended

    assert await store.incr("plain") == 1
    assert await store.incr("plain", ttl=30) == 2
    assert await store.ttl("plain") is None  # existed without expiry: stays without


async def test_expire_and_ttl(store: LiveStore) -> None:
    assert await store.ttl("missing") is None
    assert await store.expire("missing", 10) is False
    await store.set("k", "v")
    assert await store.ttl("k") is None
    assert await store.expire("k", 100) is True
    remaining = await store.ttl("k")
    assert remaining is not None and 99 < remaining <= 100
    assert await store.expire("k", 2.5) is True
    remaining = await store.ttl("k")
    assert remaining is not None and 2.4 < remaining <= 2.5


async def test_writes_other_than_set_keep_the_ttl(store: LiveStore) -> None:
    await store.incr("n", ttl=50)
    await store.sadd("s", "a")
    await store.hset("h", {"f": "1"})
    await store.zadd("z", {"a": 1.0})
    for key in ("s", "h", "z"):
        assert await store.expire(key, 50) is True

    await store.incr("n")
    await store.sadd("s", "b")
    await store.hset("h", {"g": "2"})
    await store.hincr("h", "f")
    await store.zadd("z", {"b": 2.0})

    for key in ("n", "s", "h", "z"):
        remaining = await store.ttl(key)
        assert remaining is not None and 49 < remaining <= 50, key


async def test_expired_keys_behave_as_absent(live: LiveHarness) -> None:
    store = live.store
    await store.set("str", "v", ttl=TINY_TTL)
    await store.sadd("set", "a")
    await store.hset("hash", {"f": "v"})
    await store.zadd("zset", {"m": 1.0})
    for key in ("set", "hash", "zset"):
        assert await store.expire(key, TINY_TTL) is True

    await live.let_expire(TINY_TTL, "str", "set", "hash", "zset")

    assert await store.get("str") is None
    assert await store.ttl("str") is None
    assert await store.smembers("set") == set()
    assert await store.scard("set") == 0
    assert await store.sismember("set", "a") is False
    assert await store.hgetall("hash") == {}
    assert await store.hget("hash", "f") is None
    assert await store.zcard("zset") == 0
    assert await store.zscore("zset", "m") is None
    assert await store.zrange_by_score("zset", -math.inf, math.inf) == []
    assert await store.expire("str", 10) is False
    assert await store.delete("str", "set", "hash", "zset") == 0
    assert await store.set("str", "new", only_if_absent=True) is True
    assert await store.incr("counter", ttl=TINY_TTL) == 1
    await live.let_expire(TINY_TTL, "counter")
    assert await store.incr("counter", ttl=TINY_TTL) == 1  # starts again from zero
    assert await store.hincr("hash", "f") == 1


# ---- sets ----------------------------------------------------------------------------------------


async def test_sets(store: LiveStore) -> None:
    assert await store.smembers("s") == set()
    assert await store.scard("s") == 0
    assert await store.sadd("s", "a", "b", "a") == 2
    assert await store.sadd("s", "b", "c") == 1
    assert await store.sadd("s") == 0
    assert await store.smembers("s") == {"a", "b", "c"}
    assert await store.scard("s") == 3
    assert await store.sismember("s", "a") is True
    assert await store.sismember("s", "z") is False
    assert await store.srem("s", "a", "z") == 1
    assert await store.srem("missing", "a") == 0
    assert await store.smembers("s") == {"b", "c"}


async def test_emptied_containers_disappear(store: LiveStore) -> None:
    await store.sadd("s", "a")
    await store.hset("h", {"f": "v"})
    await store.zadd("z", {"m": 1.0})
    assert await store.srem("s", "a") == 1
    assert await store.hdel("h", "f") == 1
    assert await store.zrem("z", "m") == 1
    assert await store.delete("s", "h", "z") == 0  # nothing left to delete
    assert await store.set("s", "now a string", only_if_absent=True) is True


# ---- hashes --------------------------------------------------------------------------------------


async def test_hashes(store: LiveStore) -> None:
    assert await store.hgetall("h") == {}
    assert await store.hget("h", "f") is None
    await store.hset("h", {"a": "1", "b": "2"})
    await store.hset("h", {"b": "3", "c": "4"})
    await store.hset("h", {})
    assert await store.hget("h", "b") == "3"
    assert await store.hget("h", "zz") is None
    assert await store.hgetall("h") == {"a": "1", "b": "3", "c": "4"}
    assert await store.hdel("h", "a", "zz") == 1
    assert await store.hdel("h") == 0
    assert await store.hdel("missing", "a") == 0
    assert await store.hgetall("h") == {"b": "3", "c": "4"}


async def test_hincr(store: LiveStore) -> None:
    assert await store.hincr("h", "n") == 1
    assert await store.hincr("h", "n", 5) == 6
    assert await store.hincr("h", "n", -10) == -4
    await store.hset("h", {"other": "7"})
    assert await store.hincr("h", "other") == 8
    assert await store.hgetall("h") == {"n": "-4", "other": "8"}


# ---- sorted sets ---------------------------------------------------------------------------------


async def test_sorted_set_add_update_score_and_remove(store: LiveStore) -> None:
    assert await store.zcard("z") == 0
    assert await store.zadd("z", {"a": 1.0, "b": 2.5}) == 2
    assert await store.zadd("z", {"a": 3.0, "c": -1.0}) == 1  # "a" updated, not new
    assert await store.zadd("z", {}) == 0
    assert await store.zscore("z", "a") == 3.0
    assert await store.zscore("z", "c") == -1.0
    assert await store.zscore("z", "nobody") is None
    assert await store.zscore("missing", "a") is None
    assert await store.zcard("z") == 3
    assert await store.zrem("z", "b", "nobody") == 1
    assert await store.zrem("missing", "a") == 0
    assert await store.zcard("z") == 2


async def test_zrange_by_score_bounds_ties_and_limit(store: LiveStore) -> None:
    await store.zadd("z", {"d": 2.0, "b": 1.0, "c": 1.0, "a": 1.0, "e": 3.5, "f": -0.5})

    assert await store.zrange_by_score("z", 1.0, 2.0) == [("a", 1.0), ("b", 1.0), ("c", 1.0), ("d", 2.0)]
    assert await store.zrange_by_score("z", -math.inf, math.inf) == [
        ("f", -0.5),
        ("a", 1.0),
        ("b", 1.0),
        ("c", 1.0),
        ("d", 2.0),
        ("e", 3.5),
    ]
    assert await store.zrange_by_score("z", 1.0, math.inf, limit=2) == [("a", 1.0), ("b", 1.0)]
    assert await store.zrange_by_score("z", 1.5, 3.5, limit=10) == [("d", 2.0), ("e", 3.5)]
    assert await store.zrange_by_score("z", 1.0, 2.0, limit=0) == []
    assert await store.zrange_by_score("z", 10, 20) == []
    assert await store.zrange_by_score("missing", -math.inf, math.inf) == []


# ---- locks ---------------------------------------------------------------------------------------


async def test_lock_excludes_concurrent_holders(store: LiveStore) -> None:
    inside = 0
    most_inside = 0
    total = 0

    async def worker() -> None:
        nonlocal inside, most_inside, total
        async with store.lock("counter", wait=DELIVERY_TIMEOUT):
            inside += 1
            most_inside = max(most_inside, inside)
            seen = total
            for _ in range(3):
                await asyncio.sleep(0)  # yield to the other workers while holding the lock
            total = seen + 1
            inside -= 1

    await asyncio.gather(*(worker() for _ in range(5)))

    assert most_inside == 1
    assert total == 5  # no lost update


async def test_lock_times_out_while_held_and_release_lets_the_next_in(store: LiveStore) -> None:
    events: list[str] = []
    held = asyncio.Event()
    release = asyncio.Event()

    async def holder() -> None:
        async with store.lock("job"):
            events.append("first in")
            held.set()
            await release.wait()
            events.append("first out")

    async def second() -> None:
        async with store.lock("job", wait=DELIVERY_TIMEOUT):
            events.append("second in")

    first_task = asyncio.create_task(holder())
    await asyncio.wait_for(held.wait(), DELIVERY_TIMEOUT)

    with pytest.raises(LockTimeout):
        async with store.lock("job", wait=0.05):
            events.append("intruder in")
    async with store.lock("other-job", wait=0):
        events.append("other name in")

    second_task = asyncio.create_task(second())
    release.set()
    await asyncio.wait_for(asyncio.gather(first_task, second_task), DELIVERY_TIMEOUT)

    assert events == ["first in", "other name in", "first out", "second in"]


async def test_lock_is_released_when_the_body_raises(store: LiveStore) -> None:
    with pytest.raises(ValueError, match="boom"):
        async with store.lock("job"):
            raise ValueError("boom")

    async with store.lock("job", wait=0):
        reacquired = True
    assert reacquired


# ---- pub/sub -------------------------------------------------------------------------------------


async def test_publish_delivers_in_order(store: LiveStore) -> None:
    inbox = Inbox()
    await store.subscribe("room", inbox)

    for n in range(20):
        await store.publish("room", {"n": n})
    await inbox.wait_for(lambda m: m.get("n") == 19)

    assert inbox.numbers() == list(range(20))


async def test_messages_round_trip_as_json(store: LiveStore) -> None:
    inbox = Inbox()
    await store.subscribe("room", inbox)
    message = {"marker": "end", "text": "héllo ✓", "n": 1, "x": 1.5, "none": None, "list": [1, {"a": "b"}]}

    await store.publish("room", message)
    await inbox.wait_marker()

    assert inbox.messages == [message]


async def test_every_subscriber_gets_each_message(store: LiveStore) -> None:
    first, second = Inbox(), Inbox()
    await store.subscribe("room", first)
    await store.subscribe("room", second)

    await store.publish("room", {"n": 1, "marker": "end"})
    await first.wait_marker()
    await second.wait_marker()

    assert first.messages == second.messages == [{"n": 1, "marker": "end"}]
    assert first.messages[0] is not second.messages[0]  # handlers cannot mutate each other's copy


async def test_only_messages_after_subscribe_on_that_channel_arrive(store: LiveStore) -> None:
    await store.publish("room", {"n": 0})
    inbox = Inbox()
    await store.subscribe("room", inbox)

    await store.publish("elsewhere", {"n": 1})
    await store.publish("room", {"n": 2, "marker": "end"})
    await inbox.wait_marker()

    assert inbox.numbers() == [2]


async def test_closed_subscription_stops_delivery(store: LiveStore) -> None:
    closed, kept = Inbox(), Inbox()
    subscription = await store.subscribe("room", closed)
    await store.subscribe("room", kept)
    await store.publish("room", {"n": 1})
    await closed.wait_for(lambda m: m.get("n") == 1)

    await subscription.close()
    await subscription.close()  # idempotent
    await store.publish("room", {"n": 2})
    await store.publish("room", {"n": 3, "marker": "end"})
    await kept.wait_marker()

    assert closed.numbers() == [1]
    assert kept.numbers() == [1, 2, 3]


async def test_resubscribing_after_the_last_handler_left(store: LiveStore) -> None:
    first = Inbox()
    subscription = await store.subscribe("room", first)
    await subscription.close()

    second = Inbox()
    await store.subscribe("room", second)
    await store.publish("room", {"marker": "end"})
    await second.wait_marker()

    assert second.messages == [{"marker": "end"}]
    assert first.messages == []


async def test_handler_exception_is_logged_and_later_messages_still_arrive(
    store: LiveStore, caplog: pytest.LogCaptureFixture
) -> None:
    inbox = Inbox(fail_on=1)
    await store.subscribe("room", inbox)

    with caplog.at_level(logging.ERROR, logger="portal.live"):
        for n in range(1, 4):
            await store.publish("room", {"n": n})
        await inbox.wait_for(lambda m: m.get("n") == 3)

    assert inbox.numbers() == [1, 2, 3]
    assert any("handler failed" in record.getMessage() for record in caplog.records)


async def test_slow_handler_blocks_neither_publish_nor_other_subscribers(store: LiveStore) -> None:
    gate = asyncio.Event()
    slow, fast = Inbox(gate=gate), Inbox()
    await store.subscribe("room", slow)
    await store.subscribe("room", fast)

    for n in range(3):
        await asyncio.wait_for(store.publish("room", {"n": n}), DELIVERY_TIMEOUT)
    await store.publish("room", {"n": 3, "marker": "end"})
    await fast.wait_marker()
    assert fast.numbers() == [0, 1, 2, 3]
    assert slow.messages == []

    gate.set()
    await slow.wait_marker()
    assert slow.numbers() == [0, 1, 2, 3]


# ---- isolation -----------------------------------------------------------------------------------


async def test_prefixes_isolate_keys_channels_and_locks(live: LiveHarness) -> None:
    one = live.store
    two = await live.new_store()

    await one.set("k", "one")
    await two.set("k", "two")
    await one.sadd("s", "a")
    assert await one.get("k") == "one"
    assert await two.get("k") == "two"
    assert await two.smembers("s") == set()
    assert await two.delete("k") == 1
    assert await one.get("k") == "one"

    inbox_one, inbox_two = Inbox(), Inbox()
    await one.subscribe("room", inbox_one)
    await two.subscribe("room", inbox_two)
    await one.publish("room", {"from": "one", "marker": "end"})
    await two.publish("room", {"from": "two", "marker": "end"})
    await inbox_one.wait_marker()
    await inbox_two.wait_marker()
    assert [m["from"] for m in inbox_one.messages] == ["one"]
    assert [m["from"] for m in inbox_two.messages] == ["two"]

    async with one.lock("job"), two.lock("job", wait=0):
        both_held = True
    assert both_held


# ---- Redis-only: several nodes share one Redis ---------------------------------------------------


@pytest.mark.parametrize("live_kind", ["redis"], indirect=True)
async def test_redis_stores_with_the_same_prefix_share_state(live: LiveHarness) -> None:
    node_a = live.store
    node_b = await live.new_store(prefix=node_a.prefix)  # type: ignore[attr-defined]

    await node_a.set("k", "v")
    assert await node_b.get("k") == "v"

    inbox = Inbox()
    await node_b.subscribe("room", inbox)
    await node_a.publish("room", {"marker": "end"})
    await inbox.wait_marker()
    assert inbox.messages == [{"marker": "end"}]

    async with node_a.lock("job"):
        with pytest.raises(LockTimeout):
            async with node_b.lock("job", wait=0.05):
                pass
    async with node_b.lock("job", wait=0):
        released = True
    assert released


@pytest.mark.parametrize("live_kind", ["redis"], indirect=True)
async def test_redis_lock_release_never_frees_a_lock_someone_else_took(
    live: LiveHarness, caplog: pytest.LogCaptureFixture
) -> None:
    node_a = live.store
    node_b = await live.new_store(prefix=node_a.prefix)  # type: ignore[attr-defined]

    async with AsyncExitStack() as stack:
        with caplog.at_level(logging.WARNING, logger="portal.live"):
            async with node_a.lock("job", ttl=30):
                remaining = await node_a.ttl("lock:job")
                assert remaining is not None and 29 < remaining <= 30
                assert await node_a.delete("lock:job") == 1  # as if A's ttl ran out mid-body
                await stack.enter_async_context(node_b.lock("job", wait=0))
        with pytest.raises(LockTimeout):
            async with node_a.lock("job", wait=0):
                pass  # B still holds it: A's release must not have deleted B's lock
    assert any("expired before its holder released" in r.getMessage() for r in caplog.records)
    async with node_a.lock("job", wait=0):
        free_again = True
    assert free_again


async def test_redis_ping_is_false_when_unreachable() -> None:
    store = RedisLiveStore("redis://127.0.0.1:1/0", prefix=f"portal_test_{uuid4().hex[:12]}")
    assert await store.ping() is False  # not started
    await store.start()
    try:
        assert await store.ping() is False
    finally:
        await store.close()
    await store.close()


# ---- factory -------------------------------------------------------------------------------------


async def test_memory_store_forgets_expired_keys_nobody_reads_again(clock: FakeClock) -> None:
    store = MemoryLiveStore(clock)
    for n in range(100):
        await store.set(f"k{n}", "v", ttl=10)
    for _ in range(5000):
        await store.expire("k0", 10)  # refreshing a TTL must not grow the deadline heap forever
    clock.advance(11)

    await store.set("other", "v")

    assert len(store._values) == 1  # swept without anyone reading the expired keys
    assert len(store._deadlines) < 5000


def test_factory_picks_the_backend_from_settings(clock: FakeClock) -> None:
    memory = create_live_store(Settings(redis_url=None, redis_prefix="p1"), clock)
    assert isinstance(memory, MemoryLiveStore) and memory.prefix == "p1" and memory.clock is clock

    remote = create_live_store(Settings(redis_url="redis://example:6379/2", redis_prefix="p2"), clock)
    assert isinstance(remote, RedisLiveStore)
    assert remote.url == "redis://example:6379/2" and remote.prefix == "p2"
