"""The permission matrix: every HTTP route of the app × every kind of caller, against one table.

The routes come from the running app's OpenAPI document (tests/route_table.py): a route without a row fails
`test_the_matrix_covers_every_route`, and so does a row whose route is gone. Each row states, for each
caller, the answer the contract gives (keys and sessions, levels, the check order: docs/decisions.md,
"Permission matrix"):

  anon      no credentials at all
  key       the app's public API key only (`X-API-Key`), no cookie
  bot       a registered bot's `hbot_` key only
  stranger  a stranger's session cookie, no key (a cookie never stands in for a key)
  user, mod, admin, owner
            the session cookie of a registered user of that level (User 0 … Owner 3), no subscription

A cell is the exact (status, `error`) answer, the envelope checked. The two-letter cells are the gate's
refusals: NA 401 "Authentication required", BK 401 "Invalid API key", DN 403 "Access denied", MO / AD / OW
403 "Moderator / Admin / Owner access required". Any other cell passed the gate and is the endpoint's own
answer: 200, or a validation, not-found or domain answer. The gate comes before the body is read, so a
refused caller gets the refusal whatever the body. Chat-scoped rows act on a public chat owned by someone
else (a User with a subscription), so the chat rules show too: a User may see it but not manage it, a
Moderator outranks its owner, only an Owner may destroy it; strangers see only their own direct chats
(tests/strangers/test_access.py covers those).

The SETUP column says how a request that passes the gate is kept from disturbing the other cells:
  READ      nothing changes (reads, or a name or id that does not exist: a 404 after the gate)
  REFUSED   the body is one the endpoint refuses on its own validation, after the gate
  SAME      the change leaves the row's fixtures as the next cell needs them (idempotent, or additive)
  FRESH     each passing cell gets its own chat, target user, stranger or bot (destructive routes)
  SESSION   each passing cell signs in anew: the call ends the caller's session
  NO_VM     the row runs on a node whose browsers are switched off: starting one answers 503 at once
Cells the gate refuses share the row's fixtures: they act on nothing.

The full matrix runs on SQLite only: the gates are FastAPI dependencies and pure rules over the rows the
services load (docs/architecture.md, "Access"), the same code on either database; one row of each kind of
gate runs on PostgreSQL + Redis too. The callers are made once per server and reused while the test clock
has not moved (their sessions last a day or more), so a row costs about one request per cell.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update

from portal.db.models import User
from portal.security import SESSION_COOKIE
from tests.helpers import LoggedIn, Portal
from tests.route_table import Answer, answer, app_routes
from tests.servers import fresh_ip, node_like
from tests.strangers.test_access import ROUTES as STRANGERS

LEVELS = ("anon", "key", "bot", "stranger", "user", "mod", "admin", "owner")
SESSION_LEVELS = {"user": "user", "mod": "moderator", "admin": "admin", "owner": "owner"}

# ---- the gate's refusals --------------------------------------------------------------------------------
NA: Answer = (401, "Authentication required")  # no session where the route needs one
BK: Answer = (401, "Invalid API key")  # not the key the route takes (the public key, or a bot's)
DN: Answer = (403, "Access denied")  # strangers; and, after the gate, the chat rules' refusal
MO: Answer = (403, "Moderator access required")
AD: Answer = (403, "Admin access required")
OW: Answer = (403, "Owner access required")
REFUSALS = {NA, BK, DN, MO, AD, OW}

# ---- answers after the gate -----------------------------------------------------------------------------
OK: Answer = (200, None)
NO_USER: Answer = (404, "User not found")
NO_CODE: Answer = (401, "Invalid or expired code")
NO_PLATFORM: Answer = (400, "platform is required")
NO_INTERESTS: Answer = (400, "interests must contain 1 to 3 items")
NO_DIRECT: Answer = (404, "ERR_MATCH_NO_ACTIVE_DIRECT")
NOT_JOINED: Answer = (403, "ERR_NOT_JOINED")
NO_SESSION: Answer = (404, "Session not found")
NO_NOTE: Answer = (404, "ERR_NOTIFICATION_NOT_FOUND")
BAD_INVITE: Answer = (404, "ERR_INVITE_INVALID")
PREMIUM: Answer = (403, "ERR_PREMIUM_REQUIRED")
NO_MEMBER: Answer = (404, "Member not found")
NO_INVITE: Answer = (404, "Invite not found")
VM_NONE: Answer = (503, "ERR_VM_UNAVAILABLE")
VM_STOPPED: Answer = (409, "ERR_VM_NOT_RUNNING")
NOT_RUNNING: Answer = (409, "Chat is not running")
NO_TITLE: Answer = (400, "title is required")
NO_NEWS: Answer = (404, "Announcement not found")

READ, REFUSED, SAME, FRESH, SESSION, NO_VM = "READ", "REFUSED", "SAME", "FRESH", "SESSION", "NO_VM"

CHAT = "/v1/portal/chats/{chat_id}"
ADMIN_CHAT = "/v1/admin/chats/{chat_id}"

# One row per route: (SETUP, anon, key, bot, stranger, user, mod, admin, owner).
# fmt: off
MATRIX: dict[str, tuple[Any, ...]] = {
    # route                                               setup     anon  key      bot          stranger      user          mod           admin         owner
    # ---- public: no credentials needed ----
    "GET /health":                                        (READ,    OK,   OK,      OK,          OK,           OK,           OK,           OK,           OK),
    "GET /v1/portal/directory":                           (READ,    OK,   OK,      OK,          OK,           OK,           OK,           OK,           OK),
    "GET /v1/portal/directory/{slug}":                    (READ,    OK,   OK,      OK,          OK,           OK,           OK,           OK,           OK),
    "GET /v1/announcements":                              (READ,    OK,   OK,      OK,          OK,           OK,           OK,           OK,           OK),
    # ---- the public key; a cookie does not replace it ----
    "POST /v1/authentication/lookup":                     (READ,    BK,   NO_USER, BK,          BK,           BK,           BK,           BK,           BK),
    "POST /v1/authentication/request":                    (SAME,    BK,   OK,      BK,          BK,           BK,           BK,           BK,           BK),
    "POST /v1/authentication/verify":                     (READ,    BK,   NO_CODE, BK,          BK,           BK,           BK,           BK,           BK),
    "POST /v1/authentication/stranger":                   (SAME,    BK,   OK,      BK,          BK,           BK,           BK,           BK,           BK),
    "GET /v1/bots":                                       (READ,    BK,   OK,      BK,          BK,           BK,           BK,           BK,           BK),
    "GET /v1/statistics/chats":                           (READ,    BK,   OK,      BK,          BK,           BK,           BK,           BK,           BK),
    "GET /v1/statistics/users":                           (READ,    BK,   OK,      BK,          BK,           BK,           BK,           BK,           BK),
    "GET /v1/statistics/bots":                            (READ,    BK,   OK,      BK,          BK,           BK,           BK,           BK,           BK),
    "GET /v1/statistics/app":                             (READ,    BK,   OK,      BK,          BK,           BK,           BK,           BK,           BK),
    "GET /v1/statistics/application":                     (READ,    BK,   OK,      BK,          BK,           BK,           BK,           BK,           BK),
    # ---- the public key or a session ----
    "GET /v1/users/{user_id}":                            (READ,    NA,   OK,      BK,          OK,           OK,           OK,           OK,           OK),
    "GET /v1/bots/{bot_id}":                              (READ,    NA,   OK,      BK,          OK,           OK,           OK,           OK,           OK),
    # ---- a bot key ----
    "POST /v1/authentication/bot/send-code":              (REFUSED, BK,   BK,      NO_PLATFORM, BK,           BK,           BK,           BK,           BK),
    "POST /v1/authentication/bot/login-code":             (REFUSED, BK,   BK,      NO_PLATFORM, BK,           BK,           BK,           BK,           BK),
    "GET /v1/bot/me":                                     (READ,    BK,   BK,      OK,          BK,           BK,           BK,           BK,           BK),
    "POST /v1/bot/me/update":                             (SAME,    BK,   BK,      OK,          BK,           BK,           BK,           BK,           BK),
    "POST /v1/bot/batch":                                 (SAME,    BK,   BK,      OK,          BK,           BK,           BK,           BK,           BK),
    "GET /v1/bot/users/{platform}/{platform_user_id}":    (READ,    BK,   BK,      NO_USER,     BK,           BK,           BK,           BK,           BK),
    # ---- any session, strangers included ----
    "POST /v1/authentication/logout":                     (SESSION, NA,   NA,      NA,          OK,           OK,           OK,           OK,           OK),
    "POST /v1/portal/keys":                               (SAME,    NA,   NA,      NA,          OK,           OK,           OK,           OK,           OK),
    "GET /v1/portal/chats":                               (READ,    NA,   NA,      NA,          OK,           OK,           OK,           OK,           OK),
    f"GET {CHAT}":                                        (READ,    NA,   NA,      NA,          DN,           OK,           OK,           OK,           OK),
    f"GET {CHAT}/history":                                (READ,    NA,   NA,      NA,          DN,           OK,           OK,           OK,           OK),
    f"POST {CHAT}/messages":                              (READ,    NA,   NA,      NA,          DN,           NOT_JOINED,   NOT_JOINED,   NOT_JOINED,   NOT_JOINED),
    f"POST {CHAT}/messages/delete-mine":                  (SAME,    NA,   NA,      NA,          DN,           OK,           OK,           OK,           OK),
    # the match queue: bodies it refuses, so that no caller is queued (and matched with another test's)
    "POST /v1/portal/match":                              (REFUSED, NA,   NA,      NA,          NO_INTERESTS, NO_INTERESTS, NO_INTERESTS, NO_INTERESTS, NO_INTERESTS),
    "POST /v1/portal/match/enqueue":                      (REFUSED, NA,   NA,      NA,          NO_INTERESTS, NO_INTERESTS, NO_INTERESTS, NO_INTERESTS, NO_INTERESTS),
    "GET /v1/portal/match/status":                        (READ,    NA,   NA,      NA,          OK,           OK,           OK,           OK,           OK),
    "POST /v1/portal/match/dequeue":                      (SAME,    NA,   NA,      NA,          OK,           OK,           OK,           OK,           OK),
    "POST /v1/portal/match/leave":                        (READ,    NA,   NA,      NA,          NO_DIRECT,    NO_DIRECT,    NO_DIRECT,    NO_DIRECT,    NO_DIRECT),
    # ---- registered users (strangers: 403) ----
    "GET /v1/users/me":                                   (READ,    NA,   NA,      NA,          DN,           OK,           OK,           OK,           OK),
    "POST /v1/users/me/update":                           (SAME,    NA,   NA,      NA,          DN,           OK,           OK,           OK,           OK),
    "GET /v1/users/me/sessions":                          (READ,    NA,   NA,      NA,          DN,           OK,           OK,           OK,           OK),
    "POST /v1/users/me/sessions/{token_suffix}/destroy":  (READ,    NA,   NA,      NA,          DN,           NO_SESSION,   NO_SESSION,   NO_SESSION,   NO_SESSION),
    "GET /v1/users/me/subscription":                      (READ,    NA,   NA,      NA,          DN,           OK,           OK,           OK,           OK),
    "GET /v1/users/me/punishments":                       (READ,    NA,   NA,      NA,          DN,           OK,           OK,           OK,           OK),
    "GET /v1/users/me/chats":                             (READ,    NA,   NA,      NA,          DN,           OK,           OK,           OK,           OK),
    "GET /v1/users/search":                               (READ,    NA,   NA,      NA,          DN,           OK,           OK,           OK,           OK),
    "GET /v1/users/profile/{username}":                   (READ,    NA,   NA,      NA,          DN,           OK,           OK,           OK,           OK),
    "GET /v1/bots/search":                                (READ,    NA,   NA,      NA,          DN,           OK,           OK,           OK,           OK),
    "GET /v1/notifications":                              (READ,    NA,   NA,      NA,          DN,           OK,           OK,           OK,           OK),
    "GET /v1/notifications/unread-count":                 (READ,    NA,   NA,      NA,          DN,           OK,           OK,           OK,           OK),
    "POST /v1/notifications/read-all":                    (SAME,    NA,   NA,      NA,          DN,           OK,           OK,           OK,           OK),
    "POST /v1/notifications/{notification_id}/read":      (READ,    NA,   NA,      NA,          DN,           NO_NOTE,      NO_NOTE,      NO_NOTE,      NO_NOTE),
    "GET /v1/portal/status":                              (READ,    NA,   NA,      NA,          DN,           OK,           OK,           OK,           OK),
    "POST /v1/portal/resolve/{code}":                     (READ,    NA,   NA,      NA,          DN,           BAD_INVITE,   BAD_INVITE,   BAD_INVITE,   BAD_INVITE),
    # creating a private chat: premium or Admin+; these callers have no subscription
    "POST /v1/portal/chats":                              (SAME,    NA,   NA,      NA,          DN,           PREMIUM,      PREMIUM,      OK,           OK),
    # ---- a public chat owned by a User with a subscription ----
    f"GET {CHAT}/members":                                (READ,    NA,   NA,      NA,          DN,           OK,           OK,           OK,           OK),
    f"POST {CHAT}/leave":                                 (READ,    NA,   NA,      NA,          DN,           NO_MEMBER,    NO_MEMBER,    NO_MEMBER,    NO_MEMBER),
    f"POST {CHAT}/config/update":                         (SAME,    NA,   NA,      NA,          DN,           DN,           OK,           OK,           OK),
    f"POST {CHAT}/delete":                                (FRESH,   NA,   NA,      NA,          DN,           DN,           DN,           DN,           OK),
    f"POST {CHAT}/start":                                 (NO_VM,   NA,   NA,      NA,          DN,           DN,           DN,           DN,           VM_NONE),
    f"POST {CHAT}/stop":                                  (READ,    NA,   NA,      NA,          DN,           DN,           DN,           DN,           OK),
    f"GET {CHAT}/activity":                               (READ,    NA,   NA,      NA,          DN,           DN,           OK,           OK,           OK),
    f"GET {CHAT}/clipboard":                              (READ,    NA,   NA,      NA,          DN,           DN,           VM_STOPPED,   VM_STOPPED,   VM_STOPPED),
    f"POST {CHAT}/clipboard/update":                      (READ,    NA,   NA,      NA,          DN,           DN,           VM_STOPPED,   VM_STOPPED,   VM_STOPPED),
    f"GET {CHAT}/screen":                                 (READ,    NA,   NA,      NA,          DN,           OK,           OK,           OK,           OK),
    f"POST {CHAT}/screen/update":                         (SAME,    NA,   NA,      NA,          DN,           DN,           OK,           OK,           OK),
    f"GET {CHAT}/screenshot":                             (READ,    NA,   NA,      NA,          DN,           VM_STOPPED,   VM_STOPPED,   VM_STOPPED,   VM_STOPPED),
    f"POST {CHAT}/invites":                               (SAME,    NA,   NA,      NA,          DN,           DN,           OK,           OK,           OK),
    f"GET {CHAT}/invites":                                (READ,    NA,   NA,      NA,          DN,           DN,           OK,           OK,           OK),
    f"POST {CHAT}/invites/{{code}}/delete":               (READ,    NA,   NA,      NA,          DN,           DN,           NO_INVITE,    NO_INVITE,    NO_INVITE),
    f"POST {CHAT}/messages/delete":                       (SAME,    NA,   NA,      NA,          DN,           DN,           OK,           OK,           OK),
    f"POST {CHAT}/messages/delete-last":                  (SAME,    NA,   NA,      NA,          DN,           DN,           OK,           OK,           OK),
    f"POST {CHAT}/clear":                                 (SAME,    NA,   NA,      NA,          DN,           DN,           DN,           OK,           OK),
    f"POST {CHAT}/kick":                                  (READ,    NA,   NA,      NA,          DN,           DN,           NO_MEMBER,    NO_MEMBER,    NO_MEMBER),
    f"POST {CHAT}/mute":                                  (FRESH,   NA,   NA,      NA,          DN,           DN,           OK,           OK,           OK),
    f"POST {CHAT}/unmute":                                (SAME,    NA,   NA,      NA,          DN,           DN,           OK,           OK,           OK),
    f"POST {CHAT}/ban":                                   (FRESH,   NA,   NA,      NA,          DN,           DN,           OK,           OK,           OK),
    f"POST {CHAT}/unban":                                 (SAME,    NA,   NA,      NA,          DN,           DN,           OK,           OK,           OK),
    f"POST {CHAT}/timeout":                               (FRESH,   NA,   NA,      NA,          DN,           DN,           OK,           OK,           OK),
    f"POST {CHAT}/warn":                                  (FRESH,   NA,   NA,      NA,          DN,           DN,           OK,           OK,           OK),
    # ---- Moderator+ ----
    "POST /v1/admin/users/{user_id}/timeout":             (FRESH,   NA,   NA,      NA,          DN,           MO,           OK,           OK,           OK),
    "POST /v1/admin/users/{user_id}/warn":                (FRESH,   NA,   NA,      NA,          DN,           MO,           OK,           OK,           OK),
    "GET /v1/admin/punishments/search":                   (READ,    NA,   NA,      NA,          DN,           MO,           OK,           OK,           OK),
    "GET /v1/admin/audit/logs":                           (READ,    NA,   NA,      NA,          DN,           MO,           OK,           OK,           OK),
    "POST /v1/admin/strangers/block":                     (FRESH,   NA,   NA,      NA,          DN,           MO,           OK,           OK,           OK),
    # ---- Admin+ ----
    "GET /v1/admin/health":                               (READ,    NA,   NA,      NA,          DN,           AD,           AD,           OK,           OK),
    "POST /v1/portal/hard-mute":                          (FRESH,   NA,   NA,      NA,          DN,           AD,           AD,           OK,           OK),
    "POST /v1/portal/hard-unmute":                        (SAME,    NA,   NA,      NA,          DN,           AD,           AD,           OK,           OK),
    "GET /v1/admin/chats":                                (READ,    NA,   NA,      NA,          DN,           AD,           AD,           OK,           OK),
    f"GET {ADMIN_CHAT}":                                  (READ,    NA,   NA,      NA,          DN,           AD,           AD,           OK,           OK),
    f"POST {ADMIN_CHAT}/update":                          (SAME,    NA,   NA,      NA,          DN,           AD,           AD,           OK,           OK),
    f"POST {ADMIN_CHAT}/delete":                          (FRESH,   NA,   NA,      NA,          DN,           AD,           AD,           OK,           OK),
    f"POST {ADMIN_CHAT}/kick":                            (READ,    NA,   NA,      NA,          DN,           AD,           AD,           NO_MEMBER,    NO_MEMBER),
    f"POST {ADMIN_CHAT}/start":                           (NO_VM,   NA,   NA,      NA,          DN,           AD,           AD,           VM_NONE,      VM_NONE),
    f"POST {ADMIN_CHAT}/stop":                            (READ,    NA,   NA,      NA,          DN,           AD,           AD,           NOT_RUNNING,  NOT_RUNNING),
    "POST /v1/admin/bots":                                (SAME,    NA,   NA,      NA,          DN,           AD,           AD,           OK,           OK),
    "GET /v1/admin/bots":                                 (READ,    NA,   NA,      NA,          DN,           AD,           AD,           OK,           OK),
    "POST /v1/admin/bots/{bot_id}/update":                (SAME,    NA,   NA,      NA,          DN,           AD,           AD,           OK,           OK),
    "POST /v1/admin/bots/{bot_id}/regenerate-key":        (SAME,    NA,   NA,      NA,          DN,           AD,           AD,           OK,           OK),
    "POST /v1/admin/bots/{bot_id}/delete":                (FRESH,   NA,   NA,      NA,          DN,           AD,           AD,           OK,           OK),
    "POST /v1/admin/bots/{bot_id}/reset-stats":           (SAME,    NA,   NA,      NA,          DN,           AD,           AD,           OK,           OK),
    "POST /v1/admin/users/{user_id}/permission":          (SAME,    NA,   NA,      NA,          DN,           AD,           AD,           OK,           OK),
    "POST /v1/admin/users/{user_id}/ban":                 (FRESH,   NA,   NA,      NA,          DN,           AD,           AD,           OK,           OK),
    "POST /v1/admin/users/{user_id}/unban":               (SAME,    NA,   NA,      NA,          DN,           AD,           AD,           OK,           OK),
    "POST /v1/admin/subscriptions/grant":                 (FRESH,   NA,   NA,      NA,          DN,           AD,           AD,           OK,           OK),
    "POST /v1/admin/subscriptions/revoke":                (SAME,    NA,   NA,      NA,          DN,           AD,           AD,           OK,           OK),
    "GET /v1/admin/subscriptions/active":                 (READ,    NA,   NA,      NA,          DN,           AD,           AD,           OK,           OK),
    "POST /v1/admin/notifications":                       (SAME,    NA,   NA,      NA,          DN,           AD,           AD,           OK,           OK),
    # an announcement would show on every client of the shared test server: a body refused after the gate
    "POST /v1/admin/announcements":                       (REFUSED, NA,   NA,      NA,          DN,           AD,           AD,           NO_TITLE,     NO_TITLE),
    "POST /v1/admin/announcements/{announcement_id}/end": (READ,    NA,   NA,      NA,          DN,           AD,           AD,           NO_NEWS,      NO_NEWS),
    # ---- Owner only ----
    "POST /v1/admin/chats":                               (SAME,    NA,   NA,      NA,          DN,           OW,           OW,           OW,           OK),
    f"POST {ADMIN_CHAT}/transfer":                        (FRESH,   NA,   NA,      NA,          DN,           OW,           OW,           OW,           OK),
}
# fmt: on

# The bodies (and queries) the rows send. "{target}" is a registered user to act on, "{stranger}" a
# stranger, "{uniq}" a unique word; path parameters are filled the same way ("{chat_id}" is the row's chat).
# Each is made once per row, or once per passing cell on FRESH rows.
REASON = {"user_id": "{target}", "reason": "matrix"}
BODIES: dict[str, Any] = {
    "POST /v1/authentication/lookup": {"username": "nobody-here-at-all"},
    "POST /v1/authentication/request": {"platform": "discord", "platform_user_id": "12345678"},
    "POST /v1/authentication/verify": {"code": "AAAAAAAA"},
    "POST /v1/authentication/bot/send-code": {},
    "POST /v1/authentication/bot/login-code": {},
    "POST /v1/bot/me/update": {},
    "POST /v1/bot/batch": {"commands": [{"command": "help"}]},
    "POST /v1/portal/keys": {"public_key": "5LQ0uFkd0Qm3sJ4qS0tY3a1m5f3u2s0h3r6p8w9x1z0="},
    f"POST {CHAT}/messages": {"content": '{"v":2,"epoch":1,"ct":"AAAA"}'},
    # bodies the match queue refuses, so that no caller is queued (and matched with another test's)
    "POST /v1/portal/match": {"interests": []},
    "POST /v1/portal/match/enqueue": {"interests": []},
    "POST /v1/users/me/update": {},
    "POST /v1/portal/chats": {"name": "matrix chat"},
    f"POST {CHAT}/config/update": {"locked_controls": True},
    f"POST {CHAT}/clipboard/update": {"text": "matrix"},
    f"POST {CHAT}/screen/update": {"width": 1280, "height": 720, "rate": 30},
    f"POST {CHAT}/invites": {},
    f"POST {CHAT}/messages/delete": {"ids": ["1-0"]},
    f"POST {CHAT}/messages/delete-last": {"count": 1},
    f"POST {CHAT}/kick": {"user_id": "{target}"},
    f"POST {CHAT}/mute": {"user_id": "{target}", "duration": 60},
    f"POST {CHAT}/unmute": {"user_id": "{target}"},
    f"POST {CHAT}/ban": {"user_id": "{target}"},
    f"POST {CHAT}/unban": {"user_id": "{target}"},
    f"POST {CHAT}/timeout": {**REASON, "duration": 60},
    f"POST {CHAT}/warn": REASON,
    "POST /v1/admin/users/{user_id}/timeout": {"reason": "matrix", "duration": 60},
    "POST /v1/admin/users/{user_id}/warn": {"reason": "matrix"},
    "POST /v1/admin/strangers/block": {"user_id": "{stranger}"},
    "POST /v1/portal/hard-mute": {"user_id": "{target}", "duration": 60},
    "POST /v1/portal/hard-unmute": {"user_id": "{target}"},
    f"POST {ADMIN_CHAT}/update": {"description": "matrix"},
    f"POST {ADMIN_CHAT}/kick": {"user_id": "{target}"},
    "POST /v1/admin/bots": {"name": "Matrix Bot", "owner_id": "{target}", "platform": "discord"},
    "POST /v1/admin/bots/{bot_id}/update": {"name": "Matrix Bot"},
    "POST /v1/admin/users/{user_id}/permission": {"permission_level": 0},  # the level it has: no change
    "POST /v1/admin/users/{user_id}/ban": {"reason": "matrix"},
    "POST /v1/admin/users/{user_id}/unban": {"reason": "matrix"},
    "POST /v1/admin/subscriptions/grant": {**REASON, "tier": 2, "duration_days": 30},
    "POST /v1/admin/subscriptions/revoke": REASON,
    "POST /v1/admin/notifications": {"title": "matrix", "body": "matrix", "user_ids": ["{target}"]},
    # an announcement would show on every client of the shared test server: a body refused after the gate
    "POST /v1/admin/announcements": {},
    "POST /v1/admin/chats": {"name": "matrix official", "slug": "matrix-{uniq}"},
    f"POST {ADMIN_CHAT}/transfer": {"new_owner_id": "{target}"},
}
QUERIES = {"GET /v1/users/search": "q=matrix"}


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
        if name == "uniq":
            return {"uniq": secrets.token_hex(4)}
        return {name: FIXED[name]}


# Placeholders that name nothing that exists (the endpoint answers 404 after the gate), or a fixed value.
FIXED = {
    "code": "abcdefghijklmnop",
    "token_suffix": "abcdef",
    "notification_id": "999999999",
    "announcement_id": "999999999",
    "platform": "discord",
    "platform_user_id": "1",
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


def credentials(portal: Portal, cast: Cast, level: str) -> dict[str, str]:
    """The headers that make a request come from `level` (each cell also gets a client IP of its own)."""
    if level == "anon":
        return {}
    if level == "key":
        return {"X-API-Key": portal.server.public_key}
    if level == "bot":
        return {"X-API-Key": cast.bot_key}
    return {"Cookie": f"{SESSION_COOKIE}={cast.sessions[level]}"}


async def fresh_credentials(portal: Portal, level: str) -> dict[str, str]:
    """The cookie of a new session of a new caller of `level` (SESSION rows end it)."""
    who = await portal.stranger() if level == "stranger" else await portal.login(SESSION_LEVELS[level])
    return {"Cookie": f"{SESSION_COOKIE}={session_of(who)}"}


async def run_row(portal: Portal, key: str) -> list[str]:
    """Every cell of one row: the cells whose answer differs from the table, as "level: got, expected"."""
    if MATRIX[key][0] == NO_VM:
        async with node_like(portal.server, browser_backend="none") as node:
            return await run_cells(portal, key, node.base_url)
    return await run_cells(portal, key, portal.server.base_url)


async def run_cells(portal: Portal, key: str, base_url: str) -> list[str]:
    setup, *cells = MATRIX[key]
    method, path = key.split(" ", 1)
    cast = await cast_for(portal)
    row_fixtures = Fixtures(portal, cast)
    # One client for the row, the caller's credentials sent with each request: making an HTTP client is
    # the dearest part of a call. Its cookie jar is emptied before each one (`/stranger` sets a cookie).
    client = portal.client(api_key=False, base_url=base_url)
    wrong = []
    for level, expected in zip(LEVELS, cells, strict=True):
        # A cell the gate refuses acts on nothing: it may share the row's fixtures and caller.
        passes = expected not in REFUSALS
        fixtures = Fixtures(portal, cast) if setup == FRESH and passes else row_fixtures
        url = await fill(path, fixtures) + (f"?{QUERIES[key]}" if key in QUERIES else "")
        body = await fill(BODIES.get(key), fixtures)
        if setup == SESSION and passes:
            headers = await fresh_credentials(portal, level)
        else:
            headers = credentials(portal, cast, level)
        client.http.cookies.clear()
        got = await answer(client, method, url, body, headers={"X-Forwarded-For": fresh_ip(), **headers})
        if got != expected:
            wrong.append(f"{level}: got {got}, expected {expected}")
    return wrong


# ---- the tests ------------------------------------------------------------------------------------------


async def test_the_matrix_covers_every_route(portal: Portal) -> None:
    routes = await app_routes(portal)
    assert [r for r in routes if r not in MATRIX] == [], "add a row for these routes (docs/decisions.md)"
    assert [r for r in MATRIX if r not in routes] == [], "these rows name routes the app no longer has"
    assert set(BODIES) | set(QUERIES) <= set(MATRIX)
    assert all(len(cells) == len(LEVELS) + 1 for cells in MATRIX.values())


@pytest.mark.parametrize("server", ["sqlite"], indirect=True)
@pytest.mark.parametrize("key", list(MATRIX))
async def test_every_caller_gets_the_contracts_answer(portal: Portal, key: str) -> None:
    assert await run_row(portal, key) == []


@pytest.mark.parametrize("server", ["sqlite"], indirect=True)
async def test_the_gate_answers_before_the_body_is_read(portal: Portal) -> None:
    """Credentials and level come before validation: every POST a caller is refused by the gate is refused
    the same way with a body that is not JSON at all. A chat rule's 403 comes after validation, so `DN`
    counts as the gate's only for strangers, and not on the routes that admit them to their own direct
    chats (where a group chat's refusal is the chat rule's: tests/strangers/test_access.py)."""
    cast = await cast_for(portal)
    fixtures = Fixtures(portal, cast)
    client = portal.client(api_key=False)
    wrong = []
    for key, (_, *cells) in MATRIX.items():
        method, path = key.split(" ", 1)
        if method != "POST":
            continue
        url = await fill(path, fixtures)
        for level, expected in zip(LEVELS, cells, strict=True):
            chat_rule = expected == DN and (level != "stranger" or STRANGERS[key].rule == "own-direct")
            if expected not in REFUSALS or chat_rule:
                continue
            headers = {"X-Forwarded-For": fresh_ip(), "Content-Type": "application/json"}
            client.http.cookies.clear()
            got = await answer(
                client,
                method,
                url,
                content=b"{broken",
                headers={**headers, **credentials(portal, cast, level)},
            )
            if got != expected:
                wrong.append(f"{key} as {level}: got {got}, expected {expected}")
    assert wrong == []


@pytest.mark.parametrize("server", ["postgres"], indirect=True)
@pytest.mark.parametrize("key", POSTGRES_SLICE)
async def test_the_gates_answer_the_same_on_postgres(portal: Portal, key: str) -> None:
    assert await run_row(portal, key) == []
