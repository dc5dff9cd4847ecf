// The server's chat rules, as far as the browser can know them, for explaining before and after a refusal.
// The server decides (portal/services/chat_access.py): these only shape what the pages offer and say.
import { TIER_NAMES, type Chat, type Me } from "../lib/types";

/** Levels (portal/services/permissions.py). */
export const LEVEL = { USER: 0, MODERATOR: 1, ADMIN: 2, OWNER: 3 } as const;
/** Group-chat slots per tier (`TIER_SLOTS`): Basic, Trial, Premium, Lifetime. */
const TIER_SLOTS = [0, 1, 3, 5] as const;
/** `PORTAL_ADMIN_CHAT_SLOTS`' default. */
const ADMIN_SLOTS = 10;

/** `may_create_private`: new chats are private, which needs Premium/Trial (the effective tier) or Admin+. */
export function mayCreateChats(user: Me): boolean {
  return user.subscription_tier >= 1 || user.permission_level >= LEVEL.ADMIN;
}

/** `chat_slots` without the per-user override the browser cannot see; null = unlimited (Owners). */
export function slotsOf(user: Me): number | null {
  if (user.permission_level >= LEVEL.OWNER) return null;
  const tier = TIER_SLOTS[user.subscription_tier] ?? 0;
  return user.permission_level === LEVEL.ADMIN ? Math.max(tier, ADMIN_SLOTS) : tier;
}

/** One line about the slots: "You own 1 chat; Premium gives 3 chat slots." */
export function slotRule(user: Me, slots: number | null, owned: number | null): string {
  const ownText = owned === null ? "" : `You own ${owned} ${owned === 1 ? "chat" : "chats"}. `;
  if (slots === null) return `${ownText}As a platform Owner you have no slot limit.`;
  const who =
    user.permission_level === LEVEL.ADMIN ? "As an Admin you have" : `${TIER_NAMES[user.subscription_tier] ?? "Your plan"} gives`;
  return `${ownText}${who} ${slots} chat ${slots === 1 ? "slot" : "slots"} (unless an admin set another number for you); each chat you own takes one.`;
}

/** May see the manage page's danger actions (the server still decides). */
export function isOwner(chat: Chat, user: Me): boolean {
  return chat.owner?.id === user.id;
}

/** `can_destroy`: the owner, or a platform Owner. */
export function mayDestroy(chat: Chat, user: Me): boolean {
  return isOwner(chat, user) || user.permission_level >= LEVEL.OWNER;
}

/** `can_clear`, roughly: the owner, or Admin+ (who must also outrank the owner: the server checks that). */
export function mayClear(chat: Chat, user: Me): boolean {
  return isOwner(chat, user) || user.permission_level >= LEVEL.ADMIN;
}
