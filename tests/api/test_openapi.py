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
