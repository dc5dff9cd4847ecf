"""Fixtures of the browser-VM tests: the web site the VMs open, and no VM left running between tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio

from tests.vm.support import Site, serve_site, stop_every_vm


@pytest_asyncio.fixture
async def site() -> AsyncIterator[Site]:
    async with serve_site() as running:
        yield running


@pytest_asyncio.fixture
async def clean_vms(portal: Any) -> AsyncIterator[None]:
    """The shared server allows PORTAL_VM_MAX browsers: a test starts with none and leaves none (use it with
    `pytest.mark.usefixtures("clean_vms")`)."""
    await stop_every_vm(portal)
    yield
    await stop_every_vm(portal)
