"""Invite codes and session-token suffixes never reach the access log (portal/access_log.py)."""

from __future__ import annotations

import logging

import pytest
import uvicorn

from portal.access_log import MaskSecrets, install, mask_path


@pytest.mark.parametrize(
    ("path", "logged"),
    [
        ("/v1/portal/resolve/AbCdEf123", "/v1/portal/resolve/***"),
        ("/v1/portal/chats/12/invites/AbCdEf123/delete", "/v1/portal/chats/12/invites/***/delete"),
        ("/v1/users/me/sessions/x1Y2z3/destroy", "/v1/users/me/sessions/***/destroy"),
        ("/i/AbCdEf123", "/i/***"),
        ("/i/AbCdEf123?from=lobby", "/i/***?from=lobby"),
        ("/socket.io/?EIO=4&transport=polling&token=secret", "/socket.io/?EIO=4&transport=polling&token=***"),
        ("/v1/portal/chats/12/invites", "/v1/portal/chats/12/invites"),
        ("/v1/users/me/sessions", "/v1/users/me/sessions"),
        ("/v1/portal/chats/12/history?limit=5", "/v1/portal/chats/12/history?limit=5"),
    ],
)
def test_mask_path(path: str, logged: str) -> None:
    assert mask_path(path) == logged


def access_record(path: str) -> logging.LogRecord:
    """A record as uvicorn's HTTP protocol writes it."""
    return logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "POST", path, "1.1", 200), None,
    )  # fmt: skip


def test_the_filter_masks_uvicorns_access_records() -> None:
    record = access_record("/v1/portal/resolve/AbCdEf123")
    assert MaskSecrets().filter(record) is True
    assert record.getMessage() == '127.0.0.1:5000 - "POST /v1/portal/resolve/*** HTTP/1.1" 200'


def test_the_filter_survives_uvicorns_logging_setup() -> None:
    logger = logging.getLogger("uvicorn.access")
    install()
    install()  # once is enough: no second filter
    uvicorn.Config(app="portal.app:create_app", log_config=uvicorn.config.LOGGING_CONFIG)
    assert sum(isinstance(f, MaskSecrets) for f in logger.filters) == 1
