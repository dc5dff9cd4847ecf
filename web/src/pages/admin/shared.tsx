// Shared pieces of the operator pages (/admin and /u/{username}): wire shapes, dates, user lookups by name
// or id, a confirmation dialog and a pager.
import type { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";
import { Dialog } from "../../components/Dialog";
import { ErrorAlert } from "../../components/ErrorAlert";
import { ApiError, api } from "../../lib/api";
import { describeError } from "../../lib/errors";

export const MODERATOR = 1;
export const ADMIN = 2;
export const OWNER = 3;

export interface BotPrivate {
  id: number;
  name: string;
  groups: number;
  users: number;
  avatar_url: string | null;
  latency_ms: number | null;
  is_verified: boolean;
  last_activity_at: string | null;
  created_at: string;
  updated_at: string;
  platform: string;
  owner_id: number;
  bot_type: number;
  is_active: boolean;
  rate_limit_per_hour: number;
}

export interface BotKeyIssued {
  message: string;
  bot: BotPrivate;
  api_key: string;
}

export interface Announcement {
  id: number;
  title: string;
  body: string;
  level: "info" | "warning" | "critical" | string;
  starts_at: string;
  ends_at: string | null;
  created_at: string;
}

export interface AuditItem {
  id: number;
  entity_type: string | null;
  entity_id: number | null;
  actor_id: number | null;
  event_type: string;
  event_metadata: Record<string, unknown>;
  created_at: string;
}

export interface AuditPage {
  items: AuditItem[];
  total: number;
  offset: number;
  limit: number;
}

export interface ModerationAction {
  id: number;
  action_type: string;
  reason: string | null;
  is_lifted: boolean;
  expires_at: string | null;
  lifted_at: string | null;
  created_at: string;
  chat_id: number | null;
  issued_by_id: number | null;
}

export const BOT_TYPES: Record<number, string> = { 1: "Official", 2: "Verified", 3: "Community" };

/** "12 Mar 2026, 14:05" in the reader's locale and zone; "—" for none. */
export function when(iso: string | null | undefined): string {
  if (!iso) return "—";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

/** Is this ISO time in the past? */
export function past(iso: string | null | undefined): boolean {
  return !!iso && new Date(iso).getTime() <= Date.now();
}

// ---- usernames by id (audit log, bots' owners) and ids by username (forms) ----

const names = new Map<number, Promise<string | null>>();

/** A user's name by id, cached for the page's life; null when the user is gone or unreadable. */
export function usernameOf(id: number): Promise<string | null> {
  let known = names.get(id);
  if (!known) {
    known = api
      .get<{ username: string }>(`/v1/users/${id}`)
      .then((user) => user.username)
      .catch(() => null);
    names.set(id, known);
  }
  return known;
}

/** A form's "username or id" field → the user's id (a username is looked up; unknown → an Error in words). */
export async function resolveUser(text: string): Promise<{ id: number; username: string | null }> {
  const value = text.trim().replace(/^@/, "");
  if (!value) throw new Error("Enter a username or a user id.");
  if (/^\d+$/.test(value)) return { id: Number(value), username: null };
  try {
    const user = await api.get<{ id: number; username: string }>(`/v1/users/profile/${encodeURIComponent(value)}`);
    return { id: user.id, username: user.username };
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) throw new Error(`No one is called ${value}.`);
    throw error;
  }
}

/** A user's name resolved lazily; shows "#id" until (or unless) the name is known. */
export function UserName({ id, link = true }: { id: number | null; link?: boolean }) {
  const [name, setName] = useState<string | null | undefined>(undefined);
  useEffect(() => {
    setName(undefined);
    if (id === null) return;
    let live = true;
    void usernameOf(id).then((found) => live && setName(found));
    return () => {
      live = false;
    };
  }, [id]);
  if (id === null) return <span class="muted">system / CLI</span>;
  if (!name) return <span>{`user #${id}`}</span>;
  return link ? <a href={`/u/${encodeURIComponent(name)}`}>{name}</a> : <span>{name}</span>;
}

// ---- a confirmation dialog for one irreversible action ----

export function Confirm({
  title,
  open,
  onClose,
  confirm,
  danger = true,
  onConfirm,
  children,
}: {
  title: string;
  open: boolean;
  onClose: () => void;
  confirm: string;
  danger?: boolean;
  onConfirm: () => Promise<void>;
  children: ComponentChildren;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  return (
    <Dialog
      title={title}
      open={open}
      onClose={() => {
        setError(null);
        onClose();
      }}
    >
      <form
        onSubmit={async (event) => {
          event.preventDefault();
          if (busy) return;
          setBusy(true);
          setError(null);
          try {
            await onConfirm();
          } catch (e) {
            setError(describeError(e));
          } finally {
            setBusy(false);
          }
        }}
      >
        {children}
        <ErrorAlert error={error} />
        <div class="actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" class={danger ? "danger" : "primary"} disabled={busy} aria-busy={busy}>
            {confirm}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

/** Previous / next over an offset-paged list. `total` null: "next" while a page came back full. */
export function Pager({
  offset,
  limit,
  count,
  total,
  onPage,
  label,
}: {
  offset: number;
  limit: number;
  count: number;
  total: number | null;
  onPage: (offset: number) => void;
  label: string;
}) {
  const hasNext = total === null ? count === limit : offset + count < total;
  if (offset === 0 && !hasNext) return null;
  const range = count === 0 ? "none" : `${offset + 1}–${offset + count}`;
  return (
    <nav class="admin-pager" aria-label={label}>
      <button type="button" disabled={offset === 0} onClick={() => onPage(Math.max(0, offset - limit))}>
        ← Previous
      </button>
      <span class="muted small">
        {range}
        {total !== null && ` of ${total}`}
      </span>
      <button type="button" disabled={!hasNext} onClick={() => onPage(offset + limit)}>
        Next →
      </button>
    </nav>
  );
}
