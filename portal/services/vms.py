"""Browser VM state as other services see it. The VM issue replaces this with the real orchestrator
(00 §7); until then no VM ever runs and start/stop answer 503 ERR_VM_UNAVAILABLE."""

from __future__ import annotations

from typing import TYPE_CHECKING

from portal.errors import ErrorCode, coded

if TYPE_CHECKING:
    from portal.container import Container


class VmService:
    def __init__(self, container: Container) -> None:
        self.c = container

    async def is_running(self, chat_id: int) -> bool:
        return await self.c.live.get(f"vm:{chat_id}:running") == "1"

    async def start(self, chat_id: int) -> None:
        raise coded(ErrorCode.VM_UNAVAILABLE, 503, message="Browser VMs are not available yet")

    async def stop(self, chat_id: int) -> None:
        """Stopping a VM that does not run is a no-op (chat deletion calls this)."""
        await self.c.live.delete(f"vm:{chat_id}:running")
