"""Background-task helpers shared by the services, the live stores and the realtime layer."""

from __future__ import annotations

import asyncio
from typing import Any


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
