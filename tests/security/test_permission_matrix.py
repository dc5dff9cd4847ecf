"""The permission matrix: every HTTP route of the app × every kind of caller, against one table.

The routes come from the running app's OpenAPI document (tests/route_table.py): a route without a row fails
`test_the_matrix_covers_every_route`, and so does a row whose route is gone. Each row states, for each
caller, the answer the contract gives (00 §3.3 and §3.5, 08 §3 and §4, the endpoint pages of 01–06):

  anon      no credentials at all
  key       the app's public API key only (`X-API-Key`), no cookie
  bot       a registered bot's `hbot_` key only
  stranger  a stranger's session cookie (and no key: a cookie never stands in for a key)
  user, mod, admin, owner
            the session cookie of a registered user of that level (User 0 … Owner 3), without a
            subscription

A cell is an exact (status, error) answer. The gate's refusals are the named constants (`NO_AUTH`,
`BAD_KEY`, `DENIED`, `MOD_ONLY`, `ADMIN_ONLY`, `OWNER_ONLY`); any other answer is the endpoint's own
after the gate let the caller through: 200, or a validation, not-found or domain answer. Chat-scoped rows
act on a public chat owned by someone else (a User with a subscription), so the chat rules show too: a
User may see it but not manage it, a Moderator outranks its owner, strangers see only their own direct
chats (tests/strangers/test_access.py covers those).

The SETUP column says how a request that passes the gate is kept from disturbing the other cells:
  READ      nothing changes (reads, or a name or id that does not exist: a 404 after the gate)
  REFUSED   the body is refused by the endpoint's own validation, after the gate
  SAME      the change leaves the row's fixtures as the next cell needs them (idempotent, or additive)
  FRESH     every cell gets its own chat, target user, stranger or bot (destructive routes)
  SESSION   every cell signs in anew: the call ends the caller's session
  NO_VM     the row runs on a node whose browsers are switched off (starting one answers 503 at once)

The full matrix runs on SQLite only: the gates are FastAPI dependencies and pure rules over rows the
services load (docs/architecture.md, "Access"), the same code on either database. A slice with one row of
each kind of gate runs on PostgreSQL + Redis as well. The callers are made once per server and reused while
the test clock has not moved (their sessions last at least a day), which keeps the matrix to a few
requests per cell.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update

from portal.db.models import User
from tests.helpers import LoggedIn, Portal
from tests.route_table import Answer, answer, app_routes
from tests.servers import TestServer, node_like

LEVELS = ("anon", "key", "bot", "stranger", "user", "mod", "admin", "owner")
SESSION_LEVELS = {"user": "user", "mod": "moderator", "admin": "admin", "owner": "owner"}

# ---- the gate's refusals (08 §3, §4) ---------------------------------------------------------------------
NO_AUTH: Answer = (401, "Authentication required")
BAD_KEY: Answer = (401, "Invalid API key")
DENIED: Answer = (403, "Access denied")
MOD_ONLY: Answer = (403, "Moderator access required")
ADMIN_ONLY: Answer = (403, "Admin access required")
OWNER_ONLY: Answer = (403, "Owner access required")

# ---- answers after the gate ----------------------------------------------------------------------------
OK: Answer = (200, None)
PREMIUM: Answer = (403, "ERR_PREMIUM_REQUIRED")
NOT_JOINED: Answer = (403, "ERR_NOT_JOINED")
NO_VM: Answer = (503, "ERR_VM_UNAVAILABLE")
VM_OFF: Answer = (409, "ERR_VM_NOT_RUNNING")
NO_MEMBER: Answer = (404, "Member not found")
NO_INVITE: Answer = (404, "Invite not found")
BAD_INVITE: Answer = (404, "ERR_INVITE_INVALID")
NO_USER: Answer = (404, "User not found")
NO_SESSION: Answer = (404, "Session not found")
NO_NOTE: Answer = (404, "ERR_NOTIFICATION_NOT_FOUND")
NO_NEWS: Answer = (404, "Announcement not found")
NO_CODE: Answer = (401, "Invalid or expired code")
NOT_RUNNING: Answer = (409, "Chat is not running")
NO_DIRECT: Answer = (404, "ERR_MATCH_NO_ACTIVE_DIRECT")

READ, REFUSED, SAME, FRESH, SESSION, NO_VM_NODE = "READ", "REFUSED", "SAME", "FRESH", "SESSION", "NO_VM"


@dataclass(frozen=True)
class Row:
    setup: str
    cells: tuple[Answer, ...]
    body: Any = None
    query: str = ""


def row(setup: str, *cells: Answer, body: Any = None, query: str = "") -> Row:
    assert len(cells) == len(LEVELS)
    return Row(setup, cells, body, query)


# Bodies. "{target}" is a registered user to act on, "{stranger}" a stranger, "{uniq}" a unique word: each
# made for the row, or for each cell on FRESH rows.
CIPHERTEXT = '{"v":2,"epoch":1,"ct":"AAAA"}'
PUBLIC_KEY = "5LQ0uFkd0Qm3sJ4qS0tY3a1m5f3u2s0h3r6p8w9x1z0="
REASON = {"user_id": "{target}", "reason": "matrix"}
TIMED = {"user_id": "{target}", "reason": "matrix", "duration": 60}
IDENTITY = {"platform": "discord", "platform_user_id": "12345678", "platform_username": "tester"}

CHAT = "/v1/portal/chats/{chat_id}"
ADMIN_CHAT = "/v1/admin/chats/{chat_id}"
A, K, B, S = NO_AUTH, BAD_KEY, BAD_KEY, DENIED  # the usual first four cells of a cookie route

# fmt: off
MATRIX: dict[str, Row] = {
    # route                                           setup      anon     key      bot      stranger user     mod      admin    owner  # noqa: E501
    # ---- public: no credentials needed ----
    "GET /health":                                row(READ,    OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK),
    "GET /v1/portal/directory":                   row(READ,    OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK),
    "GET /v1/portal/directory/{slug}":            row(READ,    OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK),
    "GET /v1/announcements":                      row(READ,    OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK),
    # ---- the public key (00 §3.3); a cookie does not replace it ----
    "POST /v1/authentication/lookup":             row(READ,    BAD_KEY, NO_USER, BAD_KEY, BAD_KEY, BAD_KEY, BAD_KEY, BAD_KEY, BAD_KEY,
                                                      body={"username": "nobody-here-at-all"}),
    "POST /v1/authentication/request":            row(SAME,    BAD_KEY, OK,      BAD_KEY, BAD_KEY, BAD_KEY, BAD_KEY, BAD_KEY, BAD_KEY,
                                                      body={"platform": "discord", "platform_user_id": "12345678"}),
    "POST /v1/authentication/verify":             row(READ,    BAD_KEY, NO_CODE, BAD_KEY, BAD_KEY, BAD_KEY, BAD_KEY, BAD_KEY, BAD_KEY,
                                                      body={"code": "AAAAAAAA"}),
    "POST /v1/authentication/stranger":           row(SAME,    BAD_KEY, OK,      BAD_KEY, BAD_KEY, BAD_KEY, BAD_KEY, BAD_KEY, BAD_KEY),
    "GET /v1/bots":                               row(READ,    BAD_KEY, OK,      BAD_KEY, BAD_KEY, BAD_KEY, BAD_KEY, BAD_KEY, BAD_KEY),
    "GET /v1/statistics/chats":                   row(READ,    BAD_KEY, OK,      BAD_KEY, BAD_KEY, BAD_KEY, BAD_KEY, BAD_KEY, BAD_KEY),
    "GET /v1/statistics/users":                   row(READ,    BAD_KEY, OK,      BAD_KEY, BAD_KEY, BAD_KEY, BAD_KEY, BAD_KEY, BAD_KEY),
    "GET /v1/statistics/bots":                    row(READ,    BAD_KEY, OK,      BAD_KEY, BAD_KEY, BAD_KEY, BAD_KEY, BAD_KEY, BAD_KEY),
    "GET /v1/statistics/app":                     row(READ,    BAD_KEY, OK,      BAD_KEY, BAD_KEY, BAD_KEY, BAD_KEY, BAD_KEY, BAD_KEY),
    "GET /v1/statistics/application":             row(READ,    BAD_KEY, OK,      BAD_KEY, BAD_KEY, BAD_KEY, BAD_KEY, BAD_KEY, BAD_KEY),
    # ---- the public key or a session (08 §34) ----
    "GET /v1/users/{user_id}":                    row(READ,    NO_AUTH, OK,      BAD_KEY, OK,      OK,      OK,      OK,      OK),
    "GET /v1/bots/{bot_id}":                      row(READ,    NO_AUTH, OK,      BAD_KEY, OK,      OK,      OK,      OK,      OK),
    # ---- a bot key (06 §5) ----
    "POST /v1/authentication/bot/send-code":      row(REFUSED, BAD_KEY, BAD_KEY, (400, "platform is required"), BAD_KEY, BAD_KEY, BAD_KEY, BAD_KEY, BAD_KEY,  # noqa: E501
                                                      body={}),
    "POST /v1/authentication/bot/login-code":     row(REFUSED, BAD_KEY, BAD_KEY, (400, "platform is required"), BAD_KEY, BAD_KEY, BAD_KEY, BAD_KEY, BAD_KEY,  # noqa: E501
                                                      body={}),
    "GET /v1/bot/me":                             row(READ,    BAD_KEY, BAD_KEY, OK,      BAD_KEY, BAD_KEY, BAD_KEY, BAD_KEY, BAD_KEY),
    "POST /v1/bot/me/update":                     row(SAME,    BAD_KEY, BAD_KEY, OK,      BAD_KEY, BAD_KEY, BAD_KEY, BAD_KEY, BAD_KEY,
                                                      body={}),
    "POST /v1/bot/batch":                         row(SAME,    BAD_KEY, BAD_KEY, OK,      BAD_KEY, BAD_KEY, BAD_KEY, BAD_KEY, BAD_KEY,
                                                      body={"commands": [{"command": "help"}]}),
    "GET /v1/bot/users/{platform}/{platform_user_id}": row(READ, BAD_KEY, BAD_KEY, NO_USER, BAD_KEY, BAD_KEY, BAD_KEY, BAD_KEY, BAD_KEY),
    # ---- any session, strangers included (00 §3.3) ----
    "POST /v1/authentication/logout":             row(SESSION, A,       A,       A,       OK,      OK,      OK,      OK,      OK),
    "POST /v1/portal/keys":                       row(SAME,    A,       A,       A,       OK,      OK,      OK,      OK,      OK,
                                                      body={"public_key": PUBLIC_KEY}),
    "GET /v1/portal/chats":                       row(READ,    A,       A,       A,       OK,      OK,      OK,      OK,      OK),
    f"GET {CHAT}":                                row(READ,    A,       A,       A,       S,       OK,      OK,      OK,      OK),
    f"GET {CHAT}/history":                        row(READ,    A,       A,       A,       S,       OK,      OK,      OK,      OK),
    f"POST {CHAT}/messages":                      row(READ,    A,       A,       A,       S,       NOT_JOINED, NOT_JOINED, NOT_JOINED, NOT_JOINED,  # noqa: E501
                                                      body={"content": CIPHERTEXT}),
    f"POST {CHAT}/messages/delete-mine":          row(SAME,    A,       A,       A,       S,       OK,      OK,      OK,      OK),
    # the match queue: bodies it refuses, so that no caller is queued (and matched with another test's)
    "POST /v1/portal/match":                      row(REFUSED, A,       A,       A,       (400, "interests must contain 1 to 3 items"), (400, "interests must contain 1 to 3 items"), (400, "interests must contain 1 to 3 items"), (400, "interests must contain 1 to 3 items"), (400, "interests must contain 1 to 3 items"),  # noqa: E501
                                                      body={"interests": []}),
    "POST /v1/portal/match/enqueue":              row(REFUSED, A,       A,       A,       (400, "interests must contain 1 to 3 items"), (400, "interests must contain 1 to 3 items"), (400, "interests must contain 1 to 3 items"), (400, "interests must contain 1 to 3 items"), (400, "interests must contain 1 to 3 items"),  # noqa: E501
                                                      body={"interests": []}),
    "GET /v1/portal/match/status":                row(READ,    A,       A,       A,       OK,      OK,      OK,      OK,      OK),
    "POST /v1/portal/match/dequeue":              row(SAME,    A,       A,       A,       OK,      OK,      OK,      OK,      OK),
    "POST /v1/portal/match/leave":                row(READ,    A,       A,       A,       NO_DIRECT, NO_DIRECT, NO_DIRECT, NO_DIRECT, NO_DIRECT),
    # ---- registered users (strangers: 403) ----
    "GET /v1/users/me":                           row(READ,    A,       A,       A,       S,       OK,      OK,      OK,      OK),
    "POST /v1/users/me/update":                   row(SAME,    A,       A,       A,       S,       OK,      OK,      OK,      OK,
                                                      body={}),
    "GET /v1/users/me/sessions":                  row(READ,    A,       A,       A,       S,       OK,      OK,      OK,      OK),
    "POST /v1/users/me/sessions/{token_suffix}/destroy": row(READ, A,     A,       A,       S,       NO_SESSION, NO_SESSION, NO_SESSION, NO_SESSION),  # noqa: E501
    "GET /v1/users/me/subscription":              row(READ,    A,       A,       A,       S,       OK,      OK,      OK,      OK),
    "GET /v1/users/me/punishments":               row(READ,    A,       A,       A,       S,       OK,      OK,      OK,      OK),
    "GET /v1/users/me/chats":                     row(READ,    A,       A,       A,       S,       OK,      OK,      OK,      OK),
    "GET /v1/users/search":                       row(READ,    A,       A,       A,       S,       OK,      OK,      OK,      OK,
                                                      query="q=matrix"),
    "GET /v1/users/profile/{username}":           row(READ,    A,       A,       A,       S,       OK,      OK,      OK,      OK),
    "GET /v1/bots/search":                        row(READ,    A,       A,       A,       S,       OK,      OK,      OK,      OK),
    "GET /v1/notifications":                      row(READ,    A,       A,       A,       S,       OK,      OK,      OK,      OK),
    "GET /v1/notifications/unread-count":         row(READ,    A,       A,       A,       S,       OK,      OK,      OK,      OK),
    "POST /v1/notifications/read-all":            row(SAME,    A,       A,       A,       S,       OK,      OK,      OK,      OK),
    "POST /v1/notifications/{notification_id}/read": row(READ, A,       A,       A,       S,       NO_NOTE, NO_NOTE, NO_NOTE, NO_NOTE),
    "GET /v1/portal/status":                      row(READ,    A,       A,       A,       S,       OK,      OK,      OK,      OK),
    "POST /v1/portal/resolve/{code}":             row(READ,    A,       A,       A,       S,       BAD_INVITE, BAD_INVITE, BAD_INVITE, BAD_INVITE),  # noqa: E501
    # creating a private chat: premium or Admin+ (03 §3.1); these callers have no subscription
    "POST /v1/portal/chats":                      row(SAME,    A,       A,       A,       S,       PREMIUM, PREMIUM, OK,      OK,
                                                      body={"name": "matrix chat"}),
    # ---- one group chat: a public chat owned by a User (00 §3.5, 08 §44–48) ----
    f"GET {CHAT}/members":                        row(READ,    A,       A,       A,       S,       OK,      OK,      OK,      OK),
    f"POST {CHAT}/leave":                         row(READ,    A,       A,       A,       S,       NO_MEMBER, NO_MEMBER, NO_MEMBER, NO_MEMBER),  # noqa: E501
    f"POST {CHAT}/config/update":                 row(SAME,    A,       A,       A,       S,       DENIED,  OK,      OK,      OK,
                                                      body={"locked_controls": True}),
    f"POST {CHAT}/delete":                        row(FRESH,   A,       A,       A,       S,       DENIED,  DENIED,  DENIED,  OK),
    f"POST {CHAT}/start":                         row(NO_VM_NODE, A,    A,       A,       S,       DENIED,  DENIED,  DENIED,  NO_VM),
    f"POST {CHAT}/stop":                          row(READ,    A,       A,       A,       S,       DENIED,  DENIED,  DENIED,  OK),
    f"GET {CHAT}/activity":                       row(READ,    A,       A,       A,       S,       DENIED,  OK,      OK,      OK),
    f"GET {CHAT}/clipboard":                      row(READ,    A,       A,       A,       S,       DENIED,  VM_OFF,  VM_OFF,  VM_OFF),
    f"POST {CHAT}/clipboard/update":              row(READ,    A,       A,       A,       S,       DENIED,  VM_OFF,  VM_OFF,  VM_OFF,
                                                      body={"text": "matrix"}),
    f"GET {CHAT}/screen":                         row(READ,    A,       A,       A,       S,       OK,      OK,      OK,      OK),
    f"POST {CHAT}/screen/update":                 row(SAME,    A,       A,       A,       S,       DENIED,  OK,      OK,      OK,
                                                      body={"width": 1280, "height": 720, "rate": 30}),
    f"GET {CHAT}/screenshot":                     row(READ,    A,       A,       A,       S,       VM_OFF,  VM_OFF,  VM_OFF,  VM_OFF),
    f"POST {CHAT}/invites":                       row(SAME,    A,       A,       A,       S,       DENIED,  OK,      OK,      OK,
                                                      body={}),
    f"GET {CHAT}/invites":                        row(READ,    A,       A,       A,       S,       DENIED,  OK,      OK,      OK),
    f"POST {CHAT}/invites/{{code}}/delete":       row(READ,    A,       A,       A,       S,       DENIED,  NO_INVITE, NO_INVITE, NO_INVITE),  # noqa: E501
    f"POST {CHAT}/messages/delete":               row(SAME,    A,       A,       A,       S,       DENIED,  OK,      OK,      OK,
                                                      body={"ids": ["1-0"]}),
    f"POST {CHAT}/messages/delete-last":          row(SAME,    A,       A,       A,       S,       DENIED,  OK,      OK,      OK,
                                                      body={"count": 1}),
    f"POST {CHAT}/clear":                         row(SAME,    A,       A,       A,       S,       DENIED,  DENIED,  OK,      OK),
    f"POST {CHAT}/kick":                          row(READ,    A,       A,       A,       S,       DENIED,  NO_MEMBER, NO_MEMBER, NO_MEMBER,  # noqa: E501
                                                      body={"user_id": "{target}"}),
    f"POST {CHAT}/mute":                          row(FRESH,   A,       A,       A,       S,       DENIED,  OK,      OK,      OK,
                                                      body={"user_id": "{target}", "duration": 60}),
    f"POST {CHAT}/unmute":                        row(SAME,    A,       A,       A,       S,       DENIED,  OK,      OK,      OK,
                                                      body={"user_id": "{target}"}),
    f"POST {CHAT}/ban":                           row(FRESH,   A,       A,       A,       S,       DENIED,  OK,      OK,      OK,
                                                      body={"user_id": "{target}"}),
    f"POST {CHAT}/unban":                         row(SAME,    A,       A,       A,       S,       DENIED,  OK,      OK,      OK,
                                                      body={"user_id": "{target}"}),
    f"POST {CHAT}/timeout":                       row(FRESH,   A,       A,       A,       S,       DENIED,  OK,      OK,      OK,
                                                      body=TIMED),
    f"POST {CHAT}/warn":                          row(FRESH,   A,       A,       A,       S,       DENIED,  OK,      OK,      OK,
                                                      body=REASON),
    # ---- Moderator+ (08 §37–39; 00 §6 for strangers/block) ----
    "POST /v1/admin/users/{user_id}/timeout":     row(FRESH,   A,       A,       A,       S,       MOD_ONLY, OK,     OK,      OK,
                                                      body={"reason": "matrix", "duration": 60}),
    "POST /v1/admin/users/{user_id}/warn":        row(FRESH,   A,       A,       A,       S,       MOD_ONLY, OK,     OK,      OK,
                                                      body={"reason": "matrix"}),
    "GET /v1/admin/punishments/search":           row(READ,    A,       A,       A,       S,       MOD_ONLY, OK,     OK,      OK),
    "GET /v1/admin/audit/logs":                   row(READ,    A,       A,       A,       S,       MOD_ONLY, OK,     OK,      OK),
    "POST /v1/admin/strangers/block":             row(FRESH,   A,       A,       A,       S,       MOD_ONLY, OK,     OK,      OK,
                                                      body={"user_id": "{stranger}"}),
    # ---- Admin+ ----
    "GET /v1/admin/health":                       row(READ,    A,       A,       A,       S,       ADMIN_ONLY, ADMIN_ONLY, OK,  OK),
    "POST /v1/portal/hard-mute":                  row(FRESH,   A,       A,       A,       S,       ADMIN_ONLY, ADMIN_ONLY, OK,  OK,
                                                      body={"user_id": "{target}", "duration": 60}),
    "POST /v1/portal/hard-unmute":                row(SAME,    A,       A,       A,       S,       ADMIN_ONLY, ADMIN_ONLY, OK,  OK,
                                                      body={"user_id": "{target}"}),
    "GET /v1/admin/chats":                        row(READ,    A,       A,       A,       S,       ADMIN_ONLY, ADMIN_ONLY, OK,  OK),
    f"GET {ADMIN_CHAT}":                          row(READ,    A,       A,       A,       S,       ADMIN_ONLY, ADMIN_ONLY, OK,  OK),
    f"POST {ADMIN_CHAT}/update":                  row(SAME,    A,       A,       A,       S,       ADMIN_ONLY, ADMIN_ONLY, OK,  OK,
                                                      body={"description": "matrix"}),
    f"POST {ADMIN_CHAT}/delete":                  row(FRESH,   A,       A,       A,       S,       ADMIN_ONLY, ADMIN_ONLY, OK,  OK),
    f"POST {ADMIN_CHAT}/kick":                    row(READ,    A,       A,       A,       S,       ADMIN_ONLY, ADMIN_ONLY, NO_MEMBER, NO_MEMBER,  # noqa: E501
                                                      body={"user_id": "{target}"}),
    f"POST {ADMIN_CHAT}/start":                   row(NO_VM_NODE, A,    A,       A,       S,       ADMIN_ONLY, ADMIN_ONLY, NO_VM, NO_VM),
    f"POST {ADMIN_CHAT}/stop":                    row(READ,    A,       A,       A,       S,       ADMIN_ONLY, ADMIN_ONLY, NOT_RUNNING, NOT_RUNNING),  # noqa: E501
    "POST /v1/admin/bots":                        row(SAME,    A,       A,       A,       S,       ADMIN_ONLY, ADMIN_ONLY, OK,  OK,
                                                      body={"name": "Matrix Bot", "owner_id": "{target}", "platform": "discord"}),  # noqa: E501
    "GET /v1/admin/bots":                         row(READ,    A,       A,       A,       S,       ADMIN_ONLY, ADMIN_ONLY, OK,  OK),
    "POST /v1/admin/bots/{bot_id}/update":        row(SAME,    A,       A,       A,       S,       ADMIN_ONLY, ADMIN_ONLY, OK,  OK,
                                                      body={"name": "Matrix Bot"}),
    "POST /v1/admin/bots/{bot_id}/regenerate-key": row(SAME,   A,       A,       A,       S,       ADMIN_ONLY, ADMIN_ONLY, OK,  OK),
    "POST /v1/admin/bots/{bot_id}/delete":        row(FRESH,   A,       A,       A,       S,       ADMIN_ONLY, ADMIN_ONLY, OK,  OK),
    "POST /v1/admin/bots/{bot_id}/reset-stats":   row(SAME,    A,       A,       A,       S,       ADMIN_ONLY, ADMIN_ONLY, OK,  OK),
    "POST /v1/admin/users/{user_id}/permission":  row(SAME,    A,       A,       A,       S,       ADMIN_ONLY, ADMIN_ONLY, OK,  OK,
                                                      body={"permission_level": 0}),
    "POST /v1/admin/users/{user_id}/ban":         row(FRESH,   A,       A,       A,       S,       ADMIN_ONLY, ADMIN_ONLY, OK,  OK,
                                                      body={"reason": "matrix"}),
    "POST /v1/admin/users/{user_id}/unban":       row(SAME,    A,       A,       A,       S,       ADMIN_ONLY, ADMIN_ONLY, OK,  OK,
                                                      body={"reason": "matrix"}),
    "POST /v1/admin/subscriptions/grant":         row(FRESH,   A,       A,       A,       S,       ADMIN_ONLY, ADMIN_ONLY, OK,  OK,
                                                      body={"user_id": "{target}", "tier": 2, "duration_days": 30, "reason": "matrix"}),  # noqa: E501
    "POST /v1/admin/subscriptions/revoke":        row(SAME,    A,       A,       A,       S,       ADMIN_ONLY, ADMIN_ONLY, OK,  OK,
                                                      body=REASON),
    "GET /v1/admin/subscriptions/active":         row(READ,    A,       A,       A,       S,       ADMIN_ONLY, ADMIN_ONLY, OK,  OK),
    "POST /v1/admin/notifications":               row(SAME,    A,       A,       A,       S,       ADMIN_ONLY, ADMIN_ONLY, OK,  OK,
                                                      body={"title": "matrix", "body": "matrix", "user_ids": ["{target}"]}),  # noqa: E501
    # an announcement would show on every client of the shared test server: a body refused after the gate
    "POST /v1/admin/announcements":               row(REFUSED, A,       A,       A,       S,       ADMIN_ONLY, ADMIN_ONLY, (400, "title is required"), (400, "title is required"),  # noqa: E501
                                                      body={}),
    "POST /v1/admin/announcements/{announcement_id}/end": row(READ, A,  A,       A,       S,       ADMIN_ONLY, ADMIN_ONLY, NO_NEWS, NO_NEWS),  # noqa: E501
    # ---- Owner only (06 §7.3, §7.6) ----
    "POST /v1/admin/chats":                       row(SAME,    A,       A,       A,       S,       OWNER_ONLY, OWNER_ONLY, OWNER_ONLY, OK,  # noqa: E501
                                                      body={"name": "matrix official", "slug": "matrix-{uniq}"}),
    f"POST {ADMIN_CHAT}/transfer":                row(FRESH,   A,       A,       A,       S,       OWNER_ONLY, OWNER_ONLY, OWNER_ONLY, OK,  # noqa: E501
                                                      body={"new_owner_id": "{target}"}),
}
# fmt: on

# The slice that also runs on PostgreSQL + Redis: one row of each kind of gate.
POSTGRES_SLICE = (
    "GET /health",
    "GET /v1/statistics/chats",
    "GET /v1/users/{user_id}",
    "GET /v1/bot/me",
    "POST /v1/authentication/logout",
    "GET /v1/users/me",
    f"POST {CHAT}/config/update",
    f"POST {CHAT}/delete",
    "POST /v1/admin/users/{user_id}/timeout",
    "POST /v1/admin/users/{user_id}/ban",
    "POST /v1/admin/chats",
)


# ---- the callers, made once per server ------------------------------------------------------------------


@dataclass
class Cast:
    """Who calls: a session token per level, a bot's key, and the User who owns the rows' chats."""

    sessions: dict[str, str]
    bot_key: str
    host: dict[str, Any]
    host_session: str
    made_at: datetime


_CASTS: dict[str, Cast] = {}


async def cast_for(portal: Portal) -> Cast:
    """The server's cast, made again when the test clock has moved since (a session may have lapsed)."""
    server = portal.server
    cast = _CASTS.get(server.base_url)
    now = server.clock.now()
    if cast is None or not cast.made_at <= now < cast.made_at + timedelta(minutes=10):
        _CASTS[server.base_url] = cast = await make_cast(portal)
    return cast


async def make_cast(portal: Portal) -> Cast:
    sessions = {"stranger": session_of(await portal.stranger())}
    for column, level in SESSION_LEVELS.items():
        sessions[column] = session_of(await portal.login(level))
    bot = await portal.container.bots.register(
        actor=None, name="Matrix Bot", owner_id=(await portal.create_user())["id"], platform="discord"
    )
    host = await portal.login("user", tier=2)
    async with portal.container.db.transaction() as session:  # as many chats as the rows need
        await session.execute(update(User).where(User.id == host.id).values(chat_slots_override=100_000))
    return Cast(sessions, bot.api_key, host.user, session_of(host), portal.server.clock.now())


def session_of(who: LoggedIn) -> str:
    token = who.client.session_token
    assert token is not None
    return token


# ---- the fixtures a row acts on -------------------------------------------------------------------------


@dataclass
class Fixtures:
    """What a row's placeholders name, made on first use."""

    portal: Portal
    cast: Cast
    made: dict[str, str] = field(default_factory=dict)

    async def value(self, name: str) -> str:
        if name not in self.made:
            self.made.update(await self._make(name))
        return self.made[name]

    async def _make(self, name: str) -> dict[str, str]:
        portal = self.portal
        if name in ("chat_id", "slug"):
            host = LoggedIn(portal.client(api_key=False, session=self.cast.host_session), self.cast.host)
            chat = await portal.public_chat(host)
            return {"chat_id": str(chat["id"]), "slug": chat["slug"]}
        if name in ("user_id", "target"):
            user_id = str((await portal.create_user())["id"])
            return {"user_id": user_id, "target": user_id}
        if name == "stranger":
            return {"stranger": str((await portal.stranger()).id)}
        if name == "username":
            return {"username": self.cast.host["username"]}
        if name == "bot_id":
            _, bot = await portal.register_bot()
            return {"bot_id": str(bot["id"])}
        return {name: FIXED[name]()}


# Placeholders that name nothing that exists (the endpoint answers 404 after the gate) or a fixed value.
FIXED = {
    "code": lambda: "abcdefghijklmnop",
    "token_suffix": lambda: "abcdef",
    "notification_id": lambda: "999999999",
    "announcement_id": lambda: "999999999",
    "platform": lambda: "discord",
    "platform_user_id": lambda: "1",
    "uniq": lambda: secrets.token_hex(4),
}


PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


async def fill(template: Any, fixtures: Fixtures) -> Any:
    """`template` with each "{name}" replaced by the fixture of that name (a whole "{name}" string becomes
    an integer id)."""
    if isinstance(template, dict):
        return {key: await fill(value, fixtures) for key, value in template.items()}
    if isinstance(template, list):
        return [await fill(value, fixtures) for value in template]
    if not isinstance(template, str) or "{" not in template:
        return template
    names = PLACEHOLDER.findall(template)
    values = {name: await fixtures.value(name) for name in names}
    text = PLACEHOLDER.sub(lambda match: values[match.group(1)], template)
    whole = PLACEHOLDER.fullmatch(template) is not None
    return int(text) if whole and text.isdigit() else text


# ---- calling as each level ------------------------------------------------------------------------------


def caller(portal: Portal, cast: Cast, level: str, base_url: str) -> Any:
    if level == "anon":
        return portal.client(api_key=False, base_url=base_url)
    if level == "key":
        return portal.client(base_url=base_url)
    if level == "bot":
        return portal.client(api_key=cast.bot_key, base_url=base_url)
    return portal.client(api_key=False, session=cast.sessions[level], base_url=base_url)


async def fresh_caller(portal: Portal, cast: Cast, level: str, base_url: str) -> Any:
    """A caller of `level` with a session of its own (SESSION rows end it)."""
    if level in ("anon", "key", "bot"):
        return caller(portal, cast, level, base_url)
    who = await portal.stranger() if level == "stranger" else await portal.login(SESSION_LEVELS[level])
    return portal.client(api_key=False, session=session_of(who), base_url=base_url)


@pytest.fixture
async def vm_less(portal: Portal) -> AsyncIterator[Any]:
    """A factory for a node on the same backend whose browsers are switched off, made on first use."""
    nodes: list[Any] = []
    stack: list[Any] = []

    async def node() -> TestServer:
        if not nodes:
            context = node_like(portal.server, browser_backend="none")
            nodes.append(await context.__aenter__())
            stack.append(context)
        return nodes[0]

    yield node
    for context in stack:
        await context.__aexit__(None, None, None)


async def run_row(portal: Portal, key: str, vm_less: Any) -> list[str]:
    """Every cell of one row: the cells whose answer differs from the table, as "level: got, expected"."""
    entry = MATRIX[key]
    method, path = key.split(" ", 1)
    cast = await cast_for(portal)
    base_url = (await vm_less()).base_url if entry.setup == NO_VM_NODE else portal.server.base_url
    row_fixtures = Fixtures(portal, cast)
    wrong = []
    for level, expected in zip(LEVELS, entry.cells, strict=True):
        fixtures = Fixtures(portal, cast) if entry.setup == FRESH else row_fixtures
        url = await fill(path, fixtures) + (f"?{entry.query}" if entry.query else "")
        body = await fill(entry.body, fixtures)
        make = fresh_caller if entry.setup == SESSION else _caller
        client = await make(portal, cast, level, base_url)
        got = await answer(client, method, url, body)
        if got != expected:
            wrong.append(f"{level}: got {got}, expected {expected}")
    return wrong


async def _caller(portal: Portal, cast: Cast, level: str, base_url: str) -> Any:
    return caller(portal, cast, level, base_url)


# ---- the tests ------------------------------------------------------------------------------------------


async def test_the_matrix_covers_every_route(portal: Portal) -> None:
    routes = await app_routes(portal)
    assert [r for r in routes if r not in MATRIX] == [], "add a row for these routes (docs/decisions.md)"
    assert [r for r in MATRIX if r not in routes] == [], "these rows name routes the app no longer has"


@pytest.mark.parametrize("server", ["sqlite"], indirect=True)
@pytest.mark.parametrize("key", list(MATRIX))
async def test_every_caller_gets_the_contracts_answer(portal: Portal, vm_less: Any, key: str) -> None:
    assert await run_row(portal, key, vm_less) == []


@pytest.mark.parametrize("server", ["postgres"], indirect=True)
@pytest.mark.parametrize("key", POSTGRES_SLICE)
async def test_the_gates_answer_the_same_on_postgres(portal: Portal, vm_less: Any, key: str) -> None:
    assert await run_row(portal, key, vm_less) == []
