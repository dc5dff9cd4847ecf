"""The LiveStore contract of the match queues (portal/live/base.py, "match queues"), on both stores.

Times are the application clock's Unix ms, passed in, so these tests move `now` instead of waiting.
"""

from __future__ import annotations

import asyncio
from typing import Any

from portal.live import LiveStore
from portal.live.base import MatchOutcome

NOW = 1_700_000_000_000
TTL = 600_000
PENDING = 60_000


async def enqueue(
    store: LiveStore,
    user_id: int,
    tags: list[str],
    *,
    now: int = NOW,
    deadline: int | None = None,
    excluded: list[int] | None = None,
    free_slots: int = 1,
    generation: int | None = None,
) -> MatchOutcome:
    return await store.match_enqueue(
        user_id,
        tags,
        now_ms=now,
        deadline_ms=deadline if deadline is not None else now + TTL,
        excluded=excluded or [],
        free_slots=free_slots,
        generation=await store.match_generation(user_id) if generation is None else generation,
        pending_ttl_ms=PENDING,
    )


async def test_first_user_waits_and_a_user_sharing_a_tag_pairs_with_it(store: LiveStore) -> None:
    assert (await enqueue(store, 1, ["music", "gaming"])).kind == "queued"
    entry = await store.match_entry(1)
    assert entry is not None and entry.tags == ["music", "gaming"] and entry.deadline_ms == NOW + TTL
    outcome = await enqueue(store, 2, ["chess", "gaming"])
    assert outcome == MatchOutcome("paired", peer=1, peer_tags=["music", "gaming"])
    assert await store.match_entry(1) is None
    assert await store.match_entry(2) is None  # the newcomer never waits when paired


async def test_disjoint_tags_both_wait(store: LiveStore) -> None:
    assert (await enqueue(store, 1, ["music"])).kind == "queued"
    assert (await enqueue(store, 2, ["chess"])).kind == "queued"
    assert (await store.match_entry(1)) is not None and (await store.match_entry(2)) is not None


async def test_fifo_across_tags_takes_the_earliest_waiting_user(store: LiveStore) -> None:
    await enqueue(store, 1, ["chess"])
    await enqueue(store, 2, ["music"])
    outcome = await enqueue(store, 4, ["music", "chess"])
    assert outcome.kind == "paired" and outcome.peer == 1  # 1 queued before 2, on another of 4's tags
    assert (await enqueue(store, 5, ["chess", "music"])).peer == 2


async def test_already_searching_is_refused_and_changes_nothing(store: LiveStore) -> None:
    await enqueue(store, 1, ["music"])
    assert (await enqueue(store, 1, ["chess"])).kind == "searching"
    entry = await store.match_entry(1)
    assert entry is not None and entry.tags == ["music"]


async def test_never_self_nor_excluded_users(store: LiveStore) -> None:
    await enqueue(store, 1, ["music"])
    assert (await enqueue(store, 2, ["music"], excluded=[1])).kind == "queued"
    outcome = await enqueue(store, 3, ["music"])
    assert outcome.peer == 1  # 2 waits behind 1, 3 takes 1 first


async def test_lapsed_entries_are_skipped_and_removed(store: LiveStore) -> None:
    await enqueue(store, 1, ["music"], deadline=NOW + 1000)
    await enqueue(store, 2, ["music"], excluded=[1], deadline=NOW + TTL)
    outcome = await enqueue(store, 3, ["music"], now=NOW + 1000)
    assert outcome.peer == 2
    assert await store.match_entry(1) is None


async def test_a_lapsed_own_entry_does_not_count_as_searching(store: LiveStore) -> None:
    await enqueue(store, 1, ["music"], deadline=NOW + 1000)
    assert (await enqueue(store, 1, ["chess"], now=NOW + 1000)).kind == "queued"


async def test_unsettled_pairings_hold_slots_and_exclude_the_peer_until_settled(store: LiveStore) -> None:
    await enqueue(store, 1, ["music"])
    assert (await enqueue(store, 2, ["music"], free_slots=3)).peer == 1
    # Before the pair's chat is written: 1 (one free slot) has none left; 2 may queue but not with 1.
    assert (await enqueue(store, 1, ["music"])).kind == "slots"
    assert (await enqueue(store, 2, ["music"], free_slots=3)).kind == "queued"
    assert (await enqueue(store, 1, ["music"], free_slots=2)).kind == "queued"  # 1 and 2 both wait
    await store.match_remove(1)
    await store.match_remove(2)
    await store.match_settled(1, 2)
    assert (await enqueue(store, 1, ["music"])).kind == "queued"
    assert (await enqueue(store, 2, ["music"])).peer == 1


async def test_unsettled_pairings_lapse_after_the_pending_ttl(store: LiveStore) -> None:
    await enqueue(store, 1, ["music"])
    await enqueue(store, 2, ["music"])
    assert (await enqueue(store, 1, ["music"], now=NOW + PENDING - 1)).kind == "slots"
    assert (await enqueue(store, 1, ["music"], now=NOW + PENDING)).kind == "queued"


async def test_generations_move_on_pairing_and_settling(store: LiveStore) -> None:
    assert await store.match_generation(1) == 0
    await enqueue(store, 1, ["music"])
    stale = await store.match_generation(2)
    await enqueue(store, 2, ["music"])
    assert await store.match_generation(1) == 1 and await store.match_generation(2) == 1
    await store.match_settled(1, 2)
    assert await store.match_generation(1) == 2 and await store.match_generation(2) == 2
    assert (await enqueue(store, 2, ["music"], generation=stale)).kind == "stale"
    assert await store.match_entry(2) is None


async def test_remove_is_idempotent(store: LiveStore) -> None:
    await enqueue(store, 1, ["music", "chess"])
    assert await store.match_remove(1) is True
    assert await store.match_remove(1) is False
    assert (await enqueue(store, 2, ["chess"])).kind == "queued"  # 1 is on no queue any more


async def test_refresh_moves_only_a_live_entry(store: LiveStore) -> None:
    assert await store.match_refresh(1, now_ms=NOW, deadline_ms=NOW + TTL) is False
    assert await store.match_entry(1) is None
    await enqueue(store, 1, ["music"], deadline=NOW + 1000)
    assert await store.match_refresh(1, now_ms=NOW + 500, deadline_ms=NOW + 500 + TTL) is True
    entry = await store.match_entry(1)
    assert entry is not None and entry.deadline_ms == NOW + 500 + TTL
    assert await store.match_refresh(1, now_ms=NOW + 500 + TTL, deadline_ms=NOW + 2 * TTL) is False


async def test_sockets_count_and_bring_the_deadline_forward_on_the_last_one_out(store: LiveStore) -> None:
    kw: dict[str, Any] = {"refresh_ms": NOW + TTL, "grace_ms": NOW + 60_000}
    assert await store.match_sockets(1, +1, now_ms=NOW, **kw) == 1
    assert await store.match_sockets(1, +1, now_ms=NOW, **kw) == 2
    await enqueue(store, 1, ["music"])
    assert await store.match_sockets(1, -1, now_ms=NOW, **kw) == 1
    assert (await store.match_entry(1)).deadline_ms == NOW + TTL  # type: ignore[union-attr]
    assert await store.match_sockets(1, -1, now_ms=NOW, **kw) == 0
    assert (await store.match_entry(1)).deadline_ms == NOW + 60_000  # type: ignore[union-attr]
    # Back in time: a plain TTL again; a grace never pushes a sooner deadline later.
    assert await store.match_sockets(1, +1, now_ms=NOW + 1000, refresh_ms=NOW + 1000 + TTL, grace_ms=0) == 1
    assert (await store.match_entry(1)).deadline_ms == NOW + 1000 + TTL  # type: ignore[union-attr]
    await store.match_refresh(1, now_ms=NOW + 1000, deadline_ms=NOW + 2000)
    assert await store.match_sockets(1, -1, now_ms=NOW + 1000, refresh_ms=0, grace_ms=NOW + 90_000) == 0
    assert (await store.match_entry(1)).deadline_ms == NOW + 2000  # type: ignore[union-attr]
    assert await store.match_sockets(1, -1, now_ms=NOW + 1000, refresh_ms=0, grace_ms=0) == 0  # never < 0


async def test_reap_removes_due_entries_only(store: LiveStore) -> None:
    await enqueue(store, 1, ["music"], deadline=NOW + 1000)
    await enqueue(store, 2, ["chess"], deadline=NOW + 2000)
    assert await store.match_reap(NOW + 999) == []
    assert await store.match_reap(NOW + 1000) == [1]
    assert await store.match_entry(1) is None and await store.match_entry(2) is not None
    assert (await enqueue(store, 3, ["music"], now=NOW + 1000)).kind == "queued"


async def test_concurrent_enqueues_pair_everyone_once(store: LiveStore) -> None:
    tags = [["alpha", "beta"], ["beta", "gamma"], ["gamma", "alpha"], ["delta"]]
    outcomes = await asyncio.gather(*(enqueue(store, n, tags[n % 4]) for n in range(1, 61)))
    pairs = [(n, o.peer) for n, o in zip(range(1, 61), outcomes, strict=True) if o.kind == "paired"]
    seen = [uid for pair in pairs for uid in pair]
    assert len(seen) == len(set(seen))
    waiting = [n for n in range(1, 61) if await store.match_entry(n) is not None]
    assert not set(waiting) & set(seen)
    assert len(waiting) + len(seen) == 60
    for a in waiting:  # nobody left waiting shares a tag with another waiting user
        for b in waiting:
            assert a == b or not set(tags[a % 4]) & set(tags[b % 4])
