"""`cancel_and_wait`: the cancelled task is waited for; a cancellation of the caller is never swallowed.
`run_bounded`: a shutdown step that fails or hangs is logged and left behind, never raised or waited on."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import pytest

from portal.tasks import cancel_and_wait, raise_if_cancelling, run_bounded


async def _forever() -> None:
    await asyncio.Event().wait()


async def _slow_to_stop(release: asyncio.Event) -> None:
    """A task whose clean-up (on cancel) waits for `release`, as a shutdown step waiting on I/O does."""
    try:
        await asyncio.Event().wait()
    finally:
        await release.wait()


async def test_the_task_is_cancelled_and_waited_for() -> None:
    task = asyncio.create_task(_forever())
    await asyncio.sleep(0)
    await cancel_and_wait(task)
    assert task.cancelled()


async def test_none_and_a_finished_task_are_fine() -> None:
    await cancel_and_wait(None)
    task = asyncio.create_task(asyncio.sleep(0))
    await task
    await cancel_and_wait(task)
    assert task.done() and not task.cancelled()


async def test_a_caller_cancelled_while_waiting_stays_cancelled() -> None:
    """The old `suppress(CancelledError)` pattern let such a caller carry on (and, in a loop, run for
    ever while whoever cancelled it waited)."""
    release = asyncio.Event()
    slow = asyncio.create_task(_slow_to_stop(release))
    await asyncio.sleep(0)
    went_on = asyncio.Event()

    async def caller() -> None:
        await cancel_and_wait(slow)
        went_on.set()

    waiting = asyncio.create_task(caller())
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    waiting.cancel()
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert not went_on.is_set()
    assert slow.done()


async def test_a_task_may_stop_itself() -> None:
    reached_the_next_await = asyncio.Event()

    async def stops_itself() -> None:
        await cancel_and_wait(asyncio.current_task())
        reached_the_next_await.set()
        await asyncio.sleep(0)
        raise AssertionError("not cancelled at the next await")

    task = asyncio.create_task(stops_itself())
    with pytest.raises(asyncio.CancelledError):
        await task
    assert reached_the_next_await.is_set()


async def test_a_step_that_finishes_is_a_success() -> None:
    assert await run_bounded("quick", asyncio.sleep(0), timeout=1) is None


async def test_a_step_that_fails_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    async def fails() -> None:
        raise RuntimeError("redis went away")

    with caplog.at_level(logging.WARNING, logger="portal"):
        problem = await run_bounded("notifier", fails(), timeout=1)
    assert problem == "notifier: RuntimeError: redis went away"
    assert "shutdown step notifier failed" in caplog.text and "redis went away" in caplog.text


async def test_a_step_that_hangs_is_left_behind_with_its_stack(caplog: pytest.LogCaptureFixture) -> None:
    """Even a step that ignores its cancellation does not keep the caller waiting."""
    stuck = asyncio.Event()

    async def ignores_cancellation() -> None:
        while not stuck.is_set():
            try:
                await stuck.wait()
            except asyncio.CancelledError:
                continue

    loop = asyncio.get_running_loop()
    begun = loop.time()
    with caplog.at_level(logging.WARNING, logger="portal"):
        problem = await run_bounded("container", ignores_cancellation(), timeout=0.05)
    assert problem == "container: still running after 0.05 s"
    assert loop.time() - begun < 1
    assert "shutdown step container still running after" in caplog.text
    assert "ignores_cancellation" in caplog.text  # where it was stuck
    stuck.set()  # let the left-behind task end with this test
    await asyncio.sleep(0)


async def test_a_loop_whose_body_swallows_the_cancellation_still_ends() -> None:
    """What made the multi-node tests hang: a body that absorbs the CancelledError (here on purpose) kept
    the loop going and `cancel_and_wait` waiting; `raise_if_cancelling` at the top of the loop ends it."""
    turns = 0

    async def swallowing_body() -> None:
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.Event().wait()

    async def loop() -> None:
        nonlocal turns
        while True:
            raise_if_cancelling()
            turns += 1
            await swallowing_body()

    task = asyncio.create_task(loop())
    await asyncio.sleep(0)
    await asyncio.wait_for(cancel_and_wait(task), timeout=5)
    assert task.cancelled() and turns == 1


async def test_a_healthy_task_is_not_cancelled_by_the_check() -> None:
    async def body() -> str:
        raise_if_cancelling()
        try:
            async with asyncio.timeout(0):  # a timeout cancels and un-cancels the task
                await asyncio.sleep(1)
        except TimeoutError:
            pass
        raise_if_cancelling()
        return "went on"

    assert await asyncio.create_task(body()) == "went on"
