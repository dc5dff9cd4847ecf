// Active announcements as banners on every page (signed in or not), newest first. Each can be dismissed for
// this tab's session; the list is refreshed at start, every few minutes and when the tab is shown again.
import { useEffect } from "preact/hooks";
import {
  announcements,
  dismissAnnouncement,
  dismissedAnnouncements,
  followAnnouncements,
} from "../lib/notifications";
import "./Announcements.css";

const LEVEL_WORDS: Record<string, string> = { info: "Announcement", warning: "Warning", critical: "Important" };
const LEVEL_MARKS: Record<string, string> = { info: "i", warning: "!", critical: "!" };

export function Announcements() {
  useEffect(() => followAnnouncements(), []);
  const dismissed = dismissedAnnouncements.value;
  const shown = announcements.value.filter((a) => !dismissed.has(a.id));
  if (shown.length === 0) return null;
  return (
    <section class="announcements" aria-label="Announcements">
      {shown.map((a, index) => {
        const level = a.level in LEVEL_WORDS ? a.level : "info";
        return (
          <div key={a.id} class={`announcement announcement-${level}`} data-announcement={a.id}>
            <span class="announcement-mark" aria-hidden="true">
              {LEVEL_MARKS[level]}
            </span>
            <p class="announcement-text">
              <span class="visually-hidden">{`${LEVEL_WORDS[level]}: `}</span>
              <strong class="announcement-title">{a.title}</strong>
              <span class="announcement-body">{a.body}</span>
            </p>
            <button
              type="button"
              class="icon-button announcement-dismiss"
              aria-label={`Dismiss announcement: ${a.title}`}
              onClick={() => {
                // The button goes away with its banner: keep the keyboard near, on the next one's button.
                const next = shown[index + 1] ?? shown[index - 1];
                dismissAnnouncement(a.id);
                requestAnimationFrame(() => {
                  const target = next
                    ? document.querySelector<HTMLElement>(`[data-announcement="${next.id}"] button`)
                    : document.querySelector<HTMLElement>(".shell");
                  target?.focus();
                });
              }}
            >
              ×
            </button>
          </div>
        );
      })}
    </section>
  );
}
