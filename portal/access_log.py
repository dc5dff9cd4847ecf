"""Secrets out of the access log: invite codes and session-token suffixes travel in URL paths, and a log line
is read by more people, and kept longer, than the database that holds them (docs/deployment.md, "Logs").

`MaskSecrets` rewrites the path of uvicorn's access-log records before they are formatted; `install()`
puts it on the `uvicorn.access` logger (`portal serve` calls it).
"""

from __future__ import annotations

import logging
import re

MASK = "***"
# A path segment that is a secret, by the route it belongs to; the secret is group 2.
SECRET_SEGMENTS = [
    re.compile(r"^(/v1/portal/resolve/)([^/?#]+)"),
    re.compile(r"^(/v1/portal/chats/[^/]+/invites/)([^/?#]+)"),
    re.compile(r"^(/v1/users/me/sessions/)([^/?#]+)"),
    re.compile(r"^(/i/)([^/?#]+)"),  # the web client's invite links
]
SECRET_QUERY = re.compile(r"(?i)([?&](?:token|code|key|api_key|session)=)[^&#]*")


def mask_path(path: str) -> str:
    for pattern in SECRET_SEGMENTS:
        path = pattern.sub(rf"\g<1>{MASK}", path, count=1)
    return SECRET_QUERY.sub(rf"\g<1>{MASK}", path)


class MaskSecrets(logging.Filter):
    """uvicorn's access records carry `(client, method, path, http_version, status)` as their args."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], mask_path(args[2]), *args[3:])
        return True


def install() -> None:
    logger = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, MaskSecrets) for f in logger.filters):
        logger.addFilter(MaskSecrets())
