"""The chat side of its browser VM: who may start and stop it, use its clipboard, size its screen and take a
screenshot. The machines themselves are `VmService`'s (services/vms.py)."""

from __future__ import annotations

from typing import Any

from portal.browser.base import ALLOWED_SIZES
from portal.db import users as users_db
from portal.db.models import Chat, User
from portal.errors import BadRequest
from portal.services.base import Service
from portal.services.chat_access import ChatContext, Need, access_chat, can_manage, chat_context
from portal.services.vms import allowed_sizes


def screen_size_error(width: int, height: int, rate: int) -> str | None:
    """A size not in the list, in the usual "must be one of" wording, naming the first field (in body
    order) that no allowed size with the fields before it has."""
    fits = list(ALLOWED_SIZES)
    for position, (field, value) in enumerate((("width", width), ("height", height), ("rate", rate))):
        allowed = sorted({size[position] for size in fits})
        if value not in allowed:
            return f"{field} must be one of: " + ", ".join(str(v) for v in allowed)
        fits = [size for size in fits if size[position] == value]
    return None


class ChatBrowserService(Service):
    async def start_vm(self, chat_id: int, *, actor: User) -> None:
        """Portal start: idempotent, pushes credentials to everyone already in the room."""
        ctx = await self._vm_context(actor, chat_id)
        await self.c.vms.start_chat(ctx.chat, push_credentials=True)

    async def stop_vm(self, chat_id: int, *, actor: User) -> None:
        """Idempotent: stopping a stopped VM answers ok."""
        await self._vm_context(actor, chat_id)
        await self.c.vms.stop_chat(chat_id)

    async def _clipboard_context(self, actor: User, chat_id: int) -> ChatContext:
        is_host = await self.c.control.is_host(chat_id, actor.id)
        async with self.c.db.read() as session:
            return await access_chat(session, actor, chat_id, need=Need.CLIPBOARD, is_host=is_host)

    async def clipboard(self, chat_id: int, *, actor: User) -> str:
        await self._clipboard_context(actor, chat_id)
        return await self.c.vms.clipboard_get(chat_id)

    async def set_clipboard(self, chat_id: int, text: str, *, actor: User) -> None:
        await self._clipboard_context(actor, chat_id)
        await self.c.vms.clipboard_set(chat_id, text)

    async def screen(self, chat_id: int, *, actor: User) -> dict[str, Any]:
        """Any viewer: the current size and the allowed ones."""
        async with self.c.db.read() as session:
            ctx = await access_chat(session, actor, chat_id, group_only=True)
        return self._screen_view(ctx.chat)

    @staticmethod
    def _screen_view(chat: Chat) -> dict[str, Any]:
        return {
            "width": chat.screen_width,
            "height": chat.screen_height,
            "rate": chat.screen_rate,
            "sizes": allowed_sizes(),
        }

    async def set_screen(
        self, chat_id: int, width: int, height: int, rate: int, *, actor: User
    ) -> dict[str, Any]:
        """Chat managers; a size not in the list is 400; a stopped VM gets it at its next start."""
        refusal = screen_size_error(width, height, rate)
        if refusal is not None:
            raise BadRequest(refusal)
        async with self.c.db.transaction() as session:
            ctx = await access_chat(session, actor, chat_id, need=Need.MANAGE, lock=True)
            chat = ctx.chat
            chat.screen_width, chat.screen_height, chat.screen_rate = width, height, rate
            chat.updated_at = self.now
        if await self.c.vms.is_running(chat_id):
            await self.c.vms.set_screen(chat_id, width, height, rate)
        return self._screen_view(chat)

    async def screenshot(self, chat_id: int, *, actor: User) -> bytes:
        """Anyone who may view the chat; 409 ERR_VM_NOT_RUNNING while stopped."""
        async with self.c.db.read() as session:
            await access_chat(session, actor, chat_id, group_only=True)
        return await self.c.vms.screenshot(chat_id)

    async def manages(self, user_id: int, chat: Chat) -> bool:
        """Is the user a manager of the chat (`can_manage_chat`)? For VM roles and control."""
        async with self.c.db.read() as session:
            user = await users_db.get(session, user_id)
            return user is not None and can_manage(await chat_context(session, chat, user))

    async def _vm_context(self, actor: User, chat_id: int) -> ChatContext:
        async with self.c.db.read() as session:
            return await access_chat(session, actor, chat_id, need=Need.DESTROY)
