"""The backend used when no browser can run here: starting a VM answers 503 ERR_VM_UNAVAILABLE."""

from __future__ import annotations

from portal.browser.base import ExitSink, FrameSink, VmError, VmHandle, VmSpec


class NoBackend:
    name = "none"

    def __init__(self, *, explicit: bool = False) -> None:
        self.explicit = explicit

    @property
    def available(self) -> bool:
        return False

    @property
    def unavailable_reason(self) -> str:
        if self.explicit:
            return "they are switched off"
        return "no browser backend is available (install Debian's chromium, or configure neko-docker)"

    async def start(self, spec: VmSpec, on_frame: FrameSink, on_exit: ExitSink) -> VmHandle:
        raise VmError(self.unavailable_reason)

    async def discard(self, chat_id: int) -> None:
        return None

    async def close(self) -> None:
        return None
