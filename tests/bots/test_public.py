"""`GET /v1/bots`, `GET /v1/bots/{id}` and `GET /v1/bots/search` (06 §4; 08 §34, §42, §61)."""

from __future__ import annotations

import secrets

import pytest

from portal.schemas.bots import AdminBotUpdateIn
from tests.bots.support import BOTS, PRIVATE_KEYS, PUBLIC_KEYS, named_bot, set_active
from tests.helpers import Portal, expect_error

# ---- GET /v1/bots ---------------------------------------------------------------------------------------


async def test_list_is_an_array_of_public_active_bots_by_id(portal: Portal) -> None:
    _, first = await portal.register_bot()
    _, hidden = await portal.register_bot()
    _, last = await portal.register_bot()
    await set_active(portal, hidden["id"], False)
    client = portal.client()
    assert isinstance(await client.call("GET", BOTS), list)
    every: list[dict[str, object]] = []
    offset = 0
    while True:
        page = await client.call("GET", BOTS, params={"limit": 100, "offset": offset})
        every += page
        if len(page) < 100:
            break
        offset += 100
    ids = [int(str(b["id"])) for b in every]
    assert ids == sorted(ids)
    assert first["id"] in ids and last["id"] in ids and hidden["id"] not in ids
    for bot in every:
        assert set(bot) == PUBLIC_KEYS


async def test_list_default_and_limits(portal: Portal) -> None:
    for _ in range(3):
        await portal.register_bot()
    client = portal.client()
    assert len(await client.call("GET", BOTS, params={"limit": 1})) == 1
    assert len(await client.call("GET", BOTS, params={"limit": 2, "offset": 1})) == 2
    assert len(await client.call("GET", BOTS)) <= 50
    for bad in (0, 101):
        await expect_error(
            client.call("GET", BOTS, params={"limit": bad}), 400, "limit must be between 1 and 100"
        )
    await expect_error(client.call("GET", BOTS, params={"offset": -1}), 400)
    await expect_error(client.call("GET", BOTS, params={"limit": "x"}), 400, "limit must be an integer")


async def test_list_needs_the_public_key(portal: Portal) -> None:
    await expect_error(portal.client(api_key=None).call("GET", BOTS), 401, "Invalid API key")
    await expect_error(portal.client(api_key="nope").call("GET", BOTS), 401, "Invalid API key")
    bot, _ = await portal.register_bot()
    await expect_error(bot.call("GET", BOTS), 401, "Invalid API key")  # a bot key is not the public key


async def test_list_uses_the_public_tier(portal: Portal) -> None:
    response = await portal.client().raw("GET", BOTS)
    assert response.status_code == 200
    assert response.headers["x-ratelimit-limit"] == "120"


# ---- GET /v1/bots/{id} ------------------------------------------------------------------------------------


async def test_one_bot_public_for_key_and_users_private_for_admins(portal: Portal) -> None:
    _, bot = await portal.register_bot()
    path = f"{BOTS}/{bot['id']}"
    by_key = await portal.client().call("GET", path)
    assert set(by_key) == PUBLIC_KEYS and by_key["id"] == bot["id"] and by_key["is_verified"] is False
    for level in ("user", "moderator"):
        who = await portal.login(level)
        assert set(await who.client.call("GET", path)) == PUBLIC_KEYS
    stranger = await portal.stranger()
    assert set(await stranger.client.call("GET", path)) == PUBLIC_KEYS
    for level in ("admin", "owner"):
        who = await portal.login(level)
        detail = await who.client.call("GET", path)
        assert set(detail) == PRIVATE_KEYS
        assert detail == bot


async def test_one_bot_auth_and_errors(portal: Portal) -> None:
    _, bot = await portal.register_bot()
    path = f"{BOTS}/{bot['id']}"
    await expect_error(portal.client(api_key=None).call("GET", path), 401, "Authentication required")
    await expect_error(portal.client(api_key="wrong").call("GET", path), 401, "Invalid API key")
    client = portal.client()
    await expect_error(client.call("GET", f"{BOTS}/999999999"), 404, "Bot not found")
    await expect_error(client.call("GET", f"{BOTS}/abc"), 400, "bot_id must be an integer")


async def test_inactive_bot_is_404_below_admin(portal: Portal) -> None:
    _, bot = await portal.register_bot()
    await set_active(portal, bot["id"], False)
    path = f"{BOTS}/{bot['id']}"
    await expect_error(portal.client().call("GET", path), 404, "Bot not found")
    user = await portal.login("user")
    await expect_error(user.client.call("GET", path), 404, "Bot not found")
    admin = await portal.login("admin")
    assert (await admin.client.call("GET", path))["is_active"] is False


# ---- GET /v1/bots/search ----------------------------------------------------------------------------------


async def test_search_by_partial_name_or_exact_id(portal: Portal) -> None:
    tag = secrets.token_hex(4)
    _, a = await named_bot(portal, f"Alpha {tag}")
    _, b = await named_bot(portal, f"beta-{tag}-x")
    user = await portal.login("user")
    found = await user.client.call("GET", f"{BOTS}/search", params={"q": tag.upper()})
    assert [x["id"] for x in found["bots"]] == [a["id"], b["id"]]
    assert found["total"] == 2 and found["limit"] == 25 and found["offset"] == 0
    assert all(set(x) == PUBLIC_KEYS for x in found["bots"])
    by_id = await user.client.call("GET", f"{BOTS}/search", params={"q": str(b["id"])})
    assert b["id"] in [x["id"] for x in by_id["bots"]]
    paged = await user.client.call("GET", f"{BOTS}/search", params={"q": tag, "limit": 1, "offset": 1})
    assert [x["id"] for x in paged["bots"]] == [b["id"]] and paged["total"] == 2
    assert paged["limit"] == 1 and paged["offset"] == 1
    like = await user.client.call("GET", f"{BOTS}/search", params={"q": "%"})
    assert all("%" in x["name"] for x in like["bots"])


async def test_search_filters_owner_and_type(portal: Portal) -> None:
    tag = secrets.token_hex(4)
    owner = await portal.create_user()
    _, mine = await named_bot(portal, f"Own {tag}", owner_id=owner["id"])
    _, other = await named_bot(portal, f"Other {tag}")
    await portal.container.bot_admin.update(other["id"], AdminBotUpdateIn(bot_type="official"), actor=None)
    user = await portal.login("user")
    by_owner = await user.client.call("GET", f"{BOTS}/search", params={"q": tag, "owner": owner["id"]})
    assert [x["id"] for x in by_owner["bots"]] == [mine["id"]]
    official = await user.client.call("GET", f"{BOTS}/search", params={"q": tag, "bot_type": 1})
    assert [x["id"] for x in official["bots"]] == [other["id"]]
    assert official["bots"][0]["is_verified"] is True
    no_q = await user.client.call("GET", f"{BOTS}/search", params={"owner": owner["id"]})
    assert [x["id"] for x in no_q["bots"]] == [mine["id"]]


async def test_search_admins_see_private_objects_and_inactive_bots(portal: Portal) -> None:
    tag = secrets.token_hex(4)
    _, active = await named_bot(portal, f"On {tag}")
    _, inactive = await named_bot(portal, f"Off {tag}")
    await set_active(portal, inactive["id"], False)
    user = await portal.login("user")
    seen = await user.client.call("GET", f"{BOTS}/search", params={"q": tag})
    assert [x["id"] for x in seen["bots"]] == [active["id"]] and seen["total"] == 1
    admin = await portal.login("admin")
    seen = await admin.client.call("GET", f"{BOTS}/search", params={"q": tag})
    assert [x["id"] for x in seen["bots"]] == [active["id"], inactive["id"]]
    assert all(set(x) == PRIVATE_KEYS for x in seen["bots"])


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"q": "x" * 51}, "q must be at most 50 characters"),
        ({"bot_type": 0}, "bot_type must be between 1 and 3"),
        ({"bot_type": 4}, "bot_type must be between 1 and 3"),
        ({"offset": 10001}, "offset must be between 0 and 10000"),
        ({"offset": -1}, "offset must be between 0 and 10000"),
        ({"limit": 0}, "limit must be between 1 and 100"),
        ({"limit": 101}, "limit must be between 1 and 100"),
        ({"owner": "me"}, "owner must be an integer"),
    ],
)
async def test_search_bad_queries(portal: Portal, params: dict[str, object], error: str) -> None:
    user = await portal.login("user")
    await expect_error(user.client.call("GET", f"{BOTS}/search", params=params), 400, error)


async def test_search_edges_are_accepted(portal: Portal) -> None:
    user = await portal.login("user")
    for params in ({"q": "x" * 50}, {"offset": 10000}, {"limit": 100}, {"limit": 1}, {"bot_type": 3}):
        await user.client.call("GET", f"{BOTS}/search", params=params)


async def test_search_needs_a_registered_session(portal: Portal) -> None:
    await expect_error(portal.client().call("GET", f"{BOTS}/search"), 401, "Authentication required")
    stranger = await portal.stranger()
    await expect_error(stranger.client.call("GET", f"{BOTS}/search"), 403, "Access denied")
