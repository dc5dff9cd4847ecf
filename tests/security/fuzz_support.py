"""Schemathesis over every operation of `/openapi.json`, as every caller level (tests/security/test_fuzz.py).

The server runs in the test's event loop; the fuzzer (schemathesis, hypothesis and `requests`, all
blocking) runs in a worker thread and asks the loop for fixtures (`World.run`). Each case:

1. is drawn from the operation's schema, in positive or negative mode;
2. may have its path parameters (and the user ids in its body) replaced by fresh fixtures made for that
   case alone, so it reaches past 404 into the endpoint's logic and a destructive operation (delete,
   ban, transfer, regenerate-key …) destroys its own target, never the one the next case needs;
3. is sent over a real socket with the level's credentials and checked: no 5xx (bar the documented
   503 of a VM start on a node without browsers), every 4xx in the error envelope, and the answer
   conforms to the OpenAPI (status code, content type, headers, schema).

After an operation that may end the caller's own session or rights (logout, a level change, a ban …)
the caller is checked and replaced when it no longer works.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import threading
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import CheckContext
from schemathesis.core.transport import Response
from schemathesis.generation.case import Case
from schemathesis.schemas import APIOperation
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from portal.db.models import ChatMember
from tests.helpers import LoggedIn, Portal, unique_name
from tests.servers import fresh_ip

T = TypeVar("T")

LEVELS = ("anonymous", "public_key", "bot_key", "stranger", "user", "moderator", "admin", "owner")
SIGNED_IN = ("user", "moderator", "admin", "owner")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
# The one 5xx the API documents on purpose: a VM start on a node without a browser backend.
ALLOWED_5XX = {503: {"ERR_VM_UNAVAILABLE", "ERR_VM_CAPACITY"}}
# Operations after which the caller may no longer be who it was (its session, level, state or key).
RISKY_PREFIXES = (
    "/v1/authentication/logout",
    "/v1/users/me",
    "/v1/admin/users",
    "/v1/admin/bots",
    "/v1/admin/strangers",
    "/v1/bot/me",
    "/v1/portal/hard-mute",
    "/v1/portal/match",
)
BODY_USER_KEYS = ("user_id", "new_owner_id")


# ---- checks ---------------------------------------------------------------------------------------------


def no_server_error(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """No 5xx, except the documented `ERR_VM_*` 503 of a VM start (no browser backend here)."""
    if response.status_code < 500:
        return None
    error = _json(response).get("error") if isinstance(_json(response), dict) else None
    allowed = ALLOWED_5XX.get(response.status_code, set())
    assert error in allowed, f"server error {response.status_code}: {response.content[:300]!r}"
    return None


def error_envelope(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """Every non-2xx answer is `{"error": <text>, "correlation_id": <uuid4>, ...}`, its uuid also in the
    `X-Correlation-ID` header (docs/decisions.md)."""
    if response.status_code < 400:
        return None
    body = _json(response)
    assert isinstance(body, dict), f"{response.status_code} without a JSON object: {response.content[:200]!r}"
    assert isinstance(body.get("error"), str) and body["error"], f"no error text: {body}"
    assert "detail" not in body, f"a framework error body leaked: {body}"
    correlation = body.get("correlation_id")
    assert isinstance(correlation, str) and UUID.match(correlation), f"no correlation_id: {body}"
    header = response.headers.get("x-correlation-id", [None])[0]
    assert header == correlation, f"X-Correlation-ID {header!r} is not the body's {correlation!r}"
    return None


CHECKS = [
    no_server_error,
    error_envelope,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


def _json(response: Response) -> Any:
    try:
        return json.loads(response.content)
    except ValueError:
        return None


# ---- callers and fixtures -------------------------------------------------------------------------------


@dataclass
class Actor:
    """One caller: its credentials on the wire, and who it is on the server."""

    level: str
    ip: str
    api_key: str | None = None
    session: str | None = None
    user: dict[str, Any] | None = None
    logged_in: LoggedIn | None = None
    bot_id: int | None = None

    @property
    def headers(self) -> dict[str, str]:
        headers = {"X-Forwarded-For": self.ip, "User-Agent": "portal-fuzz/1.0"}
        if self.api_key:
            headers["X-API-Key"] = self.api_key
        return headers

    @property
    def cookies(self) -> dict[str, str]:
        return {"psession": self.session} if self.session else {}

    @property
    def user_id(self) -> int | None:
        return int(self.user["id"]) if self.user else None


@dataclass
class Stats:
    operations: int = 0
    cases: int = 0
    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    reached: set[str] = field(default_factory=set)  # operations that answered a 2xx at least once
    failures: list[str] = field(default_factory=list)


class World:
    """Makes callers and per-case targets on the server's event loop, for the fuzzing thread."""

    def __init__(self, portal: Portal, loop: asyncio.AbstractEventLoop) -> None:
        self.portal = portal
        self.loop = loop
        self.c = portal.container
        self._host: LoggedIn | None = None

    def run(self, coro: Awaitable[T]) -> T:
        assert threading.current_thread() is not threading.main_thread(), "World.run is for the fuzz thread"
        return asyncio.run_coroutine_threadsafe(_as_coroutine(coro), self.loop).result(timeout=120)

    # -- callers

    async def actor(self, level: str) -> Actor:
        ip = fresh_ip()
        public = self.portal.server.public_key
        if level == "anonymous":
            return Actor(level, ip)
        if level == "public_key":
            return Actor(level, ip, api_key=public)
        if level == "bot_key":
            owner = await self.portal.create_user()
            issued = await self.c.bots.register(
                actor=None, name="Fuzz Bot", owner_id=owner["id"], platform="discord"
            )
            return Actor(level, ip, api_key=issued.api_key, bot_id=issued.bot.id)
        if level == "stranger":
            client = self.portal.client(ip=ip)
            who = LoggedIn(client, dict(await client.stranger()))
            return Actor(level, ip, public, client.session_token, who.user, who)
        # Premium, so the signed-in levels may create chats and reach the premium rules.
        who = await self._login(level, ip)
        return Actor(level, ip, public, who.client.session_token, who.user, who)

    def still_works(self, actor: Actor) -> bool:
        if actor.level in ("anonymous", "public_key"):
            return True
        path = "/v1/bot/me" if actor.level == "bot_key" else "/v1/users/me"
        answer = requests.get(
            self.portal.server.base_url + path, headers=actor.headers, cookies=actor.cookies, timeout=30
        )
        if answer.status_code != 200:
            return False
        if actor.level == "bot_key":
            return bool(answer.json().get("is_active", True))
        me = answer.json()
        return bool(me.get("permission_level") == (actor.user or {}).get("permission_level"))

    async def host(self) -> LoggedIn:
        """The owner of the chats a caller does not own itself."""
        if self._host is None:
            self._host = await self._login("user", fresh_ip())
        return self._host

    async def _login(self, level: str, ip: str) -> LoggedIn:
        """A premium user of `level` signed in through the API. The helper's login bot is made anew each
        time: a fuzzed bot id may have hit it (deleted, re-keyed or turned off) since the last login."""
        self.portal._bot = None
        return await self.portal.login(level, tier=2, ip=ip)

    # -- per-case targets

    async def targets(
        self, actor: Actor, operation: APIOperation, owned: bool, body_names_user: bool
    ) -> dict[str, Any]:
        """Fresh values for the operation's path parameters (and body user ids), made for one case."""
        names = set(re.findall(r"{(\w+)}", operation.path))
        if not names and not body_names_user:
            return {}
        target = await self.portal.create_user()
        values: dict[str, Any] = {"user_id": target["id"], "username": target["username"]}
        link = target["linked_platforms"][0]
        values |= {"platform": link["platform"], "platform_user_id": link["platform_user_id"]}
        if names & {"chat_id", "slug", "code"}:
            chat_id, slug, owner = await self._chat(actor, target["id"], owned)
            values |= {"chat_id": chat_id, "slug": slug}
            if "code" in names:
                invite = await owner.client.call("POST", f"/v1/portal/chats/{chat_id}/invites", json={})
                values["code"] = invite["code"]
        if "bot_id" in names:
            issued = await self.c.bots.register(
                actor=None, name="Target Bot", owner_id=target["id"], platform="discord"
            )
            values["bot_id"] = issued.bot.id
        if "token_suffix" in names and actor.logged_in is not None and actor.level != "stranger":
            values["token_suffix"] = await self._second_session(actor)
        if "notification_id" in names and actor.user_id is not None:
            values["notification_id"] = await self._notification(actor.user_id)
        if "announcement_id" in names:
            values["announcement_id"] = await self._announcement()
        return values

    async def _chat(self, actor: Actor, member_id: int, owned: bool) -> tuple[int, str, LoggedIn]:
        """A public group chat with `member_id` in it, owned by the caller (when it can own one and
        `owned`) or by the host with the caller as a member."""
        mine = owned and actor.level in SIGNED_IN and actor.logged_in is not None
        owner = actor.logged_in if mine and actor.logged_in is not None else await self.host()
        now = self.portal.server.clock.now()
        slug = f"fz-{secrets.token_hex(5)}"
        chat = self.c.chats.new_chat(
            name=unique_name("fuzz"),
            owner_id=owner.id,
            visibility="public",
            slug=slug,
            description=None,
            allow_control_requests=True,
            browser_config={"browser": "chromium", "start_url": None, "kiosk": False},
            now=now,
        )
        async with self.c.db.transaction() as session:
            session.add(chat)
            await session.flush()
            members = {member_id} | ({actor.user_id} if actor.user_id and not mine else set())
            for user_id in sorted(members):
                session.add(
                    ChatMember(
                        chat_id=chat.id,
                        user_id=user_id,
                        method=None,
                        invite_code=None,
                        joined_at=now,
                        created_at=now,
                    )
                )
            chat_id = int(chat.id)
        return chat_id, slug, owner

    async def _second_session(self, actor: Actor) -> str:
        """Another session of the caller's own account: the one a session-destroy case may end."""
        assert actor.user is not None
        link = actor.user["linked_platforms"][0]
        # From an address of its own: fuzzed code requests leave pending codes on the caller's address, and
        # five of them there would refuse this sign-in (at most 5 pending codes per IP).
        client = self.portal.client(ip=fresh_ip())
        self.portal._bot = None  # as in `_login`
        await self.portal.web_login(client, link["platform"], link["platform_user_id"])
        token = client.session_token
        assert token is not None
        return token[-6:]

    async def _notification(self, user_id: int) -> int:
        async with self.c.db.transaction() as session:
            row = await self.c.notifications.create(
                session,
                user_id=user_id,
                title="Fuzz",
                body="A notification to read",
                type="info",
                created_by=None,
            )
            await session.flush()
            return int(row.id)

    async def _announcement(self) -> int:
        from portal.schemas.notifications import CreateAnnouncementIn

        made = await self.c.announcements.create(
            CreateAnnouncementIn(title="Fuzz", body="Fuzzing"), actor=None
        )
        return int(made.id)


async def _as_coroutine(awaitable: Awaitable[T]) -> T:
    return await awaitable


# ---- the run --------------------------------------------------------------------------------------------


def load_schema(base_url: str) -> Any:
    return schemathesis.openapi.from_url(base_url + "/openapi.json", timeout=30)


def operations(schema: Any) -> list[APIOperation]:
    found = [result.ok() for result in schema.get_all_operations()]
    return sorted(found, key=lambda op: (op.path, op.method))


def _names_a_user(body: Any) -> bool:
    return isinstance(body, dict) and any(key in body for key in (*BODY_USER_KEYS, "user_ids"))


def _substitute(case: Case, values: dict[str, Any]) -> None:
    params = case.path_parameters or {}
    for name in list(params):
        if name in values:
            params[name] = values[name]
    body = case.body
    if isinstance(body, dict) and values:
        for key in BODY_USER_KEYS:
            if isinstance(body.get(key), int) and not isinstance(body.get(key), bool):
                body[key] = values["user_id"]
        if isinstance(body.get("user_ids"), list):
            body["user_ids"] = [values["user_id"]]
        if isinstance(body.get("chat_id"), int) and "chat_id" in values:
            body["chat_id"] = values["chat_id"]


def fuzz_level(
    world: World,
    base_url: str,
    level: str,
    *,
    examples: int,
    seed: int,
    stats: Stats,
    only: Callable[[APIOperation], bool] | None = None,
) -> None:
    """Every operation of the schema (or those `only` keeps), `examples` cases each, as `level`; runs in
    the fuzzing thread."""
    schema = load_schema(base_url)
    holder = {"actor": world.run(world.actor(level))}
    http = requests.Session()
    for operation in operations(schema):
        if only is None or only(operation):
            _fuzz_operation(
                world, base_url, operation, holder, http, examples=examples, seed=seed, stats=stats
            )


def _fuzz_operation(
    world: World,
    base_url: str,
    operation: APIOperation,
    holder: dict[str, Actor],
    http: requests.Session,
    *,
    examples: int,
    seed: int,
    stats: Stats,
) -> None:
    label = f"{operation.method.upper()} {operation.path}"
    risky = operation.path.startswith(RISKY_PREFIXES)
    cases = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE)
    )

    @settings(
        max_examples=examples,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: every failure is recorded as sent
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
    )
    @given(case=cases, use_fixtures=st.integers(0, 3), owned=st.booleans())
    def run(case: Case, use_fixtures: int, owned: bool) -> None:
        actor = holder["actor"]
        if use_fixtures:  # three in four cases reach past 404 with fresh targets
            wanted = _names_a_user(case.body)
            _substitute(case, world.run(world.targets(actor, operation, owned, wanted)))
        _send(case, actor, http, base_url, label, stats)
        if risky and not world.still_works(actor):
            holder["actor"] = world.run(world.actor(actor.level))

    hypothesis_seed(seed)(run)()


def _send(case: Case, actor: Actor, http: requests.Session, base_url: str, label: str, stats: Stats) -> None:
    stats.cases += 1
    try:
        response = case.call(
            base_url=base_url, session=http, headers=actor.headers, cookies=actor.cookies, timeout=60
        )
    except (requests.RequestException, ValueError) as exc:  # a case requests cannot even send
        stats.failures.append(f"{actor.level} {label}: could not send ({type(exc).__name__}: {exc})")
        return
    stats.requests += 1
    stats.statuses[response.status_code] += 1
    if response.status_code < 300:
        stats.reached.add(label)
    try:
        case.validate_response(response, checks=CHECKS, headers=actor.headers)
    except (Exception, BaseExceptionGroup) as exc:  # schemathesis's FailureGroup of check failures
        detail = str(exc).strip().splitlines()
        summary = " | ".join(line for line in detail[:12] if line.strip())
        stats.failures.append(
            f"{actor.level} {label} -> {response.status_code}: {summary[:900]}\n    {case.as_curl_command()}"
        )


def fuzz_all(
    portal: Portal,
    loop: asyncio.AbstractEventLoop,
    levels: tuple[str, ...],
    *,
    examples: int,
    seed: int,
    only: Callable[[APIOperation], bool] | None = None,
) -> Stats:
    world = World(portal, loop)
    stats = Stats()
    for level in levels:
        fuzz_level(world, portal.server.base_url, level, examples=examples, seed=seed, stats=stats, only=only)
    stats.operations = len(
        [op for op in operations(load_schema(portal.server.base_url)) if only is None or only(op)]
    )
    return stats
