// Notifications (the bell) and announcements (the banner): their state, kept here so the top bar, the
// panel and the banner read the same signals.
// - Notifications belong to a signed-in account (strangers get 403: never asked for them). The unread
//   count is loaded when the bell mounts and after every reconnect; `notification:new` (docs/realtime.md)
//   adds one live. The list is loaded page by page when the panel opens.
// - Announcements are public (`GET /v1/announcements`): loaded at start, every few minutes and when the tab
//   comes back into view; dismissing one hides it for this browser tab's session (sessionStorage).
import { signal } from "@preact/signals";
import { ApiError, api } from "./api";
import { dismiss, notify } from "../components/Notice";
import { describeError } from "./errors";
import { listen, onReconnect } from "./socket";

export type NotificationType = "info" | "success" | "warning" | "error";

export interface NotificationItem {
  id: number;
  title: string;
  body: string;
  type: NotificationType | string;
  read_at: string | null;
  created_at: string;
  created_by: number | null;
}

interface NotificationList {
  notifications: NotificationItem[];
  total: number;
  unread: number;
  offset: number;
  limit: number;
}

export const PAGE_SIZE = 20;

/** The badge: null until the first count arrives. */
export const unreadCount = signal<number | null>(null);
/** The loaded part of the list, newest first (null until the panel first loads it). */
export const notificationItems = signal<NotificationItem[] | null>(null);
/** All of this user's notifications (for "Load more"). */
export const notificationTotal = signal(0);
export const notificationsLoading = signal(false);
export const notificationsError = signal<string | null>(null);

let ownerId: number | null = null;
let stops: (() => void)[] = [];

/** Start following the notifications of `userId` (a registered user); returns the function that stops. */
export function startNotifications(userId: number): () => void {
  stopNotifications();
  ownerId = userId;
  stops = [
    listen<NotificationItem>("notification:new", (item) => {
      if (ownerId !== userId || !item || typeof item.id !== "number") return;
      receive(item);
    }),
    onReconnect(() => {
      // Whatever arrived while the socket was away: the count, and the list if it was loaded.
      void refreshCount();
      if (notificationItems.value !== null) void loadNotifications();
    }),
  ];
  void refreshCount();
  return stopNotifications;
}

function stopNotifications(): void {
  stops.forEach((stop) => stop());
  stops = [];
  ownerId = null;
  unreadCount.value = null;
  notificationItems.value = null;
  notificationTotal.value = 0;
  notificationsError.value = null;
}

function receive(item: NotificationItem): void {
  const items = notificationItems.value;
  if (items?.some((known) => known.id === item.id)) return;
  if (items) notificationItems.value = [item, ...items];
  notificationTotal.value += 1;
  if (!item.read_at) unreadCount.value = (unreadCount.value ?? 0) + 1;
  // A toast, unless the panel is open and shows it already.
  if (!panelOpen.value) toasts.push(notify(`New notification: ${item.title}`));
}

/** Whether the bell's panel is open (set by the bell). */
export const panelOpen = signal(false);
let toasts: number[] = [];

/** The panel opened: the "New notification" toasts said what it now shows. */
export function clearNotificationToasts(): void {
  toasts.forEach((id) => dismiss(id));
  toasts = [];
}

export async function refreshCount(): Promise<void> {
  const owner = ownerId;
  try {
    const answer = await api.get<{ unread: number }>("/v1/notifications/unread-count");
    if (owner === ownerId) unreadCount.value = answer.unread;
  } catch {
    // The badge keeps its last value; the panel says what went wrong when it is opened.
  }
}

/** The first page again (`more`: the next page after the loaded ones). */
export async function loadNotifications({ more = false } = {}): Promise<void> {
  const owner = ownerId;
  if (owner === null || notificationsLoading.value) return;
  notificationsLoading.value = true;
  notificationsError.value = null;
  const loaded = more ? (notificationItems.value ?? []) : [];
  try {
    const page = await api.get<NotificationList>("/v1/notifications", {
      offset: loaded.length,
      limit: PAGE_SIZE,
    });
    if (owner !== ownerId) return;
    // A live notification arriving between pages shifts the offsets by one: skip what is already shown.
    const known = new Set(loaded.map((item) => item.id));
    notificationItems.value = [...loaded, ...page.notifications.filter((item) => !known.has(item.id))];
    notificationTotal.value = page.total;
    unreadCount.value = page.unread;
  } catch (error) {
    if (owner === ownerId) notificationsError.value = describeError(error);
  } finally {
    notificationsLoading.value = false;
  }
}

function replace(updated: NotificationItem): void {
  const items = notificationItems.value;
  if (items) notificationItems.value = items.map((item) => (item.id === updated.id ? updated : item));
}

export async function markRead(item: NotificationItem): Promise<void> {
  if (item.read_at) return;
  notificationsError.value = null;
  try {
    const updated = await api.post<NotificationItem>(`/v1/notifications/${item.id}/read`);
    replace(updated);
    unreadCount.value = Math.max(0, (unreadCount.value ?? 1) - 1);
  } catch (error) {
    if (error instanceof ApiError && error.status === 409) {
      // Read meanwhile (another tab): show it read, and take the count from the server.
      replace({ ...item, read_at: item.read_at ?? new Date().toISOString() });
      await refreshCount();
    } else if (error instanceof ApiError && error.status === 404) {
      const items = notificationItems.value;
      if (items) notificationItems.value = items.filter((known) => known.id !== item.id);
      notificationTotal.value = Math.max(0, notificationTotal.value - 1);
      await refreshCount();
    } else {
      notificationsError.value = describeError(error);
    }
  }
}

export async function markAllRead(): Promise<void> {
  notificationsError.value = null;
  try {
    await api.post<{ updated: number }>("/v1/notifications/read-all");
    const now = new Date().toISOString();
    const items = notificationItems.value;
    if (items) notificationItems.value = items.map((item) => (item.read_at ? item : { ...item, read_at: now }));
    unreadCount.value = 0;
  } catch (error) {
    notificationsError.value = describeError(error);
  }
}

/** "just now", "5 min ago", "3 h ago", "yesterday", "4 days ago", else the date. */
export function relativeTime(iso: string, now: number = Date.now()): string {
  const then = Date.parse(iso);
  if (!Number.isFinite(then)) return "";
  const seconds = Math.max(0, Math.round((now - then) / 1000));
  if (seconds < 60) return "just now";
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours} h ago`;
  const days = Math.floor(hours / 24);
  if (days === 1) return "yesterday";
  if (days < 7) return `${days} days ago`;
  return new Date(then).toLocaleDateString(undefined, { year: "numeric", month: "short", day: "numeric" });
}

// ---- announcements -------------------------------------------------------------------------------------

export type AnnouncementLevel = "info" | "warning" | "critical";

export interface Announcement {
  id: number;
  title: string;
  body: string;
  level: AnnouncementLevel | string;
  starts_at: string;
  ends_at: string | null;
  created_at: string;
}

export const ANNOUNCEMENT_REFRESH_MS = 3 * 60_000;
const DISMISSED_KEY = "portal.dismissedAnnouncements";

/** Active announcements, newest first (as the server orders them). */
export const announcements = signal<Announcement[]>([]);
/** Ids dismissed in this tab's session. */
export const dismissedAnnouncements = signal<ReadonlySet<number>>(readDismissed());
let lastLoaded = 0;

function readDismissed(): ReadonlySet<number> {
  try {
    const raw = sessionStorage.getItem(DISMISSED_KEY);
    const ids: unknown = raw ? JSON.parse(raw) : [];
    return new Set(Array.isArray(ids) ? ids.filter((id): id is number => typeof id === "number") : []);
  } catch {
    return new Set();
  }
}

export function dismissAnnouncement(id: number): void {
  const next = new Set(dismissedAnnouncements.value);
  next.add(id);
  dismissedAnnouncements.value = next;
  // Only ids of the announcements still showing are worth keeping.
  const current = new Set(announcements.value.map((a) => a.id));
  try {
    sessionStorage.setItem(DISMISSED_KEY, JSON.stringify([...next].filter((known) => current.has(known))));
  } catch {
    // Without storage the dismissal lasts until this page reloads.
  }
}

export async function refreshAnnouncements(): Promise<void> {
  lastLoaded = Date.now();
  try {
    const list = await api.get<Announcement[]>("/v1/announcements");
    if (Array.isArray(list)) announcements.value = list;
  } catch {
    // Keep showing what was there; the next refresh tries again.
  }
}

/** Load now, then every few minutes and when the tab is shown again after a while; returns the stop. */
export function followAnnouncements(): () => void {
  void refreshAnnouncements();
  const timer = window.setInterval(() => void refreshAnnouncements(), ANNOUNCEMENT_REFRESH_MS);
  const onVisible = () => {
    if (document.visibilityState === "visible" && Date.now() - lastLoaded > 60_000) void refreshAnnouncements();
  };
  document.addEventListener("visibilitychange", onVisible);
  return () => {
    window.clearInterval(timer);
    document.removeEventListener("visibilitychange", onVisible);
  };
}
