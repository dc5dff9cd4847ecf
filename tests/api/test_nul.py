"""NUL (`\\x00`) in any text parameter answers 400 on both databases (issue 14, "Smaller").

PostgreSQL cannot store or compare NUL in text, and SQLite's LIKE stops at it (`q=%00` matched everyone).
"""

from __future__ import annotations

from tests.helpers import Portal, expect_error, unique_name


async def test_nul_in_the_query_is_400(portal: Portal) -> None:
    me = await portal.login()
    await expect_error(me.client.call("GET", "/v1/users/search?q=%00"), 400, "Invalid request")
    await expect_error(me.client.call("GET", "/v1/users/search?q=ab%00cd"), 400, "Invalid request")


async def test_nul_in_the_path_is_400(portal: Portal) -> None:
    me = await portal.login()
    await expect_error(me.client.call("GET", "/v1/users/profile/ab%00cd"), 400, "Invalid request")


async def test_nul_in_a_body_string_is_400(portal: Portal) -> None:
    owner = await portal.login("admin")
    body = {"name": unique_name("chat") + "\x00x"}
    await expect_error(owner.client.call("POST", "/v1/portal/chats", json=body), 400)
