"""Who may see, manage and moderate a chat, and whom a chat-scoped action may target.

`access_chat` is the only way a chat-scoped action (REST, Socket.IO or the CLI) gets hold of a chat: it
loads the chat, applies visibility, the direct-chat refusal and the right the action needs, and raises the
contract's error, in the contract's order (docs/architecture.md, "Access"). The rules below it are pure
functions, one condition per line, so the permission matrix is decided in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from sqlalchemy.ext.asyncio import AsyncSession

from portal.db import chats as chats_db
from portal.db import users as users_db
from portal.db.models import Chat, User
from portal.domain import LISTED, ChatType, Visibility
from portal.errors import AccessDenied, ErrorCode, NotFound, coded
from portal.services.permissions import Level, can_act_on
from portal.services.subscriptions import Tier, effective_tier, is_premium

TIER_SLOTS = {Tier.BASIC: 0, Tier.TRIAL: 1, Tier.PREMIUM: 3, Tier.LIFETIME: 5}


class Need(Enum):
    """The right a chat-scoped action needs (each maps to one rule below)."""

    VIEW = "view"  # see and join: `can_see`
    MANAGE = "manage"  # config, invites, screen size: `can_manage`
    MODERATE = "moderate"  # kick, mute, ban, deletes, activity: `can_moderate`
    CLEAR = "clear"  # clear the history: `can_clear`
    DESTROY = "destroy"  # VM start/stop, delete: `can_destroy`
    CLIPBOARD = "clipboard"  # the VM's clipboard: `can_use_clipboard`
    ADMINISTER = "administer"  # `/v1/admin/chats/*` actions: `can_administer` (no visibility gate)
    INSPECT = "inspect"  # `/v1/admin/chats/*` reads: the route's Admin+ gate decided (no visibility gate)
    LEAVE = "leave"  # leave: one who cannot see a group chat is not a member of it (404 "Member not found")


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


async def access_chat(
    session: AsyncSession,
    actor: User,
    chat_id: int,
    *,
    need: Need = Need.VIEW,
    lock: bool = False,
    group_only: bool = False,
    is_host: bool = False,
    refuse_banned_at: datetime | None = None,
) -> ChatContext:
    """The chat as `actor` may use it, or the contract's error, in this order:

    404 "Chat not found" → 403 for those who may not see it (not for the admin routes, whose Admin+ gate
    came first) → 409 ERR_DIRECT_CHAT for group-only actions on a direct chat → 403 without the right.
    Every right beyond viewing is group-only; `group_only` makes a viewing action group-only too (screen,
    screenshot, leave). `lock` takes the chat row's lock for the rest of the transaction. `is_host`
    (from the control state) matters for `Need.CLIPBOARD` only. `refuse_banned_at` (the time now) makes a
    user banned from the chat get 403 ERR_BANNED right after the visibility check: the chat's content
    (history, members, activity) is closed to them, as joining is (docs/decisions.md).
    """
    ctx, banned = await _context_of(session, actor, chat_id, lock=lock, banned_at=refuse_banned_at)
    chat = ctx.chat
    if need not in (Need.ADMINISTER, Need.INSPECT) and not can_see(ctx):
        if need is Need.LEAVE and chat.chat_type == ChatType.GROUP:
            raise NotFound("Member")
        raise AccessDenied()
    if banned:
        raise coded(ErrorCode.BANNED, 403)
    if chat.chat_type == ChatType.DIRECT and (group_only or need not in (Need.VIEW, Need.INSPECT)):
        raise coded(ErrorCode.DIRECT_CHAT, 409)
    if not has_right(ctx, need, is_host=is_host):
        raise AccessDenied()
    return ctx


async def _context_of(
    session: AsyncSession, actor: User, chat_id: int, *, lock: bool, banned_at: datetime | None
) -> tuple[ChatContext, bool]:
    """The actor's view of the chat and whether a ban is in force at `banned_at` (False when None), in one
    statement (`chats_db.access_facts`); `lock` takes the chat row's lock for the transaction."""
    facts = await chats_db.access_facts(session, chat_id, actor.id, banned_at=banned_at, lock=lock)
    if facts is None:
        raise NotFound("Chat")
    ctx = ChatContext(chat=facts.chat, owner=facts.owner, actor=actor, is_member=facts.is_member)
    return ctx, facts.is_banned


async def load_chat(session: AsyncSession, chat_id: int, *, lock: bool = False) -> Chat:
    """The chat, or 404 "Chat not found". Checks nothing else: for the CLI and the system (`actor=None`)."""
    chat = await (chats_db.get_for_update if lock else chats_db.get)(session, chat_id)
    if chat is None:
        raise NotFound("Chat")
    return chat


async def operator_chat(session: AsyncSession, chat_id: int, *, lock: bool = False) -> Chat:
    """A group chat for an operator action without an actor (the CLI: `actor=None`): the admin routes'
    checks less the level rules, so 404 "Chat not found", then 409 ERR_DIRECT_CHAT for a direct chat."""
    chat = await load_chat(session, chat_id, lock=lock)
    if chat.chat_type == ChatType.DIRECT:
        raise coded(ErrorCode.DIRECT_CHAT, 409)
    return chat


async def chat_context(session: AsyncSession, chat: Chat, actor: User) -> ChatContext:
    """The facts the rules need about a loaded chat: its owner and the actor's membership."""
    owner = await users_db.get(session, chat.owner_id) if chat.owner_id is not None else None
    member = await chats_db.membership(session, chat.id, actor.id)
    return ChatContext(chat=chat, owner=owner, actor=actor, is_member=member is not None)


def has_right(ctx: ChatContext, need: Need, *, is_host: bool = False) -> bool:
    match need:
        case Need.VIEW | Need.INSPECT | Need.LEAVE:
            return True  # visibility was checked (or is not checked) by the caller
        case Need.MANAGE:
            return can_manage(ctx)
        case Need.MODERATE:
            return can_moderate(ctx)
        case Need.CLEAR:
            return can_clear(ctx)
        case Need.DESTROY:
            return can_destroy(ctx)
        case Need.CLIPBOARD:
            return can_use_clipboard(ctx, is_host=is_host)
        case Need.ADMINISTER:
            return can_administer(ctx)


def can_see(ctx: ChatContext) -> bool:
    """May view / join: listed chats for registered users; private ones for owner, members, Admin+."""
    if ctx.actor.is_stranger:
        return ctx.chat.chat_type == ChatType.DIRECT and ctx.is_member
    if ctx.chat.chat_type == ChatType.DIRECT:
        return ctx.is_member
    if ctx.is_listed or ctx.is_owner or ctx.is_member:
        return True
    return ctx.actor.permission_level >= Level.ADMIN


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
    """Portal start / stop / delete: the owner, or a platform Owner."""
    return ctx.is_owner or ctx.actor.permission_level == Level.OWNER


def can_clear(ctx: ChatContext) -> bool:
    """Clear the history: the owner, or Admin+ with rank over the owner; Moderators cannot."""
    if ctx.is_owner:
        return True
    if ctx.actor.permission_level < Level.ADMIN:
        return False
    return ctx.owner is None or can_act_on(ctx.actor, ctx.owner)


def can_use_clipboard(ctx: ChatContext, *, is_host: bool) -> bool:
    """Private chats: the owner only; listed chats: a chat manager or the current host."""
    if ctx.chat.visibility == Visibility.PRIVATE:
        return ctx.is_owner
    return can_manage(ctx) or is_host


def can_administer(ctx: ChatContext) -> bool:
    """The admin chat routes (update, delete, start, stop, kick) act on chats the caller owns, that have no
    owner, or whose owner the caller outranks (owning passes the hierarchy check)."""
    if ctx.is_owner or ctx.owner is None:
        return True
    return can_act_on(ctx.actor, ctx.owner)


def may_target(ctx: ChatContext, target: User) -> bool:
    """May this chat-scoped action hit `target` (either path, as owner or by rank, suffices)?"""
    if target.id == ctx.actor.id:
        return False
    as_owner = ctx.is_owner and target.permission_level <= ctx.actor.permission_level
    by_rank = can_moderate_by_rank(ctx) and can_act_on(ctx.actor, target)
    return as_owner or by_rank


def can_moderate_by_rank(ctx: ChatContext) -> bool:
    """Private chats: Admin+ who outrank the owner (abuse reports); listed chats: anyone who outranks the
    owner (so a Moderator over User-owned chats). Moderators never act by rank in private chats."""
    if ctx.chat.visibility == Visibility.PRIVATE and ctx.actor.permission_level < Level.ADMIN:
        return False
    return ctx.owner is not None and can_act_on(ctx.actor, ctx.owner)


def can_target_by_rank(ctx: ChatContext, target: User) -> bool:
    """The rank path allows hitting `target` (a platform Owner who owns the chat has both paths)."""
    return can_moderate_by_rank(ctx) and can_act_on(ctx.actor, target)


# ---- creating chats -------------------------------------------------------------------------------


def may_create_private(actor: User, now: datetime) -> bool:
    """Private group chats are for premium users and Admin+."""
    return is_premium(actor, now) or actor.permission_level >= Level.ADMIN


def chat_slots(user: User, now: datetime, admin_slots: int) -> int | None:
    """Group-chat slots: the override, else the tier's, raised to `admin_slots` for Admins; None = unlimited
    (Owners). See docs/decisions.md, "Chats"."""
    if user.chat_slots_override is not None:
        return user.chat_slots_override
    if user.permission_level >= Level.OWNER:
        return None
    slots = TIER_SLOTS[Tier(effective_tier(user, now))]
    return max(slots, admin_slots) if user.permission_level == Level.ADMIN else slots


async def check_chat_slot(session: AsyncSession, user: User, *, now: datetime, admin_slots: int) -> None:
    """409 ERR_CHAT_SLOT_LIMIT when `user` owns all their slots. Runs inside the caller's transaction, which
    holds the user's row lock (`users_db.get_for_update`; on SQLite every write transaction holds the
    database's write lock), so two creations at once cannot both take the last slot."""
    slots = chat_slots(user, now, admin_slots)
    if slots is not None and await chats_db.count_owned(session, user.id) >= slots:
        raise coded(ErrorCode.CHAT_SLOT_LIMIT, 409)
