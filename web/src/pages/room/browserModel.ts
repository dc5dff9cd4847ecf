// The shared browser of one room: whether it runs, how to show it (chromium frames or a neko embed), who
// controls it and who waits. Fed by the join ack (`live`, `vm`, `control`) and the room's events
// (`room:started`, `room:stopped`, `vm:credentials`, `vm:frame`, `control:update`); docs/realtime.md is the
// truth. Nothing here touches the DOM except the screenshot download.
import { computed, effect, signal } from "@preact/signals";
import { notify } from "../../components/Notice";
import { ApiError, api } from "../../lib/api";
import { describeError } from "../../lib/errors";
import { on, request } from "../../lib/socket";
import type { ChatDetail, JoinAck } from "../../lib/types";
import type { RoomModel } from "./model";

export interface ChromiumVm {
  chat_id: number;
  kind: "chromium";
  role?: string;
  width: number;
  height: number;
}

export interface NekoVm {
  chat_id: number;
  kind: "neko";
  url: string;
  username: string;
  password: string;
  role: string;
}

export type VmInfo = ChromiumVm | NekoVm;

/** A `vm:frame` in the binary shape the socket asks for at its handshake: the JPEG as received. */
export interface Frame {
  chat_id: number;
  seq: number;
  jpeg: ArrayBuffer;
  width: number;
  height: number;
}

export interface ControlState {
  host_user_id: number | null;
  queue: number[];
}

export interface ScreenInfo {
  width: number;
  height: number;
  rate: number;
  sizes: { width: number; height: number; rate: number }[];
}

/** One `vm:input` event, in the VM's pixels (docs/realtime.md). */
export interface InputEvent {
  type: "mousemove" | "mousedown" | "mouseup" | "wheel" | "keydown" | "keyup" | "text";
  x?: number;
  y?: number;
  button?: "left" | "middle" | "right";
  dx?: number;
  dy?: number;
  key?: string;
  code?: string;
  text?: string;
}

const STOP_REASONS: Record<string, string> = {
  stopped: "The shared browser was stopped.",
  idle: "The shared browser stopped: nobody was watching it.",
  crashed: "The shared browser crashed. Its owner can start it again.",
  memory: "The shared browser stopped: it used more memory than allowed.",
  shutdown: "The shared browser stopped: its server is shutting down. It can be started again.",
};

export function ordinal(n: number): string {
  const tens = n % 100;
  if (tens >= 11 && tens <= 13) return `${n}th`;
  return `${n}${{ 1: "st", 2: "nd", 3: "rd" }[n % 10] ?? "th"}`;
}

const MAX_EVENTS = 100; // the server applies the first 100 events of an emit

export class BrowserModel {
  readonly running = signal(false);
  readonly vm = signal<VmInfo | null>(null);
  readonly control = signal<ControlState>({ host_user_id: null, queue: [] });
  /** Whether a frame arrived since the start (only the first one changes it: no re-render per frame). */
  readonly hasFrame = signal(false);
  readonly busy = signal<"starting" | "stopping" | null>(null);
  readonly error = signal<string | null>(null);
  /** Why it stopped last (words), shown where the screen was. */
  readonly stoppedWhy = signal<string | null>(null);
  /** The chat's config when this user may manage it (`GET /v1/portal/chats/{id}`), else null. */
  readonly config = signal<ChatDetail | null>(null);

  readonly isHost = computed(() => this.control.value.host_user_id === this.room.me.id);
  /** 1-based place in the queue, 0 when not waiting. */
  readonly position = computed(() => this.control.value.queue.indexOf(this.room.me.id) + 1);

  /** The newest frame not yet drawn by a screen (a screen mounted later draws it first). */
  latestFrame: Frame | null = null;
  private frameListener: ((frame: Frame) => void) | null = null;
  private stops: (() => void)[] = [];
  private closed = false;
  private queue: InputEvent[] = [];
  private sending = false;
  private flushScheduled = false;
  private knownAck: JoinAck | null = null;

  constructor(readonly room: RoomModel) {
    const mine = <T extends { chat_id: number }>(handler: (data: T) => void) => (data: T) => {
      if (!this.closed && data && data.chat_id === this.room.chatId) handler(data);
    };
    this.stops.push(
      effect(() => {
        const ack = this.room.lastAck.value;
        if (ack && ack !== this.knownAck) {
          this.knownAck = ack;
          this.fromAck(ack);
        }
      }),
      on<{ chat_id: number }>(
        "room:started",
        mine(() => {
          this.running.value = true;
          this.stoppedWhy.value = null;
          // A start by an admin pushes no credentials: a second join (it changes nothing) brings `vm`.
          window.setTimeout(() => {
            if (!this.closed && this.running.value && !this.vm.value) void this.rejoin();
          }, 1500);
        }),
      ),
      on<{ chat_id: number; reason?: string }>(
        "room:stopped",
        mine((d) => {
          this.running.value = false;
          this.vm.value = null;
          this.latestFrame = null;
          this.hasFrame.value = false;
          this.queue = [];
          const why = STOP_REASONS[d.reason ?? "stopped"] ?? STOP_REASONS["stopped"]!;
          this.stoppedWhy.value = why;
          notify(why, d.reason === "stopped" ? "info" : "error", 8000);
        }),
      ),
      on<VmInfo>(
        "vm:credentials",
        mine((d) => {
          this.vm.value = d;
          this.running.value = true;
          this.stoppedWhy.value = null;
        }),
      ),
      on<Frame>(
        "vm:frame",
        mine((frame) => {
          this.running.value = true;
          const vm = this.vm.value;
          if (!vm || vm.kind !== "chromium" || vm.width !== frame.width || vm.height !== frame.height) {
            this.vm.value = { chat_id: frame.chat_id, kind: "chromium", width: frame.width, height: frame.height };
          }
          if (!this.hasFrame.value) this.hasFrame.value = true;
          if (this.frameListener) this.frameListener(frame);
          else this.latestFrame = frame;
        }),
      ),
      on<ControlState & { chat_id: number }>(
        "control:update",
        mine((d) => this.setControl({ host_user_id: d.host_user_id ?? null, queue: d.queue ?? [] }, true)),
      ),
    );
    void this.loadConfig();
  }

  close(): void {
    this.closed = true;
    this.stops.forEach((stop) => stop());
    this.frameListener = null;
  }

  private fromAck(ack: JoinAck): void {
    this.running.value = !!ack.live?.running;
    const vm = ack.vm as VmInfo | null;
    if (vm) this.vm.value = vm;
    else if (!ack.live?.running) this.vm.value = null;
    if (ack.control) this.setControl({ host_user_id: ack.control.host_user_id, queue: ack.control.queue }, false);
  }

  private async rejoin(): Promise<void> {
    try {
      const ack = await request<JoinAck>("room:join", { chat_id: this.room.chatId });
      this.fromAck(ack);
    } catch {
      // Frames still arrive; the panel shows what it knows.
    }
  }

  private async loadConfig(): Promise<void> {
    try {
      const detail = await api.get<ChatDetail>(`/v1/portal/chats/${this.room.chatId}`);
      if (!this.closed && detail.allow_control_requests !== undefined) this.config.value = detail;
    } catch {
      // Only managers get the config; the rules are the server's either way.
    }
  }

  /** A screen that draws frames: it gets the one that arrived before it, then each new one. */
  attachScreen(listener: ((frame: Frame) => void) | null): void {
    this.frameListener = listener;
    if (listener && this.latestFrame) {
      const frame = this.latestFrame;
      this.latestFrame = null;
      listener(frame);
    }
  }

  // ---- control -----------------------------------------------------------------------------------

  private setControl(next: ControlState, announce: boolean): void {
    const before = this.control.value;
    this.control.value = next;
    if (!announce) return;
    const name = (id: number) => this.room.nameOf(id);
    const me = this.room.me.id;
    if (before.host_user_id !== next.host_user_id) {
      if (next.host_user_id === null) {
        if (before.host_user_id !== null) {
          notify(before.host_user_id === me ? "You released control." : `${name(before.host_user_id)} released control.`);
        }
      } else if (next.host_user_id === me) {
        notify(
          before.host_user_id !== null
            ? `You have control now (from ${name(before.host_user_id)}).`
            : "You have control now: click the screen to use it.",
        );
      } else {
        const from = before.host_user_id !== null ? ` (from ${before.host_user_id === me ? "you" : name(before.host_user_id)})` : "";
        notify(`${name(next.host_user_id)} has control now${from}.`);
      }
    }
    for (const id of next.queue) {
      if (!before.queue.includes(id) && id !== me) {
        notify(`${name(id)} asks for control.`);
      }
    }
    const wasWaiting = before.queue.includes(me);
    if (wasWaiting && !next.queue.includes(me) && next.host_user_id !== me) {
      notify("Your request for control was turned down.");
    }
  }

  async act(event: "request" | "release" | "take" | "give" | "deny", userId?: number): Promise<boolean> {
    try {
      const payload: Record<string, unknown> = { chat_id: this.room.chatId };
      if (userId !== undefined) payload["user_id"] = userId;
      await request(`control:${event}`, payload);
      if (event === "request") notify("You asked for control.");
      if (event === "deny" && userId !== undefined) notify(`You turned down ${this.room.nameOf(userId)}'s request.`);
      return true;
    } catch (error) {
      notify(describeError(error), "error", 8000);
      return false;
    }
  }

  // ---- start / stop ------------------------------------------------------------------------------

  async start(): Promise<void> {
    if (this.busy.value) return;
    this.busy.value = "starting";
    this.error.value = null;
    try {
      await api.post(`/v1/portal/chats/${this.room.chatId}/start`);
      this.running.value = true;
      this.stoppedWhy.value = null;
    } catch (error) {
      this.error.value = describeError(error);
    } finally {
      this.busy.value = null;
    }
  }

  async stop(): Promise<void> {
    if (this.busy.value) return;
    this.busy.value = "stopping";
    this.error.value = null;
    try {
      await api.post(`/v1/portal/chats/${this.room.chatId}/stop`);
    } catch (error) {
      this.error.value = describeError(error);
    } finally {
      this.busy.value = null;
    }
  }

  // ---- input (chromium) -------------------------------------------------------------------------

  /** Queue one input event; consecutive mousemoves collapse into the last, consecutive wheels add up. */
  input(event: InputEvent): void {
    if (!this.isHost.value || !this.running.value) return;
    const last = this.queue[this.queue.length - 1];
    if (last && last.type === "mousemove" && event.type === "mousemove") {
      this.queue[this.queue.length - 1] = event;
    } else if (last && last.type === "wheel" && event.type === "wheel") {
      last.dx = (last.dx ?? 0) + (event.dx ?? 0);
      last.dy = (last.dy ?? 0) + (event.dy ?? 0);
      last.x = event.x;
      last.y = event.y;
    } else {
      this.queue.push(event);
    }
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || this.sending) return;
    this.flushScheduled = true;
    window.requestAnimationFrame(() => {
      this.flushScheduled = false;
      void this.flush();
    });
  }

  /** One emit per animation frame, the next only after the ack of the one before (keeps the order). */
  private async flush(): Promise<void> {
    if (this.sending || this.queue.length === 0 || this.closed) return;
    const events = this.queue.splice(0, MAX_EVENTS);
    this.sending = true;
    try {
      await request("vm:input", { chat_id: this.room.chatId, events }).catch(() => undefined);
    } finally {
      this.sending = false;
    }
    if (this.queue.length) this.scheduleFlush();
  }

  // ---- screenshot, clipboard, screen ------------------------------------------------------------

  async screenshot(): Promise<void> {
    try {
      const response = await fetch(`/v1/portal/chats/${this.room.chatId}/screenshot`, { credentials: "same-origin" });
      if (!response.ok) {
        let code = "";
        try {
          code = ((await response.json()) as { error?: string }).error ?? "";
        } catch {
          code = "";
        }
        throw new ApiError(response.status, code || response.statusText);
      }
      const blob = await response.blob();
      const url = URL.createObjectURL(blob);
      const link = document.createElement("a");
      link.href = url;
      link.download = `portal-${safeName(this.room.chatName())}-${stamp(new Date())}.jpg`;
      document.body.appendChild(link);
      link.click();
      link.remove();
      window.setTimeout(() => URL.revokeObjectURL(url), 10_000);
      notify("Screenshot saved.");
    } catch (error) {
      notify(describeError(error), "error", 8000);
    }
  }

  readClipboard(): Promise<{ text: string }> {
    return api.get<{ text: string }>(`/v1/portal/chats/${this.room.chatId}/clipboard`);
  }

  writeClipboard(text: string): Promise<unknown> {
    return api.post(`/v1/portal/chats/${this.room.chatId}/clipboard/update`, { text });
  }

  readScreen(): Promise<ScreenInfo> {
    return api.get<ScreenInfo>(`/v1/portal/chats/${this.room.chatId}/screen`);
  }

  writeScreen(size: { width: number; height: number; rate: number }): Promise<ScreenInfo> {
    return api.post<ScreenInfo>(`/v1/portal/chats/${this.room.chatId}/screen/update`, size);
  }
}

function safeName(name: string): string {
  return name.replace(/[^A-Za-z0-9_-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 40) || "chat";
}

function stamp(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${date.getFullYear()}${pad(date.getMonth() + 1)}${pad(date.getDate())}-${pad(date.getHours())}${pad(date.getMinutes())}${pad(date.getSeconds())}`;
}
