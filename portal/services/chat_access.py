"""Who may see, manage and moderate a chat, and whom a chat-scoped action may target (00 §3.5, 08 §44–49).

Every chat rule of the API and the realtime layer goes through these functions, one condition per line,
so the permission matrix is decided in one place.
"""

from __future__ import annotations

from dataclasses import dataclass

from portal.db.models import Chat, User
from portal.services.permissions import Level, can_act_on

LISTED = ("official", "public")


@dataclass(frozen=True)
class ChatContext:
    """A chat seen by one actor: the facts every rule needs."""

    chat: Chat
    owner: User | None
    actor: User
    is_member: bool

    @property
    def is_owner(self) -> bool:
        return self.chat.owner_id is not None and self.chat.owner_id == self.actor.id

    @property
    def is_listed(self) -> bool:
        return self.chat.visibility in LISTED


def can_see(ctx: ChatContext) -> bool:
    """May view / join: listed chats for registered users; private ones for owner, members, Admin+."""
    if ctx.actor.is_stranger:
        return ctx.chat.chat_type == "direct" and ctx.is_member
    if ctx.chat.chat_type == "direct":
        return ctx.is_member
    if ctx.is_listed or ctx.is_owner or ctx.is_member:
        return True
    return ctx.actor.permission_level >= Level.ADMIN


def can_list(ctx: ChatContext) -> bool:
    """Appears in the caller's `GET /v1/portal/chats` (00 §3.8): no rank-based listing of private chats."""
    if ctx.actor.is_stranger or ctx.chat.chat_type == "direct":
        return ctx.is_member
    return ctx.is_listed or ctx.is_owner or ctx.is_member


def can_manage(ctx: ChatContext) -> bool:
    """Config, invites, clipboard (`can_manage_chat`): private → owner only; listed → owner or rank."""
    if ctx.is_owner:
        return True
    if not ctx.is_listed:
        return False
    return ctx.owner is not None and can_act_on(ctx.actor, ctx.owner)


def can_moderate(ctx: ChatContext) -> bool:
    """Kick, mute, ban, clear, delete messages, activity: the owner, or someone acting by rank."""
    return ctx.is_owner or can_moderate_by_rank(ctx)


def can_destroy(ctx: ChatContext) -> bool:
    """Portal start / stop / delete: the owner, or a platform Owner (00 §3.5)."""
    return ctx.is_owner or ctx.actor.permission_level == Level.OWNER


def may_target(ctx: ChatContext, target: User) -> bool:
    """May this chat-scoped action hit `target` (08 §45: either path suffices)?"""
    if target.id == ctx.actor.id:
        return False
    as_owner = ctx.is_owner and target.permission_level <= ctx.actor.permission_level
    by_rank = can_moderate_by_rank(ctx) and can_act_on(ctx.actor, target)
    return as_owner or by_rank


def can_moderate_by_rank(ctx: ChatContext) -> bool:
    """Private chats: Admin+ who outrank the owner (abuse reports); listed chats: anyone who outranks the
    owner (so a Moderator over User-owned chats). Moderators never act by rank in private chats (08 §45)."""
    if ctx.chat.visibility == "private" and ctx.actor.permission_level < Level.ADMIN:
        return False
    return ctx.owner is not None and can_act_on(ctx.actor, ctx.owner)
