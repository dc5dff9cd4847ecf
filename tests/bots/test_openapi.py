"""The bot endpoints at /docs: every one listed with the error envelope, an answer example and, for bodies,
a request example; the limits the server enforces show as JSON Schema keywords."""

from __future__ import annotations

from tests.api.test_openapi import _has_example
from tests.helpers import Portal

BOT_ENDPOINTS = [
    ("get", "/v1/bots"),
    ("get", "/v1/bots/search"),
    ("get", "/v1/bots/{bot_id}"),
    ("get", "/v1/bot/me"),
    ("post", "/v1/bot/me/update"),
    ("post", "/v1/bot/batch"),
    ("get", "/v1/bot/users/{platform}/{platform_user_id}"),
    ("post", "/v1/admin/bots"),
    ("get", "/v1/admin/bots"),
    ("post", "/v1/admin/bots/{bot_id}/update"),
    ("post", "/v1/admin/bots/{bot_id}/regenerate-key"),
    ("post", "/v1/admin/bots/{bot_id}/delete"),
    ("post", "/v1/admin/bots/{bot_id}/reset-stats"),
]


async def test_bot_endpoints_are_documented_with_examples(portal: Portal) -> None:
    spec = (await portal.client().raw("GET", "/openapi.json")).json()
    for method, path in BOT_ENDPOINTS:
        operation = spec["paths"][path][method]
        assert operation["operationId"], path
        unauthorized = operation["responses"]["401"]["content"]["application/json"]
        assert unauthorized["schema"]["$ref"].endswith("/ErrorBody"), path
        media = operation["responses"]["200"]["content"]["application/json"]
        assert _has_example(spec, media) or "anyOf" in media["schema"], path
        if "requestBody" in operation:
            assert operation["requestBody"]["content"]["application/json"].get("examples"), path


async def test_bot_limits_are_in_the_schema(portal: Portal) -> None:
    spec = (await portal.client().raw("GET", "/openapi.json")).json()
    schemas = spec["components"]["schemas"]
    latency = schemas["BotSelfUpdateIn"]["properties"]["latency_ms"]["anyOf"][0]
    assert (latency["minimum"], latency["maximum"]) == (0, 10000)
    commands = schemas["BatchIn"]["properties"]["commands"]
    assert (commands["minItems"], commands["maxItems"]) == (1, 1000)
    name = schemas["RegisterBotIn"]["properties"]["name"]
    assert (name["minLength"], name["maxLength"]) == (2, 32)
    rate = schemas["RegisterBotIn"]["properties"]["rate_limit_per_hour"]
    assert (rate["minimum"], rate["maximum"]) == (1, 100000)
    search = {p["name"]: p["schema"] for p in spec["paths"]["/v1/bots/search"]["get"]["parameters"]}
    assert search["limit"]["maximum"] == 100 and search["offset"]["maximum"] == 10000
