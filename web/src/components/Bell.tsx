// The bell in the top bar: the unread count (live on `notification:new`) and a panel that lists the
// notifications, marks one or all read and pages with "Load more". A disclosure: Enter/Space opens it and
// moves focus into it, Esc closes it and gives focus back to the bell, focus or a click leaving it closes it.
import { useEffect, useRef, useState } from "preact/hooks";
import { ErrorAlert } from "./ErrorAlert";
import {
  type NotificationItem,
  clearNotificationToasts,
  loadNotifications,
  markAllRead,
  markRead,
  notificationItems,
  notificationTotal,
  notificationsError,
  notificationsLoading,
  panelOpen,
  relativeTime,
  startNotifications,
  unreadCount,
} from "../lib/notifications";
import "./Bell.css";

const TYPE_WORDS: Record<string, string> = {
  info: "Information",
  success: "Success",
  warning: "Warning",
  error: "Problem",
};
const TYPE_MARKS: Record<string, string> = { info: "i", success: "✓", warning: "!", error: "×" };

export function bellLabel(unread: number | null): string {
  if (!unread) return "Notifications, none unread";
  return `Notifications, ${unread} unread`;
}

export function Bell({ userId }: { userId: number }) {
  const [open, setOpen] = useState(false);
  const wrapper = useRef<HTMLDivElement>(null);
  const button = useRef<HTMLButtonElement>(null);
  const panel = useRef<HTMLDivElement>(null);

  useEffect(() => startNotifications(userId), [userId]);

  useEffect(() => {
    panelOpen.value = open;
    if (!open) return;
    clearNotificationToasts();
    void loadNotifications();
    panel.current?.focus();
    const onPointer = (event: PointerEvent) => {
      if (!wrapper.current?.contains(event.target as Node)) setOpen(false);
    };
    // Esc also when the focus fell to the page (a control that went away or was disabled under it).
    const onKey = (event: KeyboardEvent) => {
      const active = document.activeElement;
      if (event.key === "Escape" && (!active || active === document.body)) {
        setOpen(false);
        button.current?.focus();
      }
    };
    document.addEventListener("pointerdown", onPointer);
    document.addEventListener("keydown", onKey);
    return () => {
      panelOpen.value = false;
      document.removeEventListener("pointerdown", onPointer);
      document.removeEventListener("keydown", onKey);
    };
  }, [open]);

  const close = (refocus: boolean) => {
    setOpen(false);
    if (refocus) button.current?.focus();
  };

  const unread = unreadCount.value;
  const shown = unread === null ? "" : unread > 99 ? "99+" : String(unread);
  return (
    <div
      class="bell"
      ref={wrapper}
      onKeyDown={(event) => {
        if (event.key === "Escape" && open) {
          event.preventDefault();
          close(true);
        }
      }}
      onFocusOut={(event) => {
        const next = event.relatedTarget as Node | null;
        // Focus went elsewhere in the page (Tab past the end, a click on another control): close.
        if (open && next && !wrapper.current?.contains(next)) setOpen(false);
      }}
    >
      <button
        type="button"
        ref={button}
        class="icon-button bell-button"
        aria-label={bellLabel(unread)}
        aria-expanded={open}
        aria-controls="notifications-panel"
        onClick={() => setOpen(!open)}
      >
        <BellIcon />
        {unread ? (
          <span class="bell-count" aria-hidden="true">
            {shown}
          </span>
        ) : null}
      </button>
      {open && (
        <div
          id="notifications-panel"
          class="bell-panel"
          ref={panel}
          tabIndex={-1}
          role="region"
          aria-labelledby="notifications-heading"
        >
          <Panel />
        </div>
      )}
    </div>
  );
}

function Panel() {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = window.setInterval(() => setNow(Date.now()), 30_000);
    return () => window.clearInterval(timer);
  }, []);
  const items = notificationItems.value;
  const unread = unreadCount.value ?? 0;
  const loading = notificationsLoading.value;
  return (
    <>
      <header class="bell-panel-header">
        <h2 id="notifications-heading">Notifications</h2>
        <button type="button" class="link" disabled={unread === 0} onClick={async () => {
            await markAllRead();
            // The button is disabled now, which drops the focus: keep it in the panel.
            if (!document.activeElement || document.activeElement === document.body) {
              document.getElementById("notifications-panel")?.focus();
            }
          }}
        >
          Mark all read
        </button>
      </header>
      <ErrorAlert error={notificationsError.value} />
      {items === null ? (
        <p class="bell-empty muted" aria-busy="true">
          Loading…
        </p>
      ) : items.length === 0 ? (
        <div class="bell-empty">
          <p>
            <strong>No notifications yet.</strong>
          </p>
          <p class="muted small">Messages from Portal and its admins show up here.</p>
        </div>
      ) : (
        <ul class="bell-list" aria-label={unread ? `${unread} unread` : "All read"}>
          {items.map((item) => (
            <Item key={item.id} item={item} now={now} />
          ))}
        </ul>
      )}
      {items !== null && items.length < notificationTotal.value && (
        <div class="bell-more">
          <button type="button" disabled={loading} onClick={() => void loadNotifications({ more: true })}>
            {loading ? "Loading…" : "Load more"}
          </button>
        </div>
      )}
    </>
  );
}

function Item({ item, now }: { item: NotificationItem; now: number }) {
  const row = useRef<HTMLLIElement>(null);
  const type = item.type in TYPE_WORDS ? item.type : "info";
  const unread = !item.read_at;
  return (
    <li
      ref={row}
      tabIndex={-1}
      class={`bell-item bell-${type}${unread ? " bell-unread" : ""}`}
      onClick={(event) => {
        // A click on an unread notification reads it (the button does the same from the keyboard).
        if (unread && !(event.target as Element).closest("button")) void markRead(item);
      }}
    >
      <span class="bell-mark" aria-hidden="true">
        {TYPE_MARKS[type]}
      </span>
      <div class="bell-main">
        <p class="bell-title">
          <span class="visually-hidden">{`${unread ? "Unread. " : ""}${TYPE_WORDS[type]}: `}</span>
          {item.title}
        </p>
        <p class="bell-body">{item.body}</p>
        <p class="bell-meta">
          <time dateTime={item.created_at} title={new Date(item.created_at).toLocaleString()}>
            {relativeTime(item.created_at, now)}
          </time>
        </p>
      </div>
      {unread && (
        <button
          type="button"
          class="bell-read"
          aria-label={`Mark read: ${item.title}`}
          onClick={async () => {
            await markRead(item);
            // The button is gone once read: keep the keyboard where it was, on this notification.
            if (!row.current?.contains(document.activeElement)) row.current?.focus();
          }}
        >
          Mark read
        </button>
      )}
    </li>
  );
}

function BellIcon() {
  return (
    <svg width="22" height="22" viewBox="0 0 24 24" aria-hidden="true" focusable="false">
      <path
        fill="none"
        stroke="currentColor"
        stroke-width="1.8"
        stroke-linecap="round"
        stroke-linejoin="round"
        d="M6 9a6 6 0 0 1 12 0c0 5 2 7 2 7H4s2-2 2-7M10 20a2 2 0 0 0 4 0"
      />
    </svg>
  );
}
