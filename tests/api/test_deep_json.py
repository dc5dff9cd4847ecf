"""Deeply nested JSON (issue 14 item 2, 08 §67): a request body, a message `content` and a Socket.IO packet
nested deeper than JSON parses safely answer 400 "Invalid request" (an `ERR_BAD_REQUEST` ack), log no
traceback, count against the caller's rate limit, and leave the server serving."""

from __future__ import annotations

import logging

import pytest

from tests.helpers import Portal, expect_error
from tests.messaging.support import messages_path, secure
from tests.sockets import online

DEPTH = 100_000
DEEP_ARRAY = "[" * DEPTH + "]" * DEPTH
DEEP_OBJECT = '{"a":' * DEPTH + "1" + "}" * DEPTH


def no_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    assert [r.getMessage() for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR] == []


@pytest.mark.parametrize("deep", [DEEP_ARRAY, DEEP_OBJECT], ids=["array", "object"])
async def test_a_deep_request_body_is_400_and_counted(
    portal: Portal, deep: str, caplog: pytest.LogCaptureFixture
) -> None:
    client = portal.client()
    with caplog.at_level(logging.WARNING):
        first = await client.raw(
            "POST",
            "/v1/authentication/lookup",
            content=deep.encode(),
            headers={"Content-Type": "application/json"},
        )
        second = await client.raw(
            "POST",
            "/v1/authentication/lookup",
            content=deep.encode(),
            headers={"Content-Type": "application/json"},
        )
    assert (first.status_code, first.json()["error"]) == (400, "Invalid request")
    assert (second.status_code, second.json()["error"]) == (400, "Invalid request")
    remaining = [int(r.headers["x-ratelimit-remaining"]) for r in (first, second)]
    assert remaining[1] == remaining[0] - 1
    no_tracebacks(caplog)
    assert (await client.raw("GET", "/health")).status_code == 200


async def test_a_deep_body_on_a_signed_in_route_is_400(
    portal: Portal, caplog: pytest.LogCaptureFixture
) -> None:
    me = await portal.login()
    with caplog.at_level(logging.WARNING):
        response = await me.client.raw(
            "POST",
            "/v1/portal/keys",
            content=DEEP_OBJECT.encode(),
            headers={"Content-Type": "application/json"},
        )
    assert (response.status_code, response.json()["error"]) == (400, "Invalid request")
    no_tracebacks(caplog)


async def test_a_deep_message_content_is_400_invalid_request(
    portal: Portal, caplog: pytest.LogCaptureFixture
) -> None:
    owner = await portal.login("user", tier=2)
    chat = await portal.public_chat(owner)
    await secure(portal, owner, chat["id"])
    with caplog.at_level(logging.WARNING):
        for content in ("[" * 4000, '{"a":[' * 500 + "]}" * 500):  # within 4096 characters
            await expect_error(
                owner.client.call("POST", messages_path(chat["id"]), json={"content": content}),
                400,
                "Invalid request",
            )
    no_tracebacks(caplog)


async def test_a_deep_socket_packet_is_a_bad_request_and_the_socket_keeps_working(
    portal: Portal, sockets, caplog: pytest.LogCaptureFixture
) -> None:
    me = await portal.login()
    probe = await online(sockets, me.client.session_token)
    answers: list[dict[str, object]] = []
    with caplog.at_level(logging.WARNING):
        for deep in (DEEP_ARRAY, DEEP_OBJECT):
            ack_id = probe.sio._generate_ack_id("/", lambda *data: answers.append(data[0]))
            await probe.sio.eio.send(f'2{ack_id}["room:join",{deep}]')
        await probe.sio.eio.send("2" + DEEP_ARRAY)  # no event name to answer: dropped
        ack = await probe.call("room:join", {"chat_id": 999_999_999})
    assert ack["ok"] is False and ack["error"] == "ERR_NOT_FOUND"
    assert [a["error"] for a in answers] == ["ERR_BAD_REQUEST"] * 2
    no_tracebacks(caplog)
