// The state of one open room: the join, the timeline (history + live messages + local notices), members,
// typing, mutes, and the E2EE participant. The page renders it; nothing here touches the DOM.
import { signal } from "@preact/signals";
import { notify } from "../../components/Notice";
import { ApiError, api } from "../../lib/api";
import { ChatKeys } from "../../lib/chatKeys";
import { encrypt } from "../../lib/crypto/e2ee";
import { AckError, describeError } from "../../lib/errors";
import { navigate } from "../../lib/router";
import { emit, on, onReconnect, request } from "../../lib/socket";
import type { Chat, HistoryMessage, JoinAck, MemberEntry } from "../../lib/types";
import { type MatchInfo, matchInfo, tokenFor } from "../match/state";

export const PAGE_SIZE = 50;

export type TimelineItem =
  | { kind: "message"; key: string; message: HistoryMessage }
  | { kind: "notice"; key: string; text: string; tone: "info" | "key" | "warn"; at: string };

interface Typist {
  userId: number;
  until: number;
}

let noticeCounter = 0;

export class RoomModel {
  readonly chat = signal<Chat | null>(null);
  readonly error = signal<string | null>(null);
  readonly joined = signal(false);
  readonly items = signal<TimelineItem[]>([]);
  readonly hasMore = signal(false);
  readonly loadingEarlier = signal(false);
  readonly members = signal<MemberEntry[]>([]);
  readonly typing = signal<Typist[]>([]);
  /** ms timestamp the mute ends, Infinity until unmuted, null when not muted. */
  readonly mutedUntil = signal<number | null>(null);
  readonly hardMuted = signal(false);
  readonly sending = signal<"idle" | "waiting-key" | "sending">("idle");
  readonly keys: ChatKeys;
  /** The latest `room:join` ack (its `live`, `vm` and `control` feed room/browserModel.ts). */
  readonly lastAck = signal<JoinAck | null>(null);

  private stops: (() => void)[] = [];
  private closed = false;
  private lastTypingSent = 0;
  private typingTimer = 0;

  constructor(
    readonly chatId: number,
    readonly me: { id: number; username: string; permission_level: number },
  ) {
    this.keys = new ChatKeys(chatId, me.id, (event) => {
      if (event.kind === "epoch") this.notice(`Encryption key changed (epoch ${event.epoch})`, "key");
    });
    const mine = <T extends { chat_id: number }>(handler: (data: T) => void) => (data: T) => {
      if (!this.closed && data && data.chat_id === this.chatId) handler(data);
    };
    this.stops.push(
      on<HistoryMessage>("message:new", mine((m) => this.add([m]))),
      on<{ chat_id: number; ids: string[] }>(
        "message:bulk_deleted",
        mine((d) => {
          const gone = new Set(d.ids);
          this.items.value = this.items.value.filter((i) => i.kind !== "message" || !gone.has(i.message.id));
        }),
      ),
      on<{ chat_id: number; cleared: number }>(
        "portal:cleared",
        mine(() => {
          this.items.value = [];
          this.hasMore.value = false;
          this.notice("The chat was cleared: earlier messages were deleted.", "warn");
        }),
      ),
      on<{ chat_id: number; members: MemberEntry[] }>("room:members", mine((d) => (this.members.value = d.members))),
      on<{ chat_id: number; user_id: number }>("typing", mine((d) => this.sawTyping(d.user_id))),
      on<{ chat_id: number; user_id: number; ttl: number; reason: string | null }>(
        "user:muted",
        mine((d) => {
          const who = d.user_id === this.me.id ? "You were" : `${this.nameOf(d.user_id)} was`;
          const span = d.ttl > 0 ? ` for ${formatSpan(d.ttl)}` : " until unmuted";
          this.notice(`${who} muted${span}${d.reason ? ` (${d.reason})` : ""}.`, "warn");
          if (d.user_id === this.me.id) this.mutedUntil.value = d.ttl > 0 ? Date.now() + d.ttl * 1000 : Infinity;
        }),
      ),
      on<{ chat_id: number; user_id: number }>(
        "user:unmuted",
        mine((d) => {
          this.notice(`${d.user_id === this.me.id ? "You were" : `${this.nameOf(d.user_id)} was`} unmuted.`, "info");
          if (d.user_id === this.me.id) this.mutedUntil.value = null;
        }),
      ),
      on<{ chat_id: number; user_id: number }>(
        "user:banned",
        // The server posts "{name} was banned" to the timeline itself; only the banned person acts.
        mine((d) => {
          if (d.user_id === this.me.id) this.leaveToLobby("You were banned from this chat.");
        }),
      ),
      on<{ chat_id: number; user_id: number }>(
        "user:unbanned",
        mine((d) => this.notice(`${this.nameOf(d.user_id)} was unbanned.`, "info")),
      ),
      on<{ chat_id: number; reason?: string | null }>(
        "room:kicked",
        mine((d) =>
          this.leaveToLobby(`You were removed from ${this.chatName()}${d.reason ? `: ${d.reason}` : "."}`),
        ),
      ),
      on<{ chat_id: number; archived?: boolean }>(
        "room:destroyed",
        mine((d) => {
          if (d.archived) this.directEnded(); // a direct chat ended: it stays readable here
          else this.leaveToLobby(`${this.chatName()} was deleted or is no longer visible to you.`);
        }),
      ),
      on<{ user_id: number; ttl: number }>("user:hard_muted", (d) => {
        if (d.user_id === this.me.id) this.hardMuted.value = true;
      }),
      on<{ user_id: number }>("user:hard_unmuted", (d) => {
        if (d.user_id === this.me.id) this.hardMuted.value = false;
      }),
      onReconnect(() => void this.join(true)),
      ...this.directEvents(),
    );
  }

  chatName(): string {
    return this.chat.value?.name ?? "this chat";
  }

  nameOf(userId: number): string {
    if (userId === this.me.id) return "You";
    const member = this.members.value.find((m) => m.user.id === userId);
    if (member) return member.user.username;
    for (const item of this.items.value) {
      if (item.kind === "message" && item.message.sender?.id === userId) return item.message.sender.username;
    }
    return `User ${userId}`;
  }

  // ---- joining ---------------------------------------------------------------------------------

  async join(again = false): Promise<void> {
    if (this.closed) return;
    this.joined.value = false;
    try {
      const ack = await request<JoinAck>("room:join", this.joinPayload());
      if (this.closed) return;
      this.chat.value = ack.chat;
      this.members.value = ack.members;
      this.lastAck.value = ack;
      await this.keys.joined(ack);
      this.joined.value = true;
      this.error.value = null;
      await this.loadLatest(again);
    } catch (error) {
      if (this.closed) return;
      if (error instanceof AckError && error.code === "ERR_TIMEOUT" && again) return; // next reconnect retries
      if (error instanceof AckError && error.code === "ERR_CHAT_ARCHIVED") {
        await this.openArchived();
        return;
      }
      this.error.value = describeError(error);
    }
  }

  /** Re-read the join ack (fresh `public_keys` for the encryption panel); a second join changes nothing. */
  async refreshSessions(): Promise<void> {
    try {
      const ack = await request<JoinAck>("room:join", { chat_id: this.chatId });
      await this.keys.joined(ack);
      this.members.value = ack.members;
    } catch {
      // The panel shows what is known.
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stops.forEach((stop) => stop());
    this.keys.close();
    window.clearTimeout(this.typingTimer);
    // A direct chat is left with Stop / Next (or by closing the tab), not by looking at another page:
    // leaving its room would start the peer's countdown (docs/decisions.md, web client part 2).
    if (!this.isDirect()) emit("room:leave", { chat_id: this.chatId });
  }

  private leaveToLobby(why: string): void {
    notify(why, "error", 8000);
    navigate("/");
  }

  // ---- the timeline ------------------------------------------------------------------------------

  private async loadLatest(merge: boolean): Promise<void> {
    const page = await api.get<HistoryMessage[]>(`/v1/portal/chats/${this.chatId}/history`, { limit: PAGE_SIZE });
    if (this.closed) return;
    if (!merge) {
      const live = this.items.value;
      this.items.value = [];
      this.add(page);
      this.add(live.flatMap((i) => (i.kind === "message" ? [i.message] : [])));
      this.items.value = [...this.items.value, ...live.filter((i) => i.kind === "notice")];
      this.hasMore.value = page.length === PAGE_SIZE;
    } else {
      this.add(page);
    }
  }

  async loadEarlier(): Promise<void> {
    const first = this.items.value.find((i) => i.kind === "message");
    if (!first || first.kind !== "message" || this.loadingEarlier.value) return;
    this.loadingEarlier.value = true;
    try {
      const page = await api.get<HistoryMessage[]>(`/v1/portal/chats/${this.chatId}/history`, {
        limit: PAGE_SIZE,
        before: first.message.id,
      });
      const known = new Set(this.messageIds());
      const older: TimelineItem[] = page
        .filter((m) => !known.has(m.id))
        .map((m) => ({ kind: "message", key: m.id, message: m }));
      this.items.value = [...older, ...this.items.value];
      this.hasMore.value = page.length === PAGE_SIZE;
    } catch (error) {
      notify(describeError(error), "error");
    } finally {
      this.loadingEarlier.value = false;
    }
  }

  private messageIds(): string[] {
    return this.items.value.flatMap((i) => (i.kind === "message" ? [i.message.id] : []));
  }

  /** Append messages not seen yet (live ones, or a page read after a reconnect), in id order. */
  private add(messages: HistoryMessage[]): void {
    const known = new Set(this.messageIds());
    const fresh = messages.filter((m) => !known.has(m.id)).sort((a, b) => compareIds(a.id, b.id));
    if (fresh.length === 0) return;
    this.items.value = [...this.items.value, ...fresh.map((m): TimelineItem => ({ kind: "message", key: m.id, message: m }))];
    for (const m of fresh) if (m.sender) this.stopTyping(m.sender.id);
  }

  notice(text: string, tone: "info" | "key" | "warn" = "info"): void {
    const key = `notice-${++noticeCounter}`;
    this.items.value = [...this.items.value, { kind: "notice", key, text, tone, at: new Date().toISOString() }];
  }

  // ---- sending -----------------------------------------------------------------------------------

  /** Encrypt for the current epoch and send; waits for the key, and retries once after a key change. */
  async send(text: string): Promise<boolean> {
    for (let attempt = 0; attempt < 2; attempt++) {
      if (!this.keys.currentKey()) this.sending.value = "waiting-key";
      let key: { key: Uint8Array; epoch: number };
      try {
        key = await this.keys.waitForKey();
      } catch {
        this.sending.value = "idle";
        notify("The encryption key did not arrive. Try again in a moment.", "error");
        return false;
      }
      this.sending.value = "sending";
      try {
        await api.post(`/v1/portal/chats/${this.chatId}/messages`, { content: encrypt(key.key, key.epoch, text) });
        this.sending.value = "idle";
        return true;
      } catch (error) {
        this.sending.value = "idle";
        if (error instanceof ApiError && error.error === "ERR_EPOCH_MISMATCH" && attempt === 0) {
          await this.keys.waitForEpochAfter(key.epoch);
          continue;
        }
        if (error instanceof ApiError && error.error === "ERR_MUTED") {
          const ttl = error.ttl;
          this.mutedUntil.value = ttl && ttl > 0 ? Date.now() + ttl * 1000 : Infinity;
          return false;
        }
        if (error instanceof ApiError && error.error === "ERR_HARD_MUTED") {
          this.hardMuted.value = true;
        }
        notify(describeError(error), "error", 8000);
        return false;
      }
    }
    return false;
  }

  typed(): void {
    const now = Date.now();
    if (now - this.lastTypingSent < 2000) return;
    this.lastTypingSent = now;
    emit("typing", { chat_id: this.chatId });
  }

  private sawTyping(userId: number): void {
    if (userId === this.me.id) return;
    const until = Date.now() + 4000;
    this.typing.value = [...this.typing.value.filter((t) => t.userId !== userId), { userId, until }];
    this.scheduleTypingExpiry();
  }

  private stopTyping(userId: number): void {
    if (this.typing.value.some((t) => t.userId === userId)) {
      this.typing.value = this.typing.value.filter((t) => t.userId !== userId);
    }
  }

  private scheduleTypingExpiry(): void {
    window.clearTimeout(this.typingTimer);
    const next = Math.min(...this.typing.value.map((t) => t.until));
    if (!Number.isFinite(next)) return;
    this.typingTimer = window.setTimeout(() => {
      const now = Date.now();
      this.typing.value = this.typing.value.filter((t) => t.until > now);
      if (this.typing.value.length) this.scheduleTypingExpiry();
    }, Math.max(50, next - Date.now()));
  }

  // ---- deletes and moderation -------------------------------------------------------------------

  async deleteIds(ids: string[]): Promise<number> {
    const answer = await api.post<{ deleted: number }>(`/v1/portal/chats/${this.chatId}/messages/delete`, { ids });
    return answer.deleted;
  }

  async deleteMine(): Promise<number> {
    const answer = await api.post<{ deleted: number }>(`/v1/portal/chats/${this.chatId}/messages/delete-mine`, {});
    return answer.deleted;
  }

  async deleteLast(count: number): Promise<number> {
    const answer = await api.post<{ deleted: number }>(`/v1/portal/chats/${this.chatId}/messages/delete-last`, {
      count,
    });
    return answer.deleted;
  }

  async moderate(action: ModAction, userId: number, duration: number, reason: string): Promise<void> {
    const why = reason.trim() || undefined;
    if (action === "kick") {
      await request("room:kick", { chat_id: this.chatId, user_id: userId, ...(why ? { reason: why } : {}) });
      return;
    }
    const body: Record<string, unknown> = { user_id: userId };
    if (why) body["reason"] = why;
    if (action === "mute" || action === "ban" || action === "timeout") body["duration"] = duration;
    await api.post(`/v1/portal/chats/${this.chatId}/${action}`, body);
  }

  // ---- direct chats (matchmaking) ---------------------------------------------------------------
  // A direct chat has two members. The peer's presence comes as `room:peer_left {grace_until_ms}` (a
  // countdown; 0 = it ended) and `room:peer_back`; the end as `room:destroyed {archived: true}`. Once
  // ended (archived), the chat stays readable: the history loads over REST and the keys come from
  // IndexedDB (the server purged the key blobs), and the composer gives way to Next / Back.

  /** Unix ms the chat ends unless the peer comes back; null while the peer is here. */
  readonly peerAwayUntil = signal<number | null>(null);
  /** Why the direct chat ended, as far as this page saw it. */
  readonly endedBy = signal<"peer" | "me" | "ended" | null>(null);
  /** Direct-chat state changes in words, for an aria-live region. */
  readonly directNews = signal("");

  isDirect(): boolean {
    return this.chat.value?.chat_type === "direct" || tokenFor(this.chatId) !== undefined;
  }

  /** What `match:found` said about this chat (interests, the peer's country), when this browser heard it. */
  matchInfo(): MatchInfo | null {
    return matchInfo(this.chatId);
  }

  /** The other member: from the join ack's members, else the match, else the history's senders. */
  peer(): { id: number; username: string } | null {
    const member = this.members.value.find((m) => m.user.id !== this.me.id);
    if (member) return member.user;
    const info = this.matchInfo();
    if (info) return info.peer;
    for (const item of this.items.value) {
      const sender = item.kind === "message" ? item.message.sender : null;
      if (sender && sender.id !== this.me.id) return sender;
    }
    return null;
  }

  peerName(): string {
    return this.peer()?.username ?? "The other person";
  }

  /** Join by the match token when this tab has it (the contract's way in), else by id (members may). */
  private joinPayload(): Record<string, unknown> {
    const token = tokenFor(this.chatId);
    return token ? { token } : { chat_id: this.chatId };
  }

  private directEvents(): (() => void)[] {
    const mine = <T extends { chat_id: number }>(handler: (data: T) => void) => (data: T) => {
      if (!this.closed && data && data.chat_id === this.chatId) handler(data);
    };
    return [
      on<{ chat_id: number; user_id: number; grace_until_ms: number }>(
        "room:peer_left",
        mine((d) => {
          if (d.user_id === this.me.id) return;
          if (d.grace_until_ms > 0) {
            this.peerAwayUntil.value = d.grace_until_ms;
            const seconds = Math.max(0, Math.round((d.grace_until_ms - Date.now()) / 1000));
            this.directNews.value = `${this.peerName()} lost connection. The chat ends in ${seconds} seconds unless they come back.`;
          } else {
            this.peerAwayUntil.value = null;
            if (!this.endedBy.value) this.endedBy.value = "peer";
            this.directNews.value = `${this.peerName()} left. The chat has ended.`;
          }
        }),
      ),
      on<{ chat_id: number; user_id: number }>(
        "room:peer_back",
        mine((d) => {
          if (d.user_id === this.me.id) return;
          this.peerAwayUntil.value = null;
          this.directNews.value = `${this.peerName()} is back.`;
        }),
      ),
    ];
  }

  /** `room:destroyed {archived: true}`: the chat ended (a leave, a grace that ran out, the 24 h expiry). */
  private directEnded(): void {
    this.peerAwayUntil.value = null;
    if (!this.endedBy.value) {
      this.endedBy.value = "ended";
      this.directNews.value = "The chat has ended.";
    }
    const chat = this.chat.value;
    if (chat) this.chat.value = { ...chat, archived: true };
    this.typing.value = [];
  }

  /** Stop (or the first half of Next) was pressed here: the end that follows is ours. */
  leavingByChoice(): void {
    this.endedBy.value = "me";
    this.directNews.value = "You left the chat.";
  }

  /** An ended chat is joined no more (`ERR_CHAT_ARCHIVED`): read it over REST with the stored keys. */
  private async openArchived(): Promise<void> {
    try {
      const chat = await api.get<Chat>(`/v1/portal/chats/${this.chatId}`);
      if (this.closed) return;
      await this.keys.whenReady();
      this.chat.value = { ...chat, archived: true };
      if (!this.endedBy.value) this.endedBy.value = "ended";
      // "Joined" here means open for reading: the page shows the timeline instead of an error.
      this.joined.value = true;
      this.error.value = null;
      await this.loadLatest(false);
    } catch (error) {
      if (!this.closed) this.error.value = describeError(error);
    }
  }
}

export type ModAction = "kick" | "mute" | "ban" | "timeout" | "warn";

export function compareIds(a: string, b: string): number {
  const [am = 0, as = 0] = a.split("-").map(Number);
  const [bm = 0, bs = 0] = b.split("-").map(Number);
  return am - bm || as - bs;
}

function formatSpan(seconds: number): string {
  if (seconds % 86400 === 0) return `${seconds / 86400} d`;
  if (seconds % 3600 === 0) return `${seconds / 3600} h`;
  if (seconds % 60 === 0) return `${seconds / 60} min`;
  return `${seconds} s`;
}
