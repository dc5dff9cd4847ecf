"""Strangers in matchmaking: they may enqueue, a blocked stranger session is refused (08 §30 step 3, §33),
and a stranger peer's `country_code` comes from the geo lookup of their session's IP (08 §31).

These call the strangers service (`is_blocked`, `block`); until that part of issue 11 is merged they fail
with its stub's NotImplementedError."""

from __future__ import annotations

from typing import Any

from portal.services.geo import GeoInfo
from tests.helpers import Portal, expect_error
from tests.match.support import enqueue, status, tag
from tests.sockets import online


class FixedGeo:
    def lookup(self, ip: str | None) -> GeoInfo:
        return GeoInfo(country_code="DE") if ip else GeoInfo()


async def test_a_stranger_peer_carries_a_country_code_and_a_registered_one_null(
    portal: Portal, sockets: Any
) -> None:
    container = portal.container
    saved = container.__dict__.get("geo")
    container.__dict__["geo"] = FixedGeo()
    try:
        stranger, alice = await portal.stranger(), await portal.login()
        on_stranger = await online(sockets, stranger.client.session_token)
        on_alice = await online(sockets, alice.client.session_token)
        t = tag()
        await enqueue(stranger, t)
        await enqueue(alice, t)
        seen_by_alice = (await on_alice.expect("match:found"))["peer"]
        seen_by_stranger = (await on_stranger.expect("match:found"))["peer"]
    finally:
        if saved is None:
            container.__dict__.pop("geo", None)
        else:
            container.__dict__["geo"] = saved
    assert seen_by_alice == {
        "id": stranger.id,
        "username": stranger.user["username"],
        "avatar_url": None,
        "is_stranger": True,
        "country_code": "DE",
    }
    assert seen_by_stranger["is_stranger"] is False and seen_by_stranger["country_code"] is None
    assert (await status(stranger))["state"] == "matched"


async def test_a_blocked_stranger_session_is_refused_and_a_fresh_one_is_not(portal: Portal) -> None:
    stranger = await portal.stranger()
    t = tag()
    await enqueue(stranger, t)
    await portal.container.strangers.block(stranger.id, actor=None)
    assert await status(stranger) == {"state": "idle"}  # the block takes them off the queues
    # The block comes after the body checks and before "already searching" (08 §30).
    await expect_error(stranger.client.call("POST", "/v1/portal/match", json={"interests": ["X"]}), 400)
    await expect_error(enqueue(stranger, t), 403, "ERR_STRANGER_BLOCKED")
    fresh = await portal.stranger()
    assert (await enqueue(fresh, t))["state"] == "searching"
