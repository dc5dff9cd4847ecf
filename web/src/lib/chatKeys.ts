// The browser as an E2EE chat participant: a port of portal/client/secure.py (the SDK's SecureChat) for one
// chat. It keeps every chat key it receives in IndexedDB (per user, chat and epoch) so history stays
// readable after a reload, follows the chat's epoch (only forward), and plays the distributor when the
// server names this session (`key:needed`): the key it holds for that epoch, else the one it already made
// for it, else a new one, wrapped for each listed session separately.
//
// Our own `session_id` is not known to JS (the session cookie is httpOnly): it is found by matching this
// browser's public key in the join ack's `public_keys` (or in a `key:needed` list).
import { signal } from "@preact/signals";
import { type KeyPair, E2EEError, decrypt, envelopeEpoch, newChatKey, toBase64, unwrap, wrap } from "./crypto/e2ee";
import { loadChatKeys, saveChatKey } from "./keystore";
import { sessionKeys } from "./session";
import { on, request } from "./socket";
import type { Distributor, HistoryMessage, JoinAck, SessionKey } from "./types";

/** What this browser knows about one session in the room and the current epoch's key. */
export type KeyState = "holds" | "waiting" | "unknown";

export interface RoomSession extends SessionKey {
  state: KeyState;
}

interface KeyNeeded {
  chat_id: number;
  epoch: number;
  sessions: SessionKey[];
}

/** Told to the room page: epoch changes go into the timeline. */
export type KeyEvent = { kind: "epoch"; epoch: number };

export class ChatKeys {
  /** The chat's current epoch, as far as this browser knows (-1 before the join). */
  readonly epoch = signal(-1);
  readonly distributor = signal<Distributor | null>(null);
  /** Sessions in the room with a registered key, by session id. */
  readonly sessions = signal<Map<string, RoomSession>>(new Map());
  /** Bumped when a key arrives, so the timeline decrypts again. */
  readonly version = signal(0);
  readonly mySessionId = signal<string | null>(null);
  myPublicKey = "";

  private keys = new Map<number, Uint8Array>();
  private made = new Map<number, Uint8Array>();
  private pair: KeyPair | null = null;
  private ready: Promise<void>;
  private queue: Promise<void> = Promise.resolve();
  private waiters = new Set<() => void>();
  private unsubscribe: (() => void)[] = [];
  private closed = false;
  /** Every `key:distribute` this browser sent (kept for tests and the encryption panel). */
  readonly distributed: { epoch: number; count: number; ok: boolean }[] = [];

  constructor(
    readonly chatId: number,
    readonly userId: number,
    private readonly onEvent: (event: KeyEvent) => void = () => undefined,
  ) {
    this.ready = this.load();
    const mine = <T extends { chat_id: number }>(handler: (data: T) => void) => (data: T) => {
      if (!this.closed && data && data.chat_id === this.chatId) handler(data);
    };
    this.unsubscribe = [
      on<{ chat_id: number; epoch: number; blob: string }>("key:received", mine((d) => void this.received(d.epoch, d.blob))),
      on<{ chat_id: number; epoch: number; distributor: Distributor | null }>(
        "room:epoch_changed",
        mine((d) => {
          this.distributor.value = d.distributor ?? null;
          this.seeEpoch(d.epoch);
        }),
      ),
      on<KeyNeeded>("key:needed", mine((d) => this.serialized(() => this.keyNeeded(d)))),
      on<SessionKey & { chat_id: number }>(
        "portal:key_added",
        mine((d) => this.putSession({ user_id: d.user_id, session_id: d.session_id, public_key: d.public_key, state: "unknown" })),
      ),
      on<{ chat_id: number; user_id: number; session_id?: string }>(
        "portal:key_removed",
        mine((d) => {
          const next = new Map(this.sessions.value);
          for (const [id, s] of next) {
            if (s.user_id === d.user_id && (!d.session_id || d.session_id === id)) next.delete(id);
          }
          this.sessions.value = next;
        }),
      ),
    ];
  }

  private async load(): Promise<void> {
    this.pair = await sessionKeys();
    this.myPublicKey = toBase64(this.pair.publicKey);
    const stored = await loadChatKeys(this.userId, this.chatId);
    for (const [epoch, key] of stored) if (!this.keys.has(epoch)) this.keys.set(epoch, key);
    this.bump();
  }

  /** Wait until the stored keys and this session's key pair are loaded. */
  whenReady(): Promise<void> {
    return this.ready;
  }

  close(): void {
    this.closed = true;
    this.unsubscribe.forEach((stop) => stop());
    this.unsubscribe = [];
    this.bump();
  }

  /** Take in a `room:join` ack (also a re-join after a reconnect). */
  async joined(ack: JoinAck): Promise<void> {
    await this.ready;
    const mine = ack.public_keys.find((s) => s.public_key === this.myPublicKey);
    if (mine) this.mySessionId.value = mine.session_id;
    this.distributor.value = ack.distributor;
    const known = this.sessions.value;
    const next = new Map<string, RoomSession>();
    for (const s of ack.public_keys) {
      next.set(s.session_id, { ...s, state: known.get(s.session_id)?.state ?? "unknown" });
    }
    this.sessions.value = next;
    this.seeEpoch(ack.epoch, { quiet: true });
    if (ack.key) await this.received(ack.key.epoch, ack.key.blob);
    this.refreshStates();
  }

  // ---- keys -------------------------------------------------------------------------------------

  currentKey(): Uint8Array | null {
    return this.keys.get(this.epoch.value) ?? null;
  }

  hasKey(epoch: number): boolean {
    return this.keys.has(epoch);
  }

  /** The current epoch's key and that epoch; waits for a distributor to deliver it. */
  async waitForKey(timeoutMs = 20_000): Promise<{ key: Uint8Array; epoch: number }> {
    await this.ready;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.closed) throw new E2EEError("left the chat");
      const key = this.currentKey();
      if (key) return { key, epoch: this.epoch.value };
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new E2EEError("no key for the current epoch yet");
      await this.nextChange(remaining);
    }
  }

  /** After ERR_EPOCH_MISMATCH: wait until the epoch has moved past `epoch` (or a while has passed). */
  async waitForEpochAfter(epoch: number, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.epoch.value <= epoch && !this.closed && Date.now() < deadline) {
      await this.nextChange(deadline - Date.now());
    }
  }

  /** Resolves at the next key or epoch change (the waiters are woken), or after `ms`. */
  private nextChange(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = window.setTimeout(done, ms);
      const waiters = this.waiters;
      function done() {
        window.clearTimeout(timer);
        waiters.delete(done);
        resolve();
      }
      waiters.add(done);
    });
  }

  /** Plain text of a history / `message:new` object; null when this browser lacks its epoch's key. */
  open(message: HistoryMessage): string | null {
    if (message.type === "system") return message.content;
    let epoch: number;
    try {
      epoch = envelopeEpoch(message.content);
    } catch {
      return null;
    }
    const key = this.keys.get(epoch);
    if (!key) return null;
    try {
      return decrypt(key, message.content);
    } catch {
      return null;
    }
  }

  private bump(): void {
    this.version.value++;
    this.waiters.forEach((wake) => wake());
  }

  /** Epochs only move forward: a late event about an older one changes nothing. */
  private seeEpoch(epoch: number, { quiet = false } = {}): void {
    if (epoch > this.epoch.value) {
      const first = this.epoch.value < 0;
      this.epoch.value = epoch;
      if (!first && !quiet) this.onEvent({ kind: "epoch", epoch });
      this.refreshStates();
    }
    this.bump();
  }

  private async received(epoch: number, blob: string): Promise<void> {
    await this.ready;
    if (!this.pair) return;
    let key: Uint8Array;
    try {
      key = unwrap(blob, this.pair);
    } catch {
      console.info(`a key for chat ${this.chatId} epoch ${epoch} did not open with this session's key`);
      return;
    }
    this.keys.set(epoch, key);
    try {
      await saveChatKey(this.userId, this.chatId, epoch, key);
    } catch {
      // Private browsing without IndexedDB: the key still works until the page reloads.
    }
    this.refreshStates();
    this.bump();
  }

  // ---- who holds what ----------------------------------------------------------------------------

  private putSession(session: RoomSession): void {
    const next = new Map(this.sessions.value);
    next.set(session.session_id, { ...session, state: next.get(session.session_id)?.state ?? session.state });
    this.sessions.value = next;
  }

  private setState(ids: Iterable<string>, state: KeyState): void {
    const next = new Map(this.sessions.value);
    for (const id of ids) {
      const s = next.get(id);
      if (s) next.set(id, { ...s, state });
    }
    this.sessions.value = next;
  }

  /** Our own state is always known; the distributor holds the key it hands out. */
  private refreshStates(): void {
    const me = this.mySessionId.value;
    const updates: [string, KeyState][] = [];
    if (me) updates.push([me, this.currentKey() ? "holds" : "waiting"]);
    const d = this.distributor.value;
    if (d && d.session_id !== me && this.sessions.value.get(d.session_id)?.state === "unknown") {
      updates.push([d.session_id, "holds"]);
    }
    for (const [id, state] of updates) this.setState([id], state);
  }

  // ---- the distributor ---------------------------------------------------------------------------

  /** One `key:needed` at a time per chat: two for a new epoch must carry one key. */
  private serialized(task: () => Promise<void>): void {
    this.queue = this.queue.then(task).catch((error: unknown) => {
      console.info("key distribution failed", error);
    });
  }

  private async keyNeeded(data: KeyNeeded): Promise<void> {
    await this.ready;
    const { epoch, sessions } = data;
    const mine = sessions.find((s) => s.public_key === this.myPublicKey);
    if (mine) this.mySessionId.value = mine.session_id;
    if (this.mySessionId.value) {
      const me = this.sessions.value.get(this.mySessionId.value);
      this.distributor.value = { user_id: this.userId, session_id: this.mySessionId.value };
      if (!me) this.putSession({ user_id: this.userId, session_id: this.mySessionId.value, public_key: this.myPublicKey, state: "waiting" });
    }
    this.seeEpoch(epoch);
    for (const s of sessions) this.putSession({ ...s, state: "waiting" });
    this.setState(
      sessions.map((s) => s.session_id),
      "waiting",
    );
    let key = this.keys.get(epoch) ?? this.made.get(epoch);
    if (!key) {
      key = newChatKey();
      this.made.set(epoch, key);
    }
    const keys: { user_id: number; session_id: string; blob: string }[] = [];
    for (const s of sessions) {
      try {
        keys.push({ user_id: s.user_id, session_id: s.session_id, blob: wrap(key, s.public_key) });
      } catch {
        // A public key that cannot be sealed to: skip it so the others still get the key.
        console.info(`skipped session ${s.session_id} of user ${s.user_id}: its public key cannot be sealed to`);
      }
    }
    if (keys.length === 0 || this.closed) return; // silence lets the server's deadline name someone else
    try {
      await request("key:distribute", { chat_id: this.chatId, epoch, keys });
      this.distributed.push({ epoch, count: keys.length, ok: true });
      this.setState(
        keys.map((k) => k.session_id).filter((id) => id !== this.mySessionId.value),
        "holds",
      );
    } catch (error) {
      this.distributed.push({ epoch, count: keys.length, ok: false });
      console.info(`key:distribute for chat ${this.chatId} epoch ${epoch} failed`, error);
    }
  }
}
