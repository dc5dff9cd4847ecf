"""LiveStore key names of the match queues (relative: each store adds its prefix).

- `match:q:{tag}`        sorted set user id → seq: one FIFO queue per interest tag
- `match:e:{user}`       hash {tags: "a,b", seq, deadline}: the user's entry (deadline in Unix ms)
- `match:deadlines`      sorted set user id → deadline: what the janitor reaps
- `match:pending:{user}` sorted set peer id → pairing ms: pairings whose direct chat is not written yet
- `match:gen`            hash user id → generation (moves on each pairing and settlement)
- `match:sockets`        hash user id → connected sockets (for the disconnect grace, 08 §53)
- `match:seq`            counter giving each new entry its place
"""

from __future__ import annotations

SEQUENCE = "match:seq"
DEADLINES = "match:deadlines"
GENERATIONS = "match:gen"
SOCKETS = "match:sockets"


def queue(tag: str) -> str:
    return f"match:q:{tag}"


def entry(user_id: str) -> str:
    return f"match:e:{user_id}"


def pending(user_id: str) -> str:
    return f"match:pending:{user_id}"
