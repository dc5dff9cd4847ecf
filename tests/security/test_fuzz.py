"""Schemathesis over every operation of the OpenAPI, as every caller level (tests/security/fuzz_support.py).

The small run is part of `make test`: a few seeded cases per operation and level, on SQLite. The large run
(`make soak`) fuzzes both backends with many more cases. Both run on a server with request limits off
(a fuzzer would spend them in seconds) and without a browser backend (no Chromium per VM start); one
test keeps the limits on to show that a 429 is in the envelope and conforms too.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest
import pytest_asyncio
from schemathesis.schemas import APIOperation

from tests.helpers import Portal
from tests.security.fuzz_support import LEVELS, Stats, fuzz_all
from tests.servers import POSTGRES_SKIP, TestServer, running_server

SMALL_EXAMPLES = 3  # per operation, level and run of `make test`
SOAK_EXAMPLES = 15  # per operation, level and backend in `make soak` (docs/reliability.md)
SEED = 14


@pytest_asyncio.fixture(scope="module")
async def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[TestServer]:
    async with running_server(
        "sqlite", tmp_path_factory.mktemp("fuzz"), rate_limits="off", browser_backend="none"
    ) as running:
        yield running


@pytest_asyncio.fixture(scope="module", params=["sqlite", "postgres"])
async def soak_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[TestServer]:
    if request.param == "postgres" and POSTGRES_SKIP:
        pytest.skip(POSTGRES_SKIP)
    async with running_server(
        request.param, tmp_path_factory.mktemp("soak"), rate_limits="off", browser_backend="none"
    ) as running:
        yield running


async def _fuzz(
    server: TestServer,
    levels: tuple[str, ...],
    examples: int,
    only: Callable[[APIOperation], bool] | None = None,
) -> Stats:
    """The fuzzer blocks (requests, hypothesis): it runs in a thread while this loop serves."""
    portal = Portal(server)
    try:
        loop = asyncio.get_running_loop()
        return await asyncio.to_thread(
            fuzz_all, portal, loop, levels, examples=examples, seed=SEED, only=only
        )
    finally:
        await portal.close()


def _report(stats: Stats, what: str) -> None:
    statuses = dict(sorted(stats.statuses.items()))
    print(
        f"\n{what}: {stats.operations} operations ({len(stats.reached)} answered a 2xx), "
        f"{stats.cases} cases, {stats.requests} requests, {statuses}"
    )
    assert stats.requests > 0
    assert not stats.failures, f"{len(stats.failures)} failures:\n" + "\n".join(stats.failures[:40])


@pytest.mark.parametrize("level", LEVELS)
async def test_every_operation_as_every_level(fuzz_server: TestServer, level: str) -> None:
    stats = await _fuzz(fuzz_server, (level,), SMALL_EXAMPLES)
    _report(stats, f"fuzz {level}")
    assert stats.operations >= 100  # every operation of the OpenAPI, not a filtered few
    if level == "owner":  # the fresh targets take the top level past 404 into most endpoints' logic
        assert len(stats.reached) >= 50, sorted(stats.reached)


async def test_rate_limited_answers_are_in_the_envelope_too(server: TestServer) -> None:
    """With the limits on, one caller fuzzing the sign-in operations spends its LOGIN tier: the 429s pass
    the same checks (envelope, documented status, headers)."""
    stats = await _fuzz(
        server, ("public_key",), 20, only=lambda op: op.path.startswith("/v1/authentication/")
    )
    _report(stats, "fuzz with rate limits")
    assert stats.statuses[429] > 0


@pytest.mark.soak
@pytest.mark.timeout(1800)
@pytest.mark.parametrize("level", LEVELS)
async def test_soak_every_operation_as_every_level(soak_server: TestServer, level: str) -> None:
    stats = await _fuzz(soak_server, (level,), SOAK_EXAMPLES)
    _report(stats, f"soak fuzz {soak_server.backend} {level}")
