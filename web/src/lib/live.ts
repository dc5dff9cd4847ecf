// Live state of the chats this user can list: whether a chat's shared browser runs and how many watch it.
// The socket sends `chat:list` on every (re)connect and `chat:status` on each change (docs/realtime.md);
// both are kept here from the first connect on, so a page that mounts later still has them.
import { signal } from "@preact/signals";
import { listen } from "./socket";
import type { LiveStatus } from "./types";

/** chat id → its live state; a chat missing here has not been announced (treat as stopped, 0 watching). */
export const liveStatus = signal<ReadonlyMap<number, LiveStatus>>(new Map());
/** Bumped when the socket names a chat the lobby may not know yet (new, made public) or one that is gone. */
export const chatsChanged = signal(0);

listen<LiveStatus[]>("chat:list", (list) => {
  if (!Array.isArray(list)) return;
  liveStatus.value = new Map(list.map((status) => [status.chat_id, status]));
});

listen<LiveStatus>("chat:status", (status) => {
  if (!status || typeof status.chat_id !== "number") return;
  const known = liveStatus.value.has(status.chat_id);
  const next = new Map(liveStatus.value);
  next.set(status.chat_id, status);
  liveStatus.value = next;
  if (!known) chatsChanged.value++;
});

listen<{ chat_id: number }>("room:destroyed", (data) => {
  if (!data || typeof data.chat_id !== "number") return;
  const next = new Map(liveStatus.value);
  next.delete(data.chat_id);
  liveStatus.value = next;
  chatsChanged.value++;
});

export function liveOf(chatId: number): LiveStatus {
  return liveStatus.value.get(chatId) ?? { chat_id: chatId, running: false, viewer_count: 0 };
}
