"""Domain values shared by every layer: the states and kinds stored in the database and sent on the wire.

`IntEnum` / `StrEnum` members compare equal to, and serialise as, the bare values they replace, so the
database rows and the JSON answers are the same as with plain `0` or `"group"`. Standard library only:
`portal.db`, the services, the schemas and the client SDK all import it without cycles.
"""

from __future__ import annotations

from enum import IntEnum


class UserState(IntEnum):
    """`users.state`; `users.state_expires_at` lifts a timeout or a timed ban by itself."""

    ACTIVE = 0
    TIMED_OUT = 1
    BANNED = 2
