"""The Socket.IO ack of each kind of PortalError (08 §1; docs/realtime.md "Acks and errors")."""

from __future__ import annotations

import pytest

from portal.errors import ErrorCode, PortalError, coded


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (400, "ERR_BAD_REQUEST"),
        (401, "ERR_UNAUTHORIZED"),
        (403, "ERR_FORBIDDEN"),
        (404, "ERR_NOT_FOUND"),
        (409, "ERR_CONFLICT"),
        (413, "ERR_BAD_REQUEST"),
        (429, "ERR_RATE_LIMITED"),
        (500, "ERR_INTERNAL"),
        (503, "ERR_SERVICE_UNAVAILABLE"),
    ],
)
def test_a_rest_text_maps_to_the_generic_code_of_its_status(status: int, code: str) -> None:
    ack = PortalError("Something the REST API says", status=status).ack()
    assert ack == {"ok": False, "error": code, "message": "Something the REST API says"}


def test_a_domain_code_passes_through_with_its_extra_fields() -> None:
    assert coded(ErrorCode.VM_UNAVAILABLE, 503).ack()["error"] == "ERR_VM_UNAVAILABLE"
    muted = PortalError("ERR_MUTED", status=403, extra={"ttl": 60}).ack()
    assert muted == {"ok": False, "error": "ERR_MUTED", "message": "ERR_MUTED", "ttl": 60}
