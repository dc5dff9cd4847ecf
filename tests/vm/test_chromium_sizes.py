"""The Chromium backend on its own (no Portal server): every frame a viewer gets has the VM's screen size.

Chromium can capture a frame before it applies the viewport emulation (an 800×600 VM once sent 800×457, the
headless window's content area), and during a resize it sends the old picture scaled into the new width.
The backend drops such a frame and restarts the screencast so that a right-sized one follows.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest_asyncio

from portal.browser.base import Frame, VmSpec
from portal.browser.chromium import ChromiumBackend, ChromiumVm
from tests.sockets import eventually
from tests.vm.support import FRAME_TIMEOUT, VM_START_TIMEOUT, needs_chromium

pytestmark = needs_chromium


class Screen:
    """What a VM hands over: its frames, in order."""

    def __init__(self) -> None:
        self.frames: asyncio.Queue[Frame] = asyncio.Queue()

    async def on_frame(self, frame: Frame) -> None:
        await self.frames.put(frame)

    async def on_exit(self, chat_id: int) -> None:
        return None

    async def next_frame(self) -> Frame:
        return await asyncio.wait_for(self.frames.get(), FRAME_TIMEOUT)

    def drain(self) -> list[Frame]:
        frames = []
        while not self.frames.empty():
            frames.append(self.frames.get_nowait())
        return frames


@pytest_asyncio.fixture
async def running() -> AsyncIterator[tuple[ChromiumVm, Screen]]:
    backend = ChromiumBackend()
    screen = Screen()
    spec = VmSpec(chat_id=1, start_url="about:blank", width=800, height=600, rate=30)
    vm = await asyncio.wait_for(backend.start(spec, screen.on_frame, screen.on_exit), VM_START_TIMEOUT)
    try:
        yield vm, screen
    finally:
        await vm.stop()
        await backend.close()


async def test_the_first_frame_has_the_vms_size(running: tuple[ChromiumVm, Screen]) -> None:
    _, screen = running
    frame = await screen.next_frame()
    assert (frame.width, frame.height) == (800, 600)


async def test_a_frame_of_another_size_is_dropped_and_a_right_sized_one_follows(
    running: tuple[ChromiumVm, Screen],
) -> None:
    """The page's viewport is changed behind the backend's back (as when the emulation has not taken hold):
    the frames of that size never reach viewers, and the screen comes back at 800×600 by itself."""
    vm, screen = running
    first = await screen.next_frame()
    assert vm.page is not None and vm.cdp is not None
    await vm.page.set_viewport_size({"width": 800, "height": 457})
    await vm.cdp.send("Page.stopScreencast")
    await vm._start_screencast()
    # Chromium's next frame is 800×457: the backend drops it and puts the VM's size back. (A frame captured
    # before the change may still arrive at 800×600, so the restored viewport is what proves the drop.)
    await eventually(lambda: _viewport_is(vm, 800, 600), timeout=FRAME_TIMEOUT)
    after = await screen.next_frame()
    delivered = [first, after, *screen.drain()]
    assert all((f.width, f.height) == (800, 600) for f in delivered)
    assert [f.seq for f in delivered] == list(range(first.seq, first.seq + len(delivered)))  # none for drops


async def _viewport_is(vm: ChromiumVm, width: int, height: int) -> bool:
    assert vm.page is not None
    return vm.page.viewport_size == {"width": width, "height": height}


async def test_a_resize_hands_over_only_frames_of_the_new_size(running: tuple[ChromiumVm, Screen]) -> None:
    vm, screen = running
    await screen.next_frame()
    screen.drain()
    await vm.set_screen(1024, 768, 30)
    frame = await screen.next_frame()
    assert (frame.width, frame.height) == (1024, 768)
    assert all((f.width, f.height) == (1024, 768) for f in screen.drain())
