// Who may do what in a chat, as portal/services/chat_access.py decides it (the server checks again; this
// only decides which controls to show).
import type { Chat } from "../../lib/types";

const OWNER = 3;
const ADMIN = 2;

interface Leveled {
  id: number;
  permission_level: number;
}

export function canActOn(actor: Leveled, target: { permission_level: number }): boolean {
  return actor.permission_level === OWNER || actor.permission_level > target.permission_level;
}

export class ChatRights {
  constructor(
    readonly chat: Chat,
    readonly me: Leveled,
    /** The owner's current level (from the member list), 0 if not known. */
    readonly ownerLevel: number,
  ) {}

  get isOwner(): boolean {
    return this.chat.owner?.id === this.me.id;
  }

  get listed(): boolean {
    return this.chat.visibility === "official" || this.chat.visibility === "public";
  }

  private get ownerRef(): Leveled | null {
    return this.chat.owner ? { id: this.chat.owner.id, permission_level: this.ownerLevel } : null;
  }

  get byRank(): boolean {
    if (this.chat.visibility === "private" && this.me.permission_level < ADMIN) return false;
    const owner = this.ownerRef;
    return owner !== null && canActOn(this.me, owner);
  }

  /** Kick, mute, ban, delete others' messages: `can_moderate`. */
  get canModerate(): boolean {
    return this.isOwner || this.byRank;
  }

  /** Config and invites: `can_manage`. */
  get canManage(): boolean {
    if (this.isOwner) return true;
    const owner = this.ownerRef;
    return this.listed && owner !== null && canActOn(this.me, owner);
  }

  /** `may_target`: may a chat-scoped action hit this user? */
  mayTarget(target: Leveled): boolean {
    if (target.id === this.me.id) return false;
    const asOwner = this.isOwner && target.permission_level <= this.me.permission_level;
    return asOwner || (this.byRank && canActOn(this.me, target));
  }
}
