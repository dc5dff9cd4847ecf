"""Background-task helpers shared by the services, the live stores and the realtime layer."""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger("portal")


async def cancel_and_wait(task: asyncio.Task[Any] | None) -> None:
    """Cancel `task` and wait until it has ended.

    The usual `task.cancel(); with suppress(CancelledError): await task` also swallows a cancellation of the
    *caller* that arrives during the wait, and a caller that goes on after being cancelled can leave a
    shutdown waiting for ever. Here the task's own cancellation is absorbed; the caller's is re-raised.
    """
    if task is None:
        return
    task.cancel()
    if task is asyncio.current_task():
        return  # a task stopping itself: it ends at its next await
    try:
        await task
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if current is not None and current.cancelling():
            raise


async def run_bounded(name: str, step: Awaitable[Any], timeout: float) -> str | None:
    """Run one step of a shutdown: at most `timeout` seconds, and a failure is logged, not raised, so the
    steps after it still run and a node never hangs on its way down. Answers what went wrong (None when
    the step finished cleanly); a step still running after `timeout` is cancelled and left behind."""
    task = asyncio.ensure_future(step)
    done, _ = await asyncio.wait({task}, timeout=timeout)
    if not done:
        stack = io.StringIO()
        task.print_stack(file=stack)
        log.warning("shutdown step %s still running after %.0f s:\n%s", name, timeout, stack.getvalue())
        task.cancel()
        return f"{name}: still running after {timeout:g} s"
    if task.cancelled():
        log.warning("shutdown step %s was cancelled", name)
        return f"{name}: cancelled"
    if (error := task.exception()) is not None:
        log.warning("shutdown step %s failed", name, exc_info=error)
        return f"{name}: {type(error).__name__}: {error}"
    return None


def raise_if_cancelling() -> None:
    """For the top of a long-running loop: end the task if a cancellation was requested and swallowed.

    Something below the presence loop and the bus handlers (seen in `vms.sweep_dead` on PostgreSQL +
    Redis, under load; the library is not identified) sometimes absorbs the CancelledError of a
    `task.cancel()`, and the loop then ran for ever while whoever cancelled it waited: the multi-node test
    hangs. The request stays counted in `Task.cancelling()`, so the loop can honour it here.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


async def retry_until_done(attempt: Callable[[], Awaitable[Any]], *, first_delay: float = 0.5) -> None:
    """Call `attempt` until it returns without raising, waiting 0.5 s, 1 s, 2 s … (at most 10 s) between
    tries: for subscriptions a node keeps trying while the LiveStore is down."""
    delay = first_delay
    while True:
        await asyncio.sleep(delay)
        try:
            await attempt()
            return
        except Exception:
            delay = min(delay * 2, 10.0)
