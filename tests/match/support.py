"""Shared helpers of the match tests."""

from __future__ import annotations

import secrets
from typing import Any

from tests.helpers import LoggedIn

MATCH = "/v1/portal/match"


def tag() -> str:
    """A tag no other test uses (the queues of a test server are shared by its tests)."""
    return "t" + secrets.token_hex(5)


async def enqueue(who: LoggedIn, *tags: str, path: str = MATCH) -> dict[str, Any]:
    return dict(await who.client.call("POST", path, json={"interests": list(tags)}))


async def status(who: LoggedIn) -> dict[str, Any]:
    return dict(await who.client.call("GET", f"{MATCH}/status"))


async def dequeue(who: LoggedIn) -> dict[str, Any]:
    return dict(await who.client.call("POST", f"{MATCH}/dequeue"))
