// The one Socket.IO connection of a signed-in tab. The browser's `psession` cookie authenticates the
// handshake, which asks for binary browser frames (docs/realtime.md, "Binary frames"). Rooms re-join
// themselves after a reconnect through `onReconnect`.
import { signal } from "@preact/signals";
import { type Socket, io } from "socket.io-client";
import { AckError } from "./errors";

export type ConnectionState = "idle" | "connecting" | "connected" | "reconnecting";

export const connection = signal<ConnectionState>("idle");
/** Why the server ended this session (`session:ended`), or why the handshake was refused. */
export const endedReason = signal<string | null>(null);

const ACK_TIMEOUT_MS = 10_000;
let socket: Socket | null = null;
let everConnected = false;
const reconnectHandlers = new Set<() => void>();
const endHandlers = new Set<(reason: string) => void>();
/** Listeners that outlive sockets (`listen`): attached to every socket `connect` makes. */
const lasting = new Map<string, Set<(...args: unknown[]) => void>>();

export function connect(): Socket {
  if (socket) return socket;
  connection.value = "connecting";
  everConnected = false;
  // `frames: "binary"`: the shared browser's `vm:frame`s come with the JPEG as a binary attachment
  // (`jpeg`, an ArrayBuffer) instead of base64 text — a quarter fewer bytes and no decoding here.
  const s = io({
    transports: ["websocket"],
    withCredentials: true,
    reconnectionDelayMax: 5000,
    auth: { frames: "binary" },
  });
  socket = s;
  for (const [event, handlers] of lasting) handlers.forEach((handler) => s.on(event, handler));
  s.on("connect", () => {
    const again = everConnected;
    everConnected = true;
    connection.value = "connected";
    if (again) reconnectHandlers.forEach((handler) => handler());
  });
  s.on("disconnect", (reason) => {
    // "io server disconnect": the server closed it (a session ended); it does not come back by itself.
    if (reason === "io server disconnect") connection.value = "idle";
    else connection.value = "reconnecting";
  });
  s.on("connect_error", (error: Error) => {
    const code = error.message;
    if (code === "ERR_UNAUTHORIZED" || code === "ERR_ACCOUNT_RESTRICTED" || code === "ERR_ORIGIN_NOT_ALLOWED") {
      end(code);
      return;
    }
    connection.value = everConnected ? "reconnecting" : "connecting";
  });
  s.on("session:ended", (data: { reason?: string }) => end(data?.reason ?? "revoked"));
  return s;
}

function end(reason: string): void {
  endedReason.value = reason;
  disconnect();
  endHandlers.forEach((handler) => handler(reason));
}

export function disconnect(): void {
  socket?.removeAllListeners();
  socket?.disconnect();
  socket = null;
  connection.value = "idle";
}

export function currentSocket(): Socket | null {
  return socket;
}

/** Listen to a server event; returns the function that stops listening. */
export function on<T>(event: string, handler: (data: T) => void): () => void {
  const s = connect();
  s.on(event, handler as (...args: unknown[]) => void);
  return () => {
    s.off(event, handler as (...args: unknown[]) => void);
  };
}

/** Emit with an acknowledgement; a refused ack `{ok: false}` throws an AckError. */
export async function request<T = Record<string, unknown>>(event: string, payload: unknown): Promise<T> {
  const s = connect();
  let ack: { ok?: boolean; error?: string; message?: string; ttl?: number } & Record<string, unknown>;
  try {
    ack = await s.timeout(ACK_TIMEOUT_MS).emitWithAck(event, payload);
  } catch {
    throw new AckError("ERR_TIMEOUT", "Portal did not answer in time. Check your connection.");
  }
  if (!ack || ack.ok === false) {
    throw new AckError(ack?.error ?? "ERR_INTERNAL", ack?.message ?? "", typeof ack?.ttl === "number" ? ack.ttl : null);
  }
  return ack as T;
}

/** Fire and forget (no ack expected), e.g. `typing`. */
export function emit(event: string, payload: unknown): void {
  socket?.emit(event, payload);
}

export function onReconnect(handler: () => void): () => void {
  reconnectHandlers.add(handler);
  return () => reconnectHandlers.delete(handler);
}

export function onSessionEnd(handler: (reason: string) => void): () => void {
  endHandlers.add(handler);
  return () => endHandlers.delete(handler);
}

/** Listen to a server event on this and every later socket, without connecting: for events sent right at
 * connect (`chat:list`) that a page mounted later would miss. Returns the function that stops listening. */
export function listen<T>(event: string, handler: (data: T) => void): () => void {
  const fn = handler as (...args: unknown[]) => void;
  let handlers = lasting.get(event);
  if (!handlers) lasting.set(event, (handlers = new Set()));
  handlers.add(fn);
  socket?.on(event, fn);
  return () => {
    handlers.delete(fn);
    socket?.off(event, fn);
  };
}
