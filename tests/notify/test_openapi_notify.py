"""The new endpoints are in the OpenAPI document with error envelopes, examples and their limits."""

from __future__ import annotations

from tests.api.test_openapi import _has_example
from tests.helpers import Portal

ENDPOINTS = [
    ("get", "/v1/notifications"),
    ("get", "/v1/notifications/unread-count"),
    ("post", "/v1/notifications/read-all"),
    ("post", "/v1/notifications/{notification_id}/read"),
    ("post", "/v1/admin/notifications"),
    ("post", "/v1/admin/announcements"),
    ("post", "/v1/admin/announcements/{announcement_id}/end"),
    ("get", "/v1/announcements"),
    ("get", "/v1/statistics/users"),
    ("get", "/v1/statistics/bots"),
    ("get", "/v1/statistics/app"),
    ("get", "/v1/statistics/application"),
]


async def test_documented_with_examples_and_limits(portal: Portal) -> None:
    spec = (await portal.client().raw("GET", "/openapi.json")).json()
    for method, path in ENDPOINTS:
        operation = spec["paths"][path][method]
        media = operation["responses"]["200"]["content"]["application/json"]
        assert _has_example(spec, media), path
        assert operation["responses"]["429"]["content"]["application/json"]["schema"]["$ref"].endswith(
            "/ErrorBody"
        )
    read = spec["paths"]["/v1/notifications/{notification_id}/read"]["post"]["responses"]
    assert read["404"]["content"]["application/json"]["example"] == {"error": "ERR_NOTIFICATION_NOT_FOUND"}
    assert read["409"]["content"]["application/json"]["example"] == {"error": "ERR_NOTIFICATION_ALREADY_READ"}

    schemas = spec["components"]["schemas"]
    send = schemas["SendNotificationIn"]["properties"]
    assert (send["title"]["minLength"], send["title"]["maxLength"]) == (1, 100)
    assert (send["body"]["minLength"], send["body"]["maxLength"]) == (1, 2000)
    assert send["type"]["enum"] == ["info", "success", "warning", "error"]
    ids = next(s for s in send["user_ids"]["anyOf"] if s.get("type") == "array")
    assert (ids["minItems"], ids["maxItems"]) == (1, 1000)
    assert schemas["CreateAnnouncementIn"]["properties"]["level"]["enum"] == ["info", "warning", "critical"]
    limit = next(p for p in spec["paths"]["/v1/notifications"]["get"]["parameters"] if p["name"] == "limit")
    assert (limit["schema"]["minimum"], limit["schema"]["maximum"]) == (1, 100)
