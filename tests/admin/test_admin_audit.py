"""`GET /v1/admin/audit/logs` (06 §10; 08 §39) and the OpenAPI of the new admin endpoints."""

from __future__ import annotations

from typing import Any

import pytest

from tests.admin.support import post
from tests.helpers import Portal, expect_error, parse_time

LOGS = "/v1/admin/audit/logs"
ITEM_FIELDS = {"id", "entity_type", "entity_id", "actor_id", "event_type", "event_metadata", "created_at"}


async def test_logs_shape_filters_and_newest_first(portal: Portal) -> None:
    admin = await portal.login("admin")
    moderator = await portal.login("moderator")
    target = await portal.create_user()
    await post(moderator, f"/v1/admin/users/{target['id']}/warn", {"reason": "w"})
    await post(admin, f"/v1/admin/users/{target['id']}/ban", {"reason": "b"})
    await post(admin, "/v1/admin/subscriptions/grant", {"user_id": target["id"], "tier": 3})

    page = await moderator.client.call("GET", LOGS, params={"entity_type": "user", "entity_id": target["id"]})
    assert set(page) == {"items", "total", "offset", "limit"}
    assert (page["total"], page["offset"], page["limit"]) == (3, 0, 50)
    assert [i["event_type"] for i in page["items"]] == ["SUBSCRIPTION_GRANT", "USER_BAN", "USER_WARN"]
    first = page["items"][0]
    assert set(first) == ITEM_FIELDS
    assert (first["entity_type"], first["entity_id"], first["actor_id"]) == ("user", target["id"], admin.id)
    assert first["event_metadata"] == {"old_tier": 0, "new_tier": 3, "duration_days": None, "reason": None}
    parse_time(first["created_at"])

    async def events(**params: Any) -> list[str]:
        found = await admin.client.call("GET", LOGS, params={"entity_id": target["id"], **params})
        return [i["event_type"] for i in found["items"]]

    assert await events(event_type="USER_BAN") == ["USER_BAN"]
    assert await events(actor_id=moderator.id) == ["USER_WARN"]
    assert await events(actor_id=admin.id, limit=1) == ["SUBSCRIPTION_GRANT"]
    assert await events(actor_id=admin.id, limit=1, offset=1) == ["USER_BAN"]
    assert await events(entity_type="bot") == []
    assert await events(event_type="NO_SUCH_EVENT") == []
    assert await events(actor_id=10**12) == []


async def test_cli_created_users_show_a_null_actor(portal: Portal) -> None:
    admin = await portal.login("admin")
    created = await portal.create_user("moderator")  # the `users create` action (actor None)
    page = await admin.client.call(
        "GET", LOGS, params={"entity_id": created["id"], "event_type": "PERMISSION_CHANGE"}
    )
    [item] = page["items"]
    assert item["actor_id"] is None and item["event_metadata"] == {"old_level": 0, "new_level": 1}


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"limit": 0}, "limit must be between 1 and 200"),
        ({"limit": 201}, "limit must be between 1 and 200"),
        ({"offset": -1}, "offset must be between 0 and 1000000000"),
        ({"entity_type": "guild"}, "entity_type must be one of: user, chat, bot"),
        ({"entity_id": "x"}, "entity_id must be an integer"),
        ({"actor_id": "x"}, "actor_id must be an integer"),
    ],
)
async def test_bad_queries(portal: Portal, params: dict[str, Any], error: str) -> None:
    moderator = await portal.login("moderator")
    await expect_error(moderator.client.call("GET", LOGS, params=params), 400, error)


async def test_limit_edges_and_gates(portal: Portal) -> None:
    moderator = await portal.login("moderator")
    for limit in (1, 200):
        assert (await moderator.client.call("GET", LOGS, params={"limit": limit}))["limit"] == limit
    await expect_error(portal.client().call("GET", LOGS), 401, "Authentication required")
    await expect_error((await portal.stranger()).client.call("GET", LOGS), 403, "Access denied")
    await expect_error((await portal.login()).client.call("GET", LOGS), 403, "Moderator access required")


NEW_ENDPOINTS = [
    ("post", "/v1/admin/users/{user_id}/permission"),
    ("post", "/v1/admin/users/{user_id}/ban"),
    ("post", "/v1/admin/users/{user_id}/unban"),
    ("post", "/v1/admin/users/{user_id}/timeout"),
    ("post", "/v1/admin/users/{user_id}/warn"),
    ("post", "/v1/admin/subscriptions/grant"),
    ("post", "/v1/admin/subscriptions/revoke"),
    ("get", "/v1/admin/subscriptions/active"),
    ("get", "/v1/admin/punishments/search"),
    ("get", "/v1/admin/audit/logs"),
]


async def test_openapi_documents_the_endpoints_with_examples_and_errors(portal: Portal) -> None:
    spec = (await portal.client().raw("GET", "/openapi.json")).json()
    schemas = spec["components"]["schemas"]
    for method, path in NEW_ENDPOINTS:
        operation = spec["paths"][path][method]
        assert operation["operationId"] and "200" in operation["responses"], path
        assert operation["responses"]["403"]["content"]["application/json"]["schema"]["$ref"].endswith(
            "/ErrorBody"
        )
        media = operation["responses"]["200"]["content"]["application/json"]
        ref = media.get("schema", {}).get("$ref")
        model = schemas[ref.rsplit("/", 1)[-1]] if ref else {}
        fields = model.get("properties", {}).values()
        assert "example" in media or model.get("examples") or any("examples" in f for f in fields), path
        if method == "post":
            body = operation["requestBody"]["content"]["application/json"]
            assert body.get("examples"), path
    ban = schemas["AdminBanIn"]["properties"]["duration"]
    assert (ban["minimum"], ban["maximum"]) == (0, 31_536_000)
    timeout = schemas["AdminTimeoutIn"]["properties"]["duration"]
    assert (timeout["minimum"], timeout["maximum"]) == (60, 2_592_000)
    reason = schemas["AdminReasonIn"]["properties"]["reason"]
    assert (reason["minLength"], reason["maxLength"]) == (1, 500)
