"""The OpenAPI document and the interactive docs are served, with examples (README, DEVELOPERS.md)."""

from __future__ import annotations

from tests.helpers import Portal

DOCUMENTED = [
    ("post", "/v1/authentication/lookup"),
    ("post", "/v1/authentication/request"),
    ("post", "/v1/authentication/verify"),
    ("post", "/v1/authentication/logout"),
    ("post", "/v1/authentication/stranger"),
    ("post", "/v1/authentication/bot/send-code"),
    ("post", "/v1/authentication/bot/login-code"),
    ("get", "/v1/users/me"),
    ("post", "/v1/users/me/update"),
    ("get", "/v1/users/me/sessions"),
    ("post", "/v1/users/me/sessions/{token_suffix}/destroy"),
    ("get", "/v1/users/me/subscription"),
    ("get", "/v1/users/me/punishments"),
    ("get", "/v1/users/me/chats"),
    ("get", "/v1/users/{user_id}"),
    ("get", "/v1/users/profile/{username}"),
    ("get", "/v1/users/search"),
    ("get", "/health"),
    ("get", "/v1/admin/health"),
]


async def test_openapi_lists_every_endpoint_with_error_envelopes_and_examples(portal: Portal) -> None:
    client = portal.client()
    response = await client.raw("GET", "/openapi.json")
    assert response.status_code == 200
    spec = response.json()
    for method, path in DOCUMENTED:
        operation = spec["paths"][path][method]
        assert operation["operationId"], path
        assert "200" in operation["responses"], path
    verify = spec["paths"]["/v1/authentication/verify"]["post"]
    assert verify["responses"]["401"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody")
    user_schema = spec["components"]["schemas"]["UserPublic"]["properties"]
    assert user_schema["username"]["examples"] == ["exampleuser"]


async def test_interactive_docs_page_is_served(portal: Portal) -> None:
    response = await portal.client().raw("GET", "/docs")
    assert response.status_code == 200
    assert "swagger" in response.text.lower()


def _has_example(spec: dict, media: dict) -> bool:
    """An example on the answer itself, on its model, or on one of the model's fields."""
    if "example" in media or "examples" in media:
        return True
    schema = media.get("schema", {})
    ref = schema.get("$ref") or schema.get("items", {}).get("$ref")
    if ref is None:
        return False
    model = spec["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    fields = model.get("properties", {}).values()
    return bool(model.get("examples")) or any("examples" in field for field in fields)


async def test_every_chat_endpoint_answers_with_an_example(portal: Portal) -> None:
    """Issues 3–5: the chat, message, moderation, VM and admin-chat answers show real examples at /docs."""
    spec = (await portal.client().raw("GET", "/openapi.json")).json()
    groups = ("/v1/portal/", "/v1/admin/chats", "/v1/statistics/chats")
    missing = [
        f"{method.upper()} {path}"
        for path, operations in spec["paths"].items()
        if path.startswith(groups)
        for method, operation in operations.items()
        if (media := operation["responses"]["200"].get("content", {}).get("application/json")) is not None
        and not _has_example(spec, media)
    ]
    assert missing == []


async def test_the_limits_the_server_enforces_are_in_the_schema(portal: Portal) -> None:
    """Length, range, pattern, choice and item-count rules show as JSON Schema keywords (for /docs and
    generated clients), while the server keeps its own 08 §6 error texts."""
    spec = (await portal.client().raw("GET", "/openapi.json")).json()
    schemas = spec["components"]["schemas"]
    mute = schemas["MuteIn"]["properties"]["duration"]
    assert (mute["minimum"], mute["maximum"]) == (0, 86400)
    ban = schemas["BanIn"]["properties"]["duration"]
    assert (ban["minimum"], ban["maximum"]) == (0, 2_592_000)
    platform = schemas["CodeRequestIn"]["properties"]["platform"]
    assert (platform["minLength"], platform["maxLength"]) == (2, 32)
    assert platform["pattern"] == "^[a-z][a-z0-9_]{1,31}$"
    ids = schemas["DeleteIdsIn"]["properties"]["ids"]
    assert (ids["minItems"], ids["maxItems"]) == (1, 100)
    search = next(p for p in spec["paths"]["/v1/users/search"]["get"]["parameters"] if p["name"] == "q")
    assert (search["schema"]["minLength"], search["schema"]["maxLength"]) == (1, 32)
    browser = schemas["BrowserConfigIn"]["properties"]["browser"]
    assert browser["enum"] == ["chromium", "firefox", "brave", "tor-browser"]


async def test_a_broken_limit_keeps_the_servers_own_error_text(portal: Portal) -> None:
    alice = await portal.login()
    response = await alice.client.raw("GET", "/v1/users/search", params={"q": "x" * 33})
    assert response.status_code == 400
    assert response.json()["error"] == "q must be at most 32 characters"


async def test_validation_failures_are_documented_as_400_in_the_envelope_never_422(portal: Portal) -> None:
    """The server answers a bad input with 400 in the envelope; the OpenAPI must not promise FastAPI's 422
    `{"detail": [...]}` (a generated client or schemathesis would expect it)."""
    spec = (await portal.client().raw("GET", "/openapi.json")).json()
    takes_input = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            assert "422" not in operation["responses"], f"{method.upper()} {path}"
            if operation.get("parameters") or operation.get("requestBody"):
                takes_input.append((method, path))
                schema = operation["responses"]["400"]["content"]["application/json"]["schema"]
                assert schema["$ref"].endswith("/ErrorBody"), f"{method.upper()} {path}"
    assert len(takes_input) > 50
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    alice = await portal.login()
    response = await alice.client.raw("GET", "/v1/users/profile/" + "x" * 40)
    assert response.status_code in (400, 404)
    assert set(response.json()) == {"error", "correlation_id"}
