"""The app's HTTP routes and one call's answer, as the route tables write them.

Shared by the tables that must name every route of the app: what strangers get
(tests/strangers/test_access.py) and the permission matrix (tests/security/test_permission_matrix.py).
"""

from __future__ import annotations

from typing import Any

from portal.client import PortalClient
from tests.helpers import Portal

# An answer as the tables write it: the status and, for an error, the envelope's `error` text.
Answer = tuple[int, str | None]


async def app_routes(portal: Portal) -> list[str]:
    """Every route of the running app as "METHOD /path", from its OpenAPI document."""
    spec = (await portal.client().raw("GET", "/openapi.json")).json()
    return [f"{method.upper()} {path}" for path, ops in spec["paths"].items() for method in ops]


async def answer(client: PortalClient, method: str, path: str, body: Any = None, **kwargs: Any) -> Answer:
    """What `client` gets for one call: (status, None) on success, (status, error) with the envelope checked
    (`error` and `correlation_id`, the same id in `X-Correlation-ID`) on an error."""
    if body is not None:
        kwargs["json"] = body
    response = await client.raw(method, path, **kwargs)
    if response.status_code < 400:
        return response.status_code, None
    envelope = response.json()
    assert isinstance(envelope.get("error"), str), f"{method} {path}: no error envelope: {envelope}"
    assert envelope.get("correlation_id"), f"{method} {path}: an error without correlation_id: {envelope}"
    assert response.headers.get("x-correlation-id") == envelope["correlation_id"]
    return response.status_code, envelope["error"]
