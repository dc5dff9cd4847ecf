"""`/v1/authentication/lookup|request|verify|logout|stranger`.

Spec: 00 §3.3, §3.4; 01 §4; 08 §4, §6, §32, §51, §56, §57.
"""

from __future__ import annotations

import asyncio
import re
import secrets
from datetime import timedelta

import pytest

from portal.client import PortalAPIError
from tests.api.auth_support import (
    AUTH,
    CODE_RE,
    LOGIN_CODE_TTL,
    NO_CODE,
    assert_around,
    cookie,
    flip_case,
    notifications_of,
    open_sessions_of,
    set_link_avatar,
    user_row,
    users_linked_to,
    verify_raw,
    web_code,
)
from tests.helpers import (
    DAY,
    Portal,
    expect_error,
    identity_of,
    link_platform,
    set_user_state,
    unique_name,
    unique_platform_id,
)
from tests.helpers import parse_time as when
from tests.servers import fresh_ip

# ---- lookup ---------------------------------------------------------------------------------------------


async def test_lookup_answers_the_login_options_of_a_user(portal: Portal) -> None:
    user = await portal.create_user("admin")
    await portal.container.subscriptions.grant(actor=None, user_id=user["id"], tier=2, duration_days=30)
    discord_id = user["linked_platforms"][0]["platform_user_id"]
    telegram_id = unique_platform_id()
    await link_platform(
        portal, user["id"], "telegram", platform_user_id=telegram_id, platform_username="second"
    )
    await set_link_avatar(portal, user["id"], "discord", "https://cdn.example/a.png")

    found = await portal.client().lookup(user["username"])

    assert found == {
        "id": user["id"],
        "username": user["username"],
        "avatar_url": "https://cdn.example/a.png",
        "permission_level": 2,
        "subscription_tier": 2,
        "platforms": [
            {"platform": "discord", "platform_user_id": discord_id},
            {"platform": "telegram", "platform_user_id": telegram_id},
        ],
    }


async def test_lookup_of_a_plain_user_has_no_avatar_and_basic_tier(portal: Portal) -> None:
    user = await portal.create_user()
    found = await portal.client().lookup(user["username"])
    assert found["avatar_url"] is None
    assert found["permission_level"] == 0
    assert found["subscription_tier"] == 0
    assert len(found["platforms"]) == 1


async def test_lookup_ignores_username_case(portal: Portal) -> None:
    name = "MixedCase" + unique_name("x")
    user = await portal.create_user(username=name)
    client = portal.client()
    for spelling in (name.lower(), name.upper(), name):
        found = await client.lookup(spelling)
        assert found["id"] == user["id"]
        assert found["username"] == name


async def test_lookup_of_unknown_user_is_404(portal: Portal) -> None:
    await expect_error(portal.client().lookup("nobody_" + unique_name()), 404, "User not found")


async def test_lookup_never_finds_strangers(portal: Portal) -> None:
    """08 §32: strangers never appear in lookup."""
    stranger = await portal.stranger()
    await expect_error(portal.client().lookup(stranger.user["username"]), 404, "User not found")


@pytest.mark.parametrize(
    ("username", "error"),
    [
        ("ab", "username must be at least 3 characters"),
        ("", "username must be at least 3 characters"),
        ("a" * 33, "username must be at most 32 characters"),
        ("bad name", "username contains invalid characters"),
        ("bad/name", "username contains invalid characters"),
        ("bäd", "username contains invalid characters"),
        ("a!", "username must be at least 3 characters"),
        (5, "username must be a string"),
        (None, "username must be a string"),
    ],
)
async def test_lookup_validates_username(portal: Portal, username: object, error: str) -> None:
    client = portal.client()
    await expect_error(client.call("POST", f"{AUTH}/lookup", json={"username": username}), 400, error)


async def test_lookup_finds_usernames_at_the_edges(portal: Portal) -> None:
    """3 and 32 characters and every allowed punctuation mark are valid (01 §4.2)."""
    names = [(unique_name("L") + "x" * 32)[:32], unique_name("a.b-c_D")]
    for _ in range(10):  # a free 3-character name (the database is shared by the whole run)
        candidate = secrets.token_hex(2)[:3]
        try:
            await portal.client().lookup(candidate)
        except PortalAPIError as exc:
            assert exc.status == 404
            names.append(candidate)
            break
    assert len(names) == 3
    for name in names:
        user = await portal.create_user(username=name)
        assert (await portal.client().lookup(name))["id"] == user["id"]


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({}, "username is required"),
        ({"username": "someone", "extra": 1}, "extra is not allowed"),
        ([], "Invalid request"),
        ("someone", "Invalid request"),
    ],
)
async def test_lookup_rejects_bad_bodies(portal: Portal, body: object, error: str) -> None:
    await expect_error(portal.client().call("POST", f"{AUTH}/lookup", json=body), 400, error)


async def test_broken_json_is_invalid_request(portal: Portal) -> None:
    client = portal.client()
    for path in ("lookup", "request", "verify"):
        response = await client.raw(
            "POST", f"{AUTH}/{path}", content=b'{"username": ', headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 400, response.text
        assert response.json()["error"] == "Invalid request"


async def test_oversized_bodies_are_refused(portal: Portal) -> None:
    """08 §7, with and without a Content-Length (a streamed body is counted as it arrives)."""
    client = portal.client()
    big = b'{"username": "' + b"a" * (1024 * 1024) + b'"}'

    async def streamed():
        for start in range(0, len(big), 65536):
            yield big[start : start + 65536]

    for content in (big, streamed()):
        response = await client.raw(
            "POST", f"{AUTH}/lookup", content=content, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 413, response.text
        assert response.json()["error"] == "Request body too large"


@pytest.mark.parametrize("api_key", [None, "", "wrong-key", "hbot_" + "x" * 32])
async def test_lookup_requires_the_public_key(portal: Portal, api_key: str | None) -> None:
    user = await portal.create_user()
    client = portal.client(api_key=None)
    headers = {"X-API-Key": api_key} if api_key is not None else {}
    await expect_error(
        client.call("POST", f"{AUTH}/lookup", json={"username": user["username"]}, headers=headers),
        401,
        "Invalid API key",
    )


async def test_a_bot_key_is_not_the_public_key(portal: Portal) -> None:
    owner = await portal.create_user()
    issued = await portal.container.bots.register(
        actor=None, name="Key Bot", owner_id=owner["id"], platform="discord"
    )
    client = portal.client(api_key=issued.api_key)
    await expect_error(client.lookup(owner["username"]), 401, "Invalid API key")
    await expect_error(client.request_code("discord", unique_platform_id()), 401, "Invalid API key")
    await expect_error(client.stranger(), 401, "Invalid API key")


# ---- check order (08 §4) --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("lookup", {"username": "a"}),
        ("lookup", {"nope": 1}),
        ("request", {"platform": "Discord!"}),
        ("verify", {"code": "short"}),
        ("verify", []),
    ],
)
async def test_missing_key_is_reported_before_a_bad_body(portal: Portal, path: str, body: object) -> None:
    client = portal.client(api_key=None)
    await expect_error(client.call("POST", f"{AUTH}/{path}", json=body), 401, "Invalid API key")


@pytest.mark.parametrize("path", ["lookup", "request", "verify", "stranger"])
async def test_missing_key_is_reported_before_broken_json(portal: Portal, path: str) -> None:
    """08 §4: 401 comes before any 400, a body that is not JSON included."""
    client = portal.client(api_key=None)
    response = await client.raw(
        "POST", f"{AUTH}/{path}", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 401, response.text
    assert response.json()["error"] == "Invalid API key"


async def test_logout_without_session_is_401_before_a_broken_body(portal: Portal) -> None:
    response = await portal.client().raw(
        "POST", f"{AUTH}/logout", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 401, response.text
    assert response.json()["error"] == "Authentication required"


async def test_cookie_endpoints_report_401_before_broken_json(portal: Portal) -> None:
    response = await portal.client().raw(
        "POST", "/v1/users/me/update", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 401, response.text
    assert response.json()["error"] == "Authentication required"


# ---- request --------------------------------------------------------------------------------------------


async def test_request_answers_message_and_a_ten_minute_expiry(portal: Portal) -> None:
    client = portal.client()
    before = portal.server.clock.now()
    answer = await client.request_code("discord", unique_platform_id())
    after = portal.server.clock.now()
    assert set(answer) == {"message", "expires_at"}
    assert answer["message"] == "Login code generated."
    assert_around(answer["expires_at"], before, after, LOGIN_CODE_TTL)


async def test_request_works_for_new_and_existing_identities(portal: Portal) -> None:
    user = await portal.create_user()
    client = portal.client()
    assert (await client.request_code(*identity_of(user)))["message"] == "Login code generated."
    assert (await client.request_code("telegram", unique_platform_id()))["message"] == "Login code generated."


async def test_at_most_five_pending_codes_per_ip(portal: Portal) -> None:
    """00 §3.3: the 6th pending code of one IP is refused until codes expire."""
    client = portal.client()
    for _ in range(5):
        await client.request_code("discord", unique_platform_id())
    error = await expect_error(
        client.request_code("discord", unique_platform_id()), 429, "Too many pending login codes"
    )
    retry_after = int(error.headers["retry-after"])
    assert 590 <= retry_after <= LOGIN_CODE_TTL
    # Another IP has its own budget.
    await portal.client().request_code("discord", unique_platform_id())
    # Once the codes have expired the IP may ask again.
    portal.server.clock.advance(LOGIN_CODE_TTL + 1)
    await client.request_code("discord", unique_platform_id())


async def test_a_refused_request_does_not_create_a_code(portal: Portal) -> None:
    client = portal.client()
    for _ in range(5):
        await client.request_code("discord", unique_platform_id())
    refused = unique_platform_id()
    await expect_error(client.request_code("discord", refused), 429, "Too many pending login codes")
    bot = await portal.default_bot()
    assert await bot.login_code("discord", refused, "tester") == NO_CODE


async def test_a_verified_code_no_longer_counts_as_pending(portal: Portal) -> None:
    client = portal.client()
    first_identity = unique_platform_id()
    code = await web_code(portal, client, "discord", first_identity)
    for _ in range(4):
        await client.request_code("discord", unique_platform_id())
    await expect_error(
        client.request_code("discord", unique_platform_id()), 429, "Too many pending login codes"
    )
    await client.verify(code)
    await client.request_code("discord", unique_platform_id())


async def test_a_new_request_cancels_the_older_code_of_the_identity(portal: Portal) -> None:
    """08 §56: the older web code stops working and stops counting toward the 5 per IP."""
    client = portal.client()
    identity = unique_platform_id()
    old = await web_code(portal, client, "discord", identity)
    for _ in range(4):
        await client.request_code("discord", unique_platform_id())
    # Five pending now; asking again for the same identity replaces its code instead of adding one.
    new = await web_code(portal, client, "discord", identity)
    assert new != old
    await expect_error(
        client.request_code("discord", unique_platform_id()), 429, "Too many pending login codes"
    )
    await expect_error(client.verify(old), 401, "Invalid or expired code")
    verified = await client.verify(new)
    assert verified["user_created"] is True


async def test_a_request_from_another_ip_does_not_end_the_users_code(portal: Portal) -> None:
    """08 §64: only a request from the same IP cancels; a stranger's request cannot lock a user out."""
    identity = unique_platform_id()
    user, stranger = portal.client(), portal.client()
    own = await web_code(portal, user, "discord", identity)
    portal.server.clock.advance(1)
    other = await web_code(portal, stranger, "discord", identity)
    assert other != own
    assert (await user.verify(own))["user_created"] is True
    # The other IP's code is still pending (and bound to its own IP).
    await expect_error(user.verify(other), 401, "Invalid or expired code")
    bot = await portal.default_bot()
    assert [p["code"] for p in (await bot.login_code("discord", identity, "tester"))["pending"]] == [other]


async def test_a_refused_request_leaves_the_older_code_of_the_identity_alone(portal: Portal) -> None:
    identity = unique_platform_id()
    owner_client = portal.client()
    code = await web_code(portal, owner_client, "discord", identity)
    busy = portal.client()
    for _ in range(5):
        await busy.request_code("discord", unique_platform_id())
    await expect_error(busy.request_code("discord", identity), 429, "Too many pending login codes")
    assert (await owner_client.verify(code))["user_created"] is True


async def test_concurrent_requests_from_one_ip_respect_the_pending_limit(portal: Portal) -> None:
    ip = "10.250.1.1"
    clients = [portal.client(ip=ip) for _ in range(7)]
    results = await asyncio.gather(
        *(c.request_code("discord", unique_platform_id()) for c in clients), return_exceptions=True
    )
    ok = [r for r in results if isinstance(r, dict)]
    refused = [r for r in results if isinstance(r, PortalAPIError)]
    assert len(ok) == 5, results
    assert len(refused) == 2
    assert all(r.status == 429 and r.error == "Too many pending login codes" for r in refused)


@pytest.mark.parametrize("platform", ["ab", "a" * 32, "telegram", "my_platform2", "x_"])
async def test_request_accepts_platform_names(portal: Portal, platform: str) -> None:
    """08 §51: `^[a-z][a-z0-9_]{1,31}$`."""
    answer = await portal.client().request_code(platform, unique_platform_id())
    assert answer["message"] == "Login code generated."


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"platform": "a", "platform_user_id": "1"}, "platform must be at least 2 characters"),
        ({"platform": "a" * 33, "platform_user_id": "1"}, "platform must be at most 32 characters"),
        ({"platform": "Discord", "platform_user_id": "1"}, "platform contains invalid characters"),
        ({"platform": "1discord", "platform_user_id": "1"}, "platform contains invalid characters"),
        ({"platform": "_discord", "platform_user_id": "1"}, "platform contains invalid characters"),
        ({"platform": "dis-cord", "platform_user_id": "1"}, "platform contains invalid characters"),
        ({"platform": 7, "platform_user_id": "1"}, "platform must be a string"),
        ({"platform_user_id": "1"}, "platform is required"),
        ({"platform": "discord"}, "platform_user_id is required"),
        ({"platform": "discord", "platform_user_id": 123}, "platform_user_id must be a string"),
        ({"platform": "discord", "platform_user_id": ""}, "platform_user_id must be at least 1 character"),
        ({"platform": "discord", "platform_user_id": "1", "ip": "x"}, "ip is not allowed"),
        ({}, "platform is required"),
    ],
)
async def test_request_validates_its_body(portal: Portal, body: dict[str, object], error: str) -> None:
    await expect_error(portal.client().call("POST", f"{AUTH}/request", json=body), 400, error)


async def test_request_with_an_empty_body_names_the_first_field(portal: Portal) -> None:
    await expect_error(portal.client().call("POST", f"{AUTH}/request"), 400, "platform is required")


@pytest.mark.parametrize(("state", "hours"), [(1, 1), (2, None)])
async def test_request_for_a_restricted_account_still_answers_200(
    portal: Portal, state: int, hours: int | None
) -> None:
    """08 §51: nothing leaks at request; verify refuses."""
    user = await portal.create_user()
    expires = portal.server.clock.now() + timedelta(hours=hours) if hours else None
    await set_user_state(portal, user["id"], state, expires)
    client = portal.client()
    answer = await client.request_code(*identity_of(user))
    assert answer["message"] == "Login code generated."
    code = (await (await portal.default_bot()).login_code(*identity_of(user), "tester"))["code"]
    await expect_error(client.verify(code), 403, "Account restricted")


# ---- verify ---------------------------------------------------------------------------------------------


async def test_verify_of_a_new_identity_creates_the_account(portal: Portal) -> None:
    client = portal.client()
    identity = unique_platform_id()
    avatar = "https://cdn.example/new.png"
    code = await web_code(
        portal, client, "discord", identity, platform_username="NewPerson", platform_avatar_url=avatar
    )
    before = portal.server.clock.now()
    response = await verify_raw(client, code)
    assert response.status_code == 200, response.text
    body = response.json()

    assert body["user_created"] is True
    assert re.fullmatch(r"user_[0-9a-f]{8}", body["username"]), body["username"]
    assert body["permission_level"] == 0
    assert body["state"] == 0 and isinstance(body["state"], int)
    assert body["subscription_level"] == body["subscription_tier"] == 0
    assert body["subscription_expires_at"] is None
    assert body["avatar_url"] == avatar
    [link] = body["linked_platforms"]
    assert link["platform"] == "discord"
    assert link["platform_user_id"] == identity
    assert link["platform_username"] == "NewPerson"
    assert link["platform_avatar_url"] == avatar
    assert when(link["last_authenticated_at"]) >= before
    # The answer is the /v1/users/me object plus the two login fields.
    me = await client.me()
    assert {k: v for k, v in body.items() if k not in ("user_created", "subscription_level")} == me
    # The account is findable by its generated name and has the welcome notification.
    assert (await portal.client().lookup(body["username"]))["id"] == body["id"]
    notes = await notifications_of(portal, body["id"])
    assert [n.title for n in notes] == ["Welcome to Portal"]
    assert notes[0].read_at is None


async def test_signup_takes_the_latest_bot_report(portal: Portal) -> None:
    """00 §3.3: the new identity's name and avatar are what the bot last reported at login-code."""
    client = portal.client()
    identity = unique_platform_id()
    await client.request_code("discord", identity)
    bot = await portal.default_bot()
    first = await bot.login_code("discord", identity, "Before", "https://cdn.example/before.png")
    again = await bot.login_code("discord", identity, "After", None)
    assert again == first
    body = await client.verify(first["code"])
    [link] = body["linked_platforms"]
    assert (link["platform_username"], link["platform_avatar_url"]) == ("After", None)
    assert body["avatar_url"] is None


async def test_verify_of_an_existing_identity_signs_in(portal: Portal) -> None:
    user = await portal.create_user("moderator")
    await portal.container.subscriptions.grant(actor=None, user_id=user["id"], tier=2, duration_days=30)
    client = portal.client()
    code = await web_code(portal, client, *identity_of(user))
    body = await client.verify(code)
    assert body["user_created"] is False
    assert body["id"] == user["id"]
    assert body["username"] == user["username"]
    assert body["permission_level"] == 1
    assert body["subscription_level"] == body["subscription_tier"] == 2
    assert body["subscription_expires_at"] is not None
    assert (await client.me())["id"] == user["id"]
    # No second welcome.
    assert len(await notifications_of(portal, user["id"])) == 1


@pytest.mark.parametrize(
    ("level", "max_age"),
    [("user", 30 * DAY), ("moderator", 30 * DAY), ("admin", DAY), ("owner", DAY)],
)
async def test_verify_sets_the_session_cookie(portal: Portal, level: str, max_age: int) -> None:
    """00 §3.3: HttpOnly, SameSite=Lax, Path=/, Max-Age = TTL; no Secure on plain http by default."""
    user = await portal.create_user(level)
    client = portal.client()
    code = await web_code(portal, client, *identity_of(user))
    response = await verify_raw(client, code)
    assert response.status_code == 200, response.text
    token, attributes = cookie(response)
    assert len(token) >= 43 and re.fullmatch(r"[A-Za-z0-9_-]+", token)
    assert "httponly" in attributes
    assert attributes["samesite"].lower() == "lax"
    assert attributes["path"] == "/"
    assert int(attributes["max-age"]) == max_age
    assert "secure" not in attributes
    assert "domain" not in attributes
    sessions = await client.sessions()
    [current] = sessions["sessions"]
    assert current["token_suffix"] == token[-6:]
    assert when(current["expires_at"]) - when(current["created_at"]) == timedelta(seconds=max_age)


async def test_a_code_is_single_use(portal: Portal) -> None:
    client = portal.client()
    code = await web_code(portal, client, "discord", unique_platform_id())
    first = await client.verify(code)
    await expect_error(client.verify(code), 401, "Invalid or expired code")
    await expect_error(portal.client(ip=None).verify(code), 401, "Invalid or expired code")
    assert await open_sessions_of(portal, first["id"]) == 1


async def test_a_code_lives_ten_minutes(portal: Portal) -> None:
    client = portal.client()
    early = await web_code(portal, client, "discord", unique_platform_id())
    # The test clock runs on from real time: a few seconds' margin keeps a loaded machine's verify in time.
    portal.server.clock.advance(LOGIN_CODE_TTL - 5)
    assert (await client.verify(early))["user_created"] is True

    late_client = portal.client()
    late = await web_code(portal, late_client, "discord", unique_platform_id())
    portal.server.clock.advance(LOGIN_CODE_TTL + 1)
    await expect_error(late_client.verify(late), 401, "Invalid or expired code")


async def test_a_web_code_only_verifies_from_its_ip(portal: Portal) -> None:
    """00 §3.3, 08 §56: another IP gets 401 and the code stays usable for the right IP."""
    client = portal.client()
    code = await web_code(portal, client, "discord", unique_platform_id())
    await expect_error(portal.client().verify(code), 401, "Invalid or expired code")
    assert (await client.verify(code))["user_created"] is True


async def test_codes_are_case_sensitive(portal: Portal) -> None:
    client = portal.client()
    code = await web_code(portal, client, "discord", unique_platform_id())
    await expect_error(client.verify(flip_case(code)), 401, "Invalid or expired code")
    await expect_error(client.verify(code.lower() if code != code.lower() else code.upper()), 401)
    assert (await client.verify(code))["user_created"] is True


async def test_an_unknown_code_is_401(portal: Portal) -> None:
    await expect_error(portal.client().verify("AAAAAAAA"), 401, "Invalid or expired code")


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"code": "A" * 7}, "code must be at least 8 characters"),
        ({"code": "A" * 9}, "code must be at most 8 characters"),
        ({"code": ""}, "code must be at least 8 characters"),
        ({"code": 12345678}, "code must be a string"),
        ({"code": None}, "code must be a string"),
        ({}, "code is required"),
        ({"code": "AAAAAAAA", "remember": True}, "remember is not allowed"),
        (["AAAAAAAA"], "Invalid request"),
    ],
)
async def test_verify_validates_the_code(portal: Portal, body: object, error: str) -> None:
    await expect_error(portal.client().call("POST", f"{AUTH}/verify", json=body), 400, error)


async def test_verify_with_an_empty_body_says_code_is_required(portal: Portal) -> None:
    await expect_error(portal.client().call("POST", f"{AUTH}/verify"), 400, "code is required")


@pytest.mark.parametrize(("state", "hours"), [(1, 2), (2, None), (2, 48)])
async def test_restricted_accounts_cannot_verify(portal: Portal, state: int, hours: int | None) -> None:
    """00 §3.3: timed out (1) and banned (2) users get 403; the code is not consumed."""
    user = await portal.create_user()
    client = portal.client()
    code = await web_code(portal, client, *identity_of(user))
    expires = portal.server.clock.now() + timedelta(hours=hours) if hours else None
    await set_user_state(portal, user["id"], state, expires)

    response = await verify_raw(client, code)
    assert response.status_code == 403, response.text
    assert response.json()["error"] == "Account restricted"
    assert "set-cookie" not in response.headers
    assert await open_sessions_of(portal, user["id"]) == 0

    # Lifted (by hand here): the very same code still works.
    await set_user_state(portal, user["id"], 0, None)
    assert (await client.verify(code))["id"] == user["id"]


@pytest.mark.parametrize("state", [1, 2])
async def test_a_restriction_that_ran_out_lets_the_login_through(portal: Portal, state: int) -> None:
    """00 §3.3: a timeout (or timed ban) lifts itself at its end."""
    user = await portal.create_user()
    client = portal.client()
    code = await web_code(portal, client, *identity_of(user))
    await set_user_state(portal, user["id"], state, portal.server.clock.now() + timedelta(seconds=30))
    await expect_error(client.verify(code), 403, "Account restricted")
    portal.server.clock.advance(31)
    body = await client.verify(code)
    assert body["state"] == 0
    row = await user_row(portal, user["id"])
    assert row.state == 0 and row.state_expires_at is None


@pytest.mark.parametrize("existing", [False, True])
async def test_concurrent_verifies_of_one_code_have_one_winner(portal: Portal, existing: bool) -> None:
    ip = fresh_ip()
    if existing:
        user = await portal.create_user()
        platform, identity = identity_of(user)
    else:
        platform, identity = "discord", unique_platform_id()
    clients = [portal.client(ip=ip) for _ in range(3)]
    code = await web_code(portal, clients[0], platform, identity)

    results = await asyncio.gather(*(c.verify(code) for c in clients), return_exceptions=True)

    winners = [r for r in results if isinstance(r, dict)]
    losers = [r for r in results if not isinstance(r, dict)]
    assert len(winners) == 1, results
    assert winners[0]["user_created"] is (not existing)
    assert all(isinstance(r, PortalAPIError) for r in losers), losers
    assert [(r.status, r.error) for r in losers] == [(401, "Invalid or expired code")] * 2  # type: ignore[union-attr]
    assert await users_linked_to(portal, platform, identity) == 1
    assert await open_sessions_of(portal, winners[0]["id"]) == 1


# ---- logout ---------------------------------------------------------------------------------------------


async def test_logout_ends_the_session_and_clears_the_cookie(portal: Portal) -> None:
    logged = await portal.login()
    token = logged.client.session_token
    assert token
    # Logout needs only the cookie (00 §3.3).
    keyless = portal.client(api_key=None, session=token)
    response = await keyless.raw("POST", f"{AUTH}/logout")
    assert response.status_code == 200, response.text
    assert response.json() == {"message": "Logged out"}
    value, attributes = cookie(response)
    assert value == ""
    assert int(attributes["max-age"]) == 0
    assert attributes["path"] == "/"

    await expect_error(portal.client(session=token).me(), 401, "Authentication required")
    await expect_error(portal.client(session=token).logout(), 401, "Authentication required")
    # The other session of the same user is untouched.
    other = portal.client()
    code = await web_code(portal, other, *identity_of(logged.user))
    await other.verify(code)
    assert (await other.me())["id"] == logged.id


async def test_logout_ends_only_the_current_session(portal: Portal) -> None:
    first = await portal.login()
    second = portal.client()
    await second.verify(await web_code(portal, second, *identity_of(first.user)))
    await first.client.logout()
    assert (await second.me())["id"] == first.id
    assert await open_sessions_of(portal, first.id) == 1


async def test_logout_without_a_session_is_401(portal: Portal) -> None:
    await expect_error(portal.client().logout(), 401, "Authentication required")
    await expect_error(portal.client(session="x" * 43).logout(), 401, "Authentication required")


async def test_logout_from_a_foreign_origin_is_refused(portal: Portal) -> None:
    """00 §3.3: a cookie-authenticated POST with a foreign Origin is refused."""
    logged = await portal.login()
    refused = await logged.client.raw("POST", f"{AUTH}/logout", headers={"Origin": "https://evil.example"})
    assert refused.status_code == 403
    assert refused.json()["error"] == "Origin not allowed"
    assert (await logged.client.me())["id"] == logged.id
    allowed = await logged.client.raw("POST", f"{AUTH}/logout", headers={"Origin": "http://localhost:8080"})
    assert allowed.status_code == 200


# ---- strangers ------------------------------------------------------------------------------------------


async def test_stranger_gets_an_anonymous_day_long_session(portal: Portal) -> None:
    client = portal.client()
    before = portal.server.clock.now()
    response = await client.raw("POST", f"{AUTH}/stranger")
    after = portal.server.clock.now()
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"id", "username", "is_stranger", "expires_at"}
    assert isinstance(body["id"], int)
    assert body["is_stranger"] is True
    assert re.fullmatch(r"[a-z]+-[a-z]+(-\d{4})?", body["username"]), body["username"]
    assert_around(body["expires_at"], before, after, DAY)
    token, attributes = cookie(response)
    assert token == client.session_token
    assert "httponly" in attributes and attributes["samesite"].lower() == "lax"
    assert attributes["path"] == "/" and int(attributes["max-age"]) == DAY

    # 08 §32: strangers are refused outside matchmaking, and invisible to lookup.
    await expect_error(client.me(), 403, "Access denied")
    await expect_error(portal.client().lookup(body["username"]), 404, "User not found")
    # The session ends after 24 h.
    portal.server.clock.advance(DAY + 1)
    await expect_error(client.me(), 401, "Authentication required")


async def test_each_stranger_is_a_new_user(portal: Portal) -> None:
    first, second = await portal.stranger(), await portal.stranger()
    assert first.id != second.id
    assert first.user["username"] != second.user["username"]


async def test_a_stranger_can_log_out(portal: Portal) -> None:
    stranger = await portal.stranger()
    token = stranger.client.session_token
    assert await stranger.client.logout() == {"message": "Logged out"}
    await expect_error(portal.client(session=token).me(), 401, "Authentication required")


@pytest.mark.parametrize("api_key", [None, "wrong"])
async def test_stranger_requires_the_public_key(portal: Portal, api_key: str | None) -> None:
    client = portal.client(api_key=api_key)
    await expect_error(client.stranger(), 401, "Invalid API key")
    assert client.session_token is None


# ---- the LOGIN tier (00 §3.4, 08 §61) -------------------------------------------------------------------


async def test_login_tier_allows_20_requests_a_minute_per_ip(portal: Portal) -> None:
    nobody = {"username": "nobody_" + unique_name()}
    portal.server.clock.advance_to_next(60)
    client = portal.client()
    for i in range(20):
        response = await client.raw("POST", f"{AUTH}/lookup", json=nobody)
        assert response.status_code == 404
        assert response.headers["x-ratelimit-limit"] == "20"
        assert response.headers["x-ratelimit-remaining"] == str(19 - i)
        assert 1 <= int(response.headers["x-ratelimit-reset"]) <= 60

    limited = await client.raw("POST", f"{AUTH}/lookup", json=nobody)
    assert limited.status_code == 429
    assert limited.json()["error"] == "Too many requests"
    assert limited.json()["correlation_id"]
    assert limited.headers["x-ratelimit-limit"] == "20"
    assert limited.headers["x-ratelimit-remaining"] == "0"
    reset = int(limited.headers["x-ratelimit-reset"])
    assert 55 <= reset <= 60
    assert int(limited.headers["retry-after"]) == reset
    # Every LOGIN endpoint shares the budget of the IP.
    for path in ("request", "verify", "stranger", "logout"):
        assert (await client.raw("POST", f"{AUTH}/{path}", json={})).status_code == 429

    # Another IP is not affected.
    assert (await portal.client().raw("POST", f"{AUTH}/lookup", json=nobody)).status_code == 404

    portal.server.clock.advance(reset)
    again = await client.raw("POST", f"{AUTH}/lookup", json=nobody)
    assert again.status_code == 404
    assert again.headers["x-ratelimit-remaining"] == "19"


async def test_rate_limit_headers_on_every_login_endpoint(portal: Portal) -> None:
    logged = await portal.login()
    client = portal.client()
    responses = [
        await client.raw("POST", f"{AUTH}/lookup", json={"username": logged.user["username"]}),
        await client.raw("POST", f"{AUTH}/request", json={"platform": "discord", "platform_user_id": "1"}),
        await client.raw("POST", f"{AUTH}/verify", json={"code": "AAAAAAAA"}),
        await client.raw("POST", f"{AUTH}/stranger"),
        await logged.client.raw("POST", f"{AUTH}/logout"),
    ]
    assert [r.status_code for r in responses] == [200, 200, 401, 200, 200]
    for response in responses:
        assert response.headers["x-ratelimit-limit"] == "20"
        assert "x-ratelimit-remaining" in response.headers
        assert "x-ratelimit-reset" in response.headers


async def test_console_codes_are_logged_when_enabled(
    portal: Portal, caplog: pytest.LogCaptureFixture
) -> None:
    """00 §2 `PORTAL_CONSOLE_CODES`: every newly generated code goes to the log."""
    settings = portal.server.settings
    user = await portal.create_user()
    identity = unique_platform_id()
    previous = settings.console_codes
    settings.console_codes = "on"
    try:
        with caplog.at_level("WARNING", logger="portal.auth"):
            code = await web_code(portal, portal.client(), "discord", identity)
            bot = await portal.default_bot()
            sent = await bot.send_code(*identity_of(user), "tester")
            await bot.send_code(*identity_of(user), "tester")  # the same code: not new, not logged again
    finally:
        settings.console_codes = previous
    lines = [r.getMessage() for r in caplog.records if r.name == "portal.auth"]
    platform, platform_user_id = identity_of(user)
    assert lines == [
        f"login code for discord:{identity}: {code}",
        f"login code for {platform}:{platform_user_id}: {sent['code']}",
    ]


async def test_console_codes_are_off_in_this_configuration(
    portal: Portal, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("DEBUG", logger="portal.auth"):
        await web_code(portal, portal.client(), "discord", unique_platform_id())
    assert not [r for r in caplog.records if "login code for" in r.getMessage()]


async def test_codes_are_eight_alphanumeric_characters(portal: Portal) -> None:
    codes = {await web_code(portal, portal.client(), "discord", unique_platform_id()) for _ in range(5)}
    assert len(codes) == 5
    assert all(CODE_RE.match(code) for code in codes)
