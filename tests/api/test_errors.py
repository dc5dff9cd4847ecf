"""The error envelope and request validation (00 §3.2; 01 §5; 08 §6, §7).

Every non-2xx answer is `{"error", "correlation_id"}` with the same uuid4 in `X-Correlation-ID`;
successes carry the header too. Validation failures are 400 with the first invalid field in plain words,
malformed bodies are "Invalid request", and bodies over 1 MiB are 413. A refused request changes nothing.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

import httpx
import pytest
from pydantic import BaseModel, ValidationError

from portal.container import Container
from portal.schemas.common import (
    DateTimeIn,
    RequestModel,
    Username,
    error_message,
    first_error_message,
    int_range,
    one_of,
    text_length,
)
from tests.helpers import Portal, unique_name
from tests.servers import serving, settings_like

AUTH = "/v1/authentication"
MIB = 1024 * 1024


def assert_envelope(response: httpx.Response, status: int, error: str) -> dict[str, Any]:
    """Exactly `{"error", "correlation_id"}`, a uuid4 id, and the same id in the header."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body == {"error": error, "correlation_id": body.get("correlation_id")}, body
    assert uuid.UUID(body["correlation_id"]).version == 4
    assert response.headers["x-correlation-id"] == body["correlation_id"]
    assert response.headers["content-type"].startswith("application/json")
    return body


# ---- the envelope -------------------------------------------------------------------------------------


async def test_unknown_route_is_404_not_found(portal: Portal) -> None:
    client = portal.client()
    assert_envelope(await client.raw("GET", "/v1/no/such/route"), 404, "Not found")
    assert_envelope(await client.raw("POST", "/nothing-here", json={}), 404, "Not found")


async def test_wrong_method_is_405_method_not_allowed(portal: Portal) -> None:
    client = portal.client()
    assert_envelope(await client.raw("GET", f"{AUTH}/lookup"), 405, "Method not allowed")
    assert_envelope(await client.raw("POST", "/health"), 405, "Method not allowed")


async def test_successes_carry_a_fresh_correlation_id(portal: Portal) -> None:
    client = portal.client()
    first = await client.raw("GET", "/health")
    second = await client.raw("GET", "/health")
    assert first.status_code == second.status_code == 200
    ids = {first.headers["x-correlation-id"], second.headers["x-correlation-id"]}
    assert len(ids) == 2
    assert all(uuid.UUID(value).version == 4 for value in ids)


async def test_each_error_has_its_own_correlation_id(portal: Portal) -> None:
    client = portal.client()
    ids = {
        assert_envelope(await client.raw("GET", "/v1/nope"), 404, "Not found")["correlation_id"]
        for _ in range(3)
    }
    assert len(ids) == 3


async def test_generic_texts_of_the_auth_gates(portal: Portal) -> None:
    """00 §3.2: 401 "Authentication required" / "Invalid API key" in the envelope."""
    assert_envelope(await portal.client().raw("GET", "/v1/users/me"), 401, "Authentication required")
    keyless = portal.client(api_key="not-the-key")
    assert_envelope(
        await keyless.raw("POST", f"{AUTH}/lookup", json={"username": "someone"}), 401, "Invalid API key"
    )


class ExplodingHealth:
    """Stands in for the health service: fails with internals in the message, as a bug would."""

    async def check(self) -> None:
        raise RuntimeError("SELECT secret_column FROM users -- internal detail")


@pytest.fixture
async def exploding_node(portal: Portal) -> AsyncIterator[Any]:
    """A second server on the same backend whose `/health` raises an unexpected exception."""
    container = Container(settings_like(portal.server), clock=portal.server.clock)
    container.health = ExplodingHealth()  # type: ignore[assignment]
    async with serving(container, portal.server.backend, portal.server.clock) as node:
        yield node


async def test_unhandled_exception_is_500_without_internals(
    portal: Portal, exploding_node: Any, caplog: pytest.LogCaptureFixture
) -> None:
    client = portal.client(base_url=exploding_node.base_url)

    with caplog.at_level(logging.ERROR, logger="portal.api"):
        response = await client.raw("GET", "/health")

    body = assert_envelope(response, 500, "Internal server error")
    for leak in ("secret_column", "SELECT", "Traceback", "RuntimeError", "internal detail"):
        assert leak not in response.text
    # The server log has the traceback under the same correlation id (01 §5).
    logged = [r for r in caplog.records if body["correlation_id"] in r.getMessage()]
    assert logged and logged[0].exc_info is not None
    # The server keeps serving.
    assert (await client.raw("GET", "/v1/nope")).status_code == 404


# ---- malformed bodies ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [b"{bad json", b'{"username": "abc",}', b"[1, 2]", b'"a string"', b"null", b"42", b"true", b"\xff\xfe"],
    ids=["broken", "trailing-comma", "array", "string", "null", "number", "boolean", "not-utf8"],
)
async def test_a_body_that_is_not_a_json_object_is_invalid_request(portal: Portal, raw: bytes) -> None:
    client = portal.client()
    response = await client.raw(
        "POST", f"{AUTH}/lookup", content=raw, headers={"Content-Type": "application/json"}
    )
    assert_envelope(response, 400, "Invalid request")


@pytest.mark.parametrize("content_type", [True, False], ids=["json", "no-content-type"])
async def test_an_empty_body_names_the_first_required_field(portal: Portal, content_type: bool) -> None:
    client = portal.client()
    headers = {"Content-Type": "application/json"} if content_type else {}
    for path, field in (("lookup", "username"), ("verify", "code"), ("request", "platform")):
        response = await client.raw("POST", f"{AUTH}/{path}", content=b"", headers=headers)
        assert_envelope(response, 400, f"{field} is required")
    assert_envelope(await client.raw("POST", f"{AUTH}/lookup", json={}), 400, "username is required")


async def test_a_body_without_content_type_is_read_as_json(portal: Portal) -> None:
    user = await portal.create_user()
    client = portal.client()
    request = client.http.build_request(
        "POST", f"{AUTH}/lookup", content=f'{{"username": "{user["username"]}"}}'.encode()
    )
    assert "content-type" not in request.headers
    response = await client.http.send(request)
    assert response.status_code == 200, response.text
    assert response.json()["id"] == user["id"]


async def test_unknown_top_level_field_is_not_allowed(portal: Portal) -> None:
    client = portal.client()
    response = await client.raw("POST", f"{AUTH}/lookup", json={"username": "valid_name", "extra": 1})
    assert_envelope(response, 400, "extra is not allowed")
    response = await client.raw("POST", f"{AUTH}/verify", json={"code_": "ABCDEFGH", "code": "ABCDEFGH"})
    assert_envelope(response, 400, "code_ is not allowed")


async def test_a_refused_update_changes_nothing(portal: Portal) -> None:
    alice = await portal.login()
    new_name = unique_name("n")
    response = await alice.client.raw("POST", "/v1/users/me/update", json={"username": new_name, "bogus": 1})
    assert_envelope(response, 400, "bogus is not allowed")
    response = await alice.client.raw("POST", "/v1/users/me/update", content=b"[1]")
    assert_envelope(response, 400, "Invalid request")
    assert (await alice.client.me())["username"] == alice.user["username"]


# ---- body size (08 §7) --------------------------------------------------------------------------------


def padded(body: bytes, size: int) -> bytes:
    """A JSON body of exactly `size` bytes (trailing whitespace is valid JSON)."""
    assert len(body) <= size
    return body + b" " * (size - len(body))


async def chunks(data: bytes, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def test_a_body_of_exactly_1_mib_is_accepted(portal: Portal) -> None:
    alice = await portal.login()
    new_name = unique_name("m")
    body = padded(f'{{"username": "{new_name}"}}'.encode(), MIB)
    response = await alice.client.raw(
        "POST", "/v1/users/me/update", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["user"]["username"] == new_name


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_a_body_over_1_mib_is_413_and_changes_nothing(portal: Portal, chunked: bool) -> None:
    alice = await portal.login()
    body = padded(f'{{"username": "{unique_name("x")}"}}'.encode(), MIB + 1)
    content: bytes | AsyncIterator[bytes] = chunks(body) if chunked else body
    request = alice.client.http.build_request(
        "POST", "/v1/users/me/update", content=content, headers={"Content-Type": "application/json"}
    )
    assert ("content-length" in request.headers) is not chunked
    assert (request.headers.get("transfer-encoding") == "chunked") is chunked

    response = await alice.client.http.send(request)

    assert_envelope(response, 413, "Request body too large")
    assert (await alice.client.me())["username"] == alice.user["username"]


async def test_a_declared_length_over_1_mib_is_refused_before_routing(portal: Portal) -> None:
    client = portal.client()
    response = await client.raw("POST", "/v1/no/such/route", content=b"x" * (MIB + 1))
    assert_envelope(response, 413, "Request body too large")


# ---- validation messages through real endpoints (08 §6) -----------------------------------------------


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"username": 5}, "username must be a string"),
        ({"username": None}, "username must be a string"),
        ({"username": ["abc"]}, "username must be a string"),
        ({"username": "ab"}, "username must be at least 3 characters"),
        ({"username": "a" * 33}, "username must be at most 32 characters"),
        ({"username": "has space"}, "username contains invalid characters"),
        ({"username": "semi;colon"}, "username contains invalid characters"),
    ],
)
async def test_lookup_validation_messages(portal: Portal, body: dict[str, Any], error: str) -> None:
    assert_envelope(await portal.client().raw("POST", f"{AUTH}/lookup", json=body), 400, error)


async def test_lookup_accepts_the_length_edges(portal: Portal) -> None:
    client = portal.client()
    for name in ("abc", "a" * 32):  # min and max: valid, so the answer is "not found", not a 400
        response = await client.raw("POST", f"{AUTH}/lookup", json={"username": name})
        assert_envelope(response, 404, "User not found")


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"code": 12345678}, "code must be a string"),
        ({"code": "abcdefg"}, "code must be at least 8 characters"),
        ({"code": "abcdefghi"}, "code must be at most 8 characters"),
        ({}, "code is required"),
    ],
)
async def test_verify_validation_messages(portal: Portal, body: dict[str, Any], error: str) -> None:
    assert_envelope(await portal.client().raw("POST", f"{AUTH}/verify", json=body), 400, error)


async def test_the_first_invalid_field_in_documented_order_is_named(portal: Portal) -> None:
    """08 §6: the first field in the model's order, whatever the order of the JSON keys."""
    client = portal.client()
    body = '{"platform_user_id": "", "platform": "X"}'
    response = await client.raw(
        "POST", f"{AUTH}/request", content=body, headers={"Content-Type": "application/json"}
    )
    assert_envelope(response, 400, "platform must be at least 2 characters")


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ("q=ab&limit=abc", "limit must be an integer"),
        ("q=ab&limit=1.5", "limit must be an integer"),
        ("q=ab&limit=", "limit must be an integer"),
        ("q=ab&limit=0", "limit must be between 1 and 100"),
        ("q=ab&limit=101", "limit must be between 1 and 100"),
        ("q=ab&offset=-1", "offset must be between 0 and 1000000000"),
        ("limit=5", "q is required"),
        ("q=" + "a" * 33, "q must be at most 32 characters"),
    ],
)
async def test_search_query_validation_messages(portal: Portal, query: str, error: str) -> None:
    alice = await portal.login()
    assert_envelope(await alice.client.raw("GET", f"/v1/users/search?{query}"), 400, error)


async def test_search_accepts_the_limit_edges(portal: Portal) -> None:
    alice = await portal.login()
    for limit in (1, 100):
        response = await alice.client.raw("GET", f"/v1/users/search?q=zz&limit={limit}")
        assert response.status_code == 200
        assert response.json()["limit"] == limit


# ---- the translator (portal/schemas/common.py) ---------------------------------------------------------


class BrowserConfig(RequestModel):
    browser: Annotated[str, one_of("chromium", "firefox")] = "chromium"
    start_url: str | None
    kiosk: bool = False


class Sample(RequestModel):
    name: Annotated[str, text_length(2, 50)] = "ok"
    count: Annotated[int, int_range(1, 10)] = 1
    enabled: bool = True
    tags: list[str] = []
    kind: Literal["a", "b", "c"] = "a"
    username: Username = "valid"
    browser_config: BrowserConfig | None = None
    starts_at: DateTimeIn | None = None


def message_for(data: Any, model: type[BaseModel] = Sample) -> str:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(data)
    return first_error_message(caught.value.errors())


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": 1}, "name must be a string"),
        ({"name": "a"}, "name must be at least 2 characters"),
        ({"name": "a" * 51}, "name must be at most 50 characters"),
        ({"count": "5"}, "count must be an integer"),
        ({"count": True}, "count must be an integer"),
        ({"count": 1.5}, "count must be an integer"),
        ({"count": 0}, "count must be between 1 and 10"),
        ({"count": 11}, "count must be between 1 and 10"),
        ({"enabled": "yes"}, "enabled must be a boolean"),
        ({"enabled": 1}, "enabled must be a boolean"),
        ({"tags": "x"}, "tags must be a list"),
        ({"kind": "z"}, "kind must be one of: a, b, c"),
        ({"username": "x y z"}, "username contains invalid characters"),
        ({"browser_config": {}}, "browser_config.start_url is required"),
        ({"browser_config": {"start_url": 5}}, "browser_config.start_url must be a string"),
        ({"browser_config": {"start_url": None, "kiosk": "no"}}, "browser_config.kiosk must be a boolean"),
        (
            {"browser_config": {"start_url": None, "browser": "opera"}},
            "browser_config.browser must be one of: chromium, firefox",
        ),
        ({"starts_at": "yesterday"}, "starts_at must be an ISO-8601 date-time"),
        ({"starts_at": 5}, "starts_at must be an ISO-8601 date-time"),
        ({"surprise": 1}, "surprise is not allowed"),
    ],
)
def test_translator_templates(data: dict[str, Any], message: str) -> None:
    assert message_for(data) == message


def test_translator_names_the_first_field_in_model_order() -> None:
    # Input order differs from the model's; the model's order decides (08 §6).
    assert message_for({"enabled": "x", "count": 0, "name": 1}) == "name must be a string"
    assert message_for({"surprise": 1, "count": 0}) == "count must be between 1 and 10"


def test_translator_falls_back_to_invalid_request_without_a_field() -> None:
    assert message_for([1, 2]) == "Invalid request"
    assert first_error_message([]) == "Invalid request"
    assert error_message({"type": "json_invalid", "loc": ("body", 3), "msg": "bad"}) == "Invalid request"


def test_translator_drops_request_locations() -> None:
    error = {"type": "missing", "loc": ("query", "q"), "msg": "Field required"}
    assert error_message(error) == "q is required"
    error = {"type": "string_too_short", "loc": ("body", "cfg", "name"), "ctx": {"min_length": 2}}
    assert error_message(error) == "cfg.name must be at least 2 characters"


def test_request_date_times_are_read_as_utc() -> None:
    parsed = Sample.model_validate({"starts_at": "2026-01-01T02:00:00+02:00"}).starts_at
    assert parsed is not None and parsed.isoformat() == "2026-01-01T00:00:00+00:00"
    naive = Sample.model_validate({"starts_at": "2026-01-01T00:00:00"}).starts_at
    assert naive is not None and naive.utcoffset() is not None and naive.hour == 0
    zulu = Sample.model_validate({"starts_at": "2026-01-01T00:00:00Z"}).starts_at
    assert zulu == parsed
