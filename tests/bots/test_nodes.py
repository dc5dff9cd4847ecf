"""A regenerated (or deactivated) bot key is refused at once on every node (06 §6.4; 01 §8).

Two nodes on one PostgreSQL database and one Redis; bot keys are checked against the database on every
request, so nothing cached on the other node can let the old key through.
"""

from __future__ import annotations

import pytest

from portal.client import BotClient
from tests.bots.support import ADMIN
from tests.helpers import Portal, expect_error
from tests.servers import fresh_ip, node_like


async def test_old_key_fails_at_once_on_both_nodes(portal: Portal) -> None:
    if portal.server.backend != "postgres":
        pytest.skip("two-node test: NOT RUN on SQLite (one process only); it runs on PostgreSQL + Redis")
    admin = await portal.login("admin")
    owner = await portal.create_user()
    registered = await portal.container.bots.register(
        actor=None, name="Node Bot", owner_id=owner["id"], platform="discord"
    )
    bot = registered.bot.model_dump(mode="json")
    key = portal.bot_client(registered.api_key)
    async with node_like(portal.server) as second:
        old_on_second = BotClient(
            second.base_url, registered.api_key, headers={"X-Forwarded-For": fresh_ip()}
        )
        try:
            # Both nodes have served the old key (anything they might keep is warm).
            assert (await key.call("GET", "/v1/bot/me"))["id"] == bot["id"]
            assert (await old_on_second.call("GET", "/v1/bot/me"))["id"] == bot["id"]
            issued = await admin.client.call("POST", f"{ADMIN}/{bot['id']}/regenerate-key")
            await expect_error(key.call("GET", "/v1/bot/me"), 401, "Invalid API key")
            await expect_error(old_on_second.call("GET", "/v1/bot/me"), 401, "Invalid API key")
            new_on_second = BotClient(
                second.base_url, issued["api_key"], headers={"X-Forwarded-For": fresh_ip()}
            )
            try:
                assert (await new_on_second.call("GET", "/v1/bot/me"))["id"] == bot["id"]
                # Deactivation from the first node is seen by the second at once as well.
                await admin.client.call("POST", f"{ADMIN}/{bot['id']}/update", json={"is_active": False})
                await expect_error(new_on_second.call("GET", "/v1/bot/me"), 401, "Invalid API key")
            finally:
                await new_on_second.close()
        finally:
            await old_on_second.close()
