// Transient status messages ("Invite link copied", errors), announced to screen readers.
import { signal } from "@preact/signals";

export interface NoticeItem {
  id: number;
  text: string;
  kind: "info" | "error";
}

export const notices = signal<NoticeItem[]>([]);
let nextId = 0;

/** At most this many at once: a burst (control changes) shows its latest few, not a wall. */
const MAX_SHOWN = 3;

/** Show a notice for `ms`; returns its id (for `dismiss`). */
export function notify(text: string, kind: NoticeItem["kind"] = "info", ms = 5000): number {
  const id = ++nextId;
  notices.value = [...notices.value, { id, text, kind }].slice(-MAX_SHOWN);
  window.setTimeout(() => dismiss(id), ms);
  return id;
}

export function dismiss(id: number): void {
  notices.value = notices.value.filter((n) => n.id !== id);
}

export function Notices() {
  return (
    <div class="notices" role="status" aria-live="polite">
      {notices.value.map((n) => (
        <div key={n.id} class={`notice notice-${n.kind}`}>
          <span>{n.text}</span>
          <button type="button" class="icon-button" aria-label="Dismiss" onClick={() => dismiss(n.id)}>
            ×
          </button>
        </div>
      ))}
    </div>
  );
}
