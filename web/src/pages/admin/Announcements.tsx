// Admin → Announcements: create (title, text, level, start, end) and the list. The public list has only the
// ones showing now; scheduled and ended ones are found in the audit log (ANNOUNCEMENT_CREATE carries the
// title, level and times; ANNOUNCEMENT_END marks the end), so the list shows all three states.
import { useEffect, useState } from "preact/hooks";
import { ErrorAlert } from "../../components/ErrorAlert";
import { notify } from "../../components/Notice";
import { api } from "../../lib/api";
import { describeError } from "../../lib/errors";
import { type Announcement, type AuditPage, Confirm, past, when } from "./shared";

const LEVELS = [
  ["info", "Information"],
  ["warning", "Warning"],
  ["critical", "Critical"],
] as const;

interface Row {
  id: number;
  title: string;
  body: string | null;
  level: string;
  starts_at: string | null;
  ends_at: string | null;
  state: "showing" | "scheduled" | "ended";
}

function stateOf(starts: string | null, ends: string | null, showing: boolean): Row["state"] {
  if (showing) return "showing";
  if (ends && past(ends)) return "ended";
  if (starts && !past(starts)) return "scheduled";
  return "ended";
}

async function loadRows(): Promise<Row[]> {
  const [active, created, ended] = await Promise.all([
    api.get<Announcement[]>("/v1/announcements"),
    api.get<AuditPage>("/v1/admin/audit/logs", { event_type: "ANNOUNCEMENT_CREATE", limit: 100 }),
    api.get<AuditPage>("/v1/admin/audit/logs", { event_type: "ANNOUNCEMENT_END", limit: 200 }),
  ]);
  const endedAt = new Map<number, string>();
  for (const item of ended.items) {
    const id = Number(item.event_metadata["announcement_id"] ?? item.entity_id);
    if (!endedAt.has(id)) endedAt.set(id, item.created_at);
  }
  const rows = new Map<number, Row>();
  for (const a of active) {
    rows.set(a.id, { id: a.id, title: a.title, body: a.body, level: a.level, starts_at: a.starts_at, ends_at: a.ends_at, state: "showing" });
  }
  for (const item of created.items) {
    const m = item.event_metadata;
    const id = Number(m["announcement_id"]);
    if (!Number.isFinite(id) || rows.has(id)) continue;
    const starts = typeof m["starts_at"] === "string" ? m["starts_at"] : null;
    const ends = endedAt.get(id) ?? (typeof m["ends_at"] === "string" ? m["ends_at"] : null);
    rows.set(id, {
      id,
      title: String(m["title"] ?? `Announcement #${id}`),
      body: null,
      level: String(m["level"] ?? "info"),
      starts_at: starts,
      ends_at: ends,
      state: endedAt.has(id) ? "ended" : stateOf(starts, ends, false),
    });
  }
  const order = { showing: 0, scheduled: 1, ended: 2 };
  return [...rows.values()].sort((a, b) => order[a.state] - order[b.state] || b.id - a.id);
}

export function Announcements() {
  const [rows, setRows] = useState<Row[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [version, setVersion] = useState(0);
  const [ending, setEnding] = useState<Row | null>(null);
  useEffect(() => {
    let live = true;
    loadRows()
      .then((list) => live && (setRows(list), setError(null)))
      .catch((e) => live && setError(describeError(e)));
    return () => {
      live = false;
    };
  }, [version]);
  const reload = () => setVersion((v) => v + 1);
  return (
    <div>
      <CreateForm onDone={reload} />
      <section class="admin-block" aria-labelledby="ann-list-title">
        <h3 id="ann-list-title">Announcements</h3>
        <ErrorAlert error={error} />
        {rows === null && !error && <p class="muted">Loading…</p>}
        {rows !== null && rows.length === 0 && <p class="muted">No announcements yet.</p>}
        {rows !== null && rows.length > 0 && (
          <ul class="admin-cards">
            {rows.map((row) => (
              <li key={row.id} class={`admin-card ann-${row.level} ann-state-${row.state}`}>
                <div class="admin-card-head">
                  <h4>{row.title}</h4>
                  <span class={`badge ann-badge-${row.state}`}>
                    {row.state === "showing" ? "Showing now" : row.state === "scheduled" ? "Scheduled" : "Ended"}
                  </span>
                </div>
                {row.body && <p class="admin-card-body">{row.body}</p>}
                <p class="muted small">
                  {`${LEVELS.find(([v]) => v === row.level)?.[1] ?? row.level} · from ${when(row.starts_at)} · `}
                  {row.ends_at ? `${row.state === "ended" ? "ended" : "until"} ${when(row.ends_at)}` : "until ended"}
                </p>
                {row.state !== "ended" && (
                  <div class="actions">
                    <button type="button" class="danger" aria-label={`End now: “${row.title}”`} onClick={() => setEnding(row)}>
                      End now
                    </button>
                  </div>
                )}
              </li>
            ))}
          </ul>
        )}
      </section>
      <Confirm
        title={`End “${ending?.title ?? ""}”`}
        open={ending !== null}
        onClose={() => setEnding(null)}
        confirm="End announcement"
        onConfirm={async () => {
          if (!ending) return;
          await api.post(`/v1/admin/announcements/${ending.id}/end`);
          notify(`“${ending.title}” has ended.`);
          setEnding(null);
          reload();
        }}
      >
        <p>It leaves every page at once{ending?.state === "scheduled" ? " and will never show" : ""}. An ended announcement cannot be shown again.</p>
      </Confirm>
    </div>
  );
}

/** `datetime-local` gives local time without a zone; the server wants an ISO time with one. */
function toIso(local: string): string | null {
  if (!local) return null;
  const date = new Date(local);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

function CreateForm({ onDone }: { onDone: () => void }) {
  const [title, setTitle] = useState("");
  const [body, setBody] = useState("");
  const [level, setLevel] = useState("info");
  const [starts, setStarts] = useState("");
  const [ends, setEnds] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  return (
    <form
      class="admin-form"
      aria-labelledby="ann-create-title"
      onSubmit={async (event) => {
        event.preventDefault();
        if (busy) return;
        setError(null);
        const startsAt = toIso(starts);
        const endsAt = toIso(ends);
        if (endsAt && new Date(endsAt).getTime() <= Math.max(Date.now(), startsAt ? new Date(startsAt).getTime() : 0)) {
          setError("The end must be in the future and after the start.");
          return;
        }
        setBusy(true);
        try {
          const payload: Record<string, unknown> = { title: title.trim(), body: body.trim(), level };
          if (startsAt) payload["starts_at"] = startsAt;
          if (endsAt) payload["ends_at"] = endsAt;
          const created = await api.post<Announcement>("/v1/admin/announcements", payload);
          notify(`“${created.title}” is ${past(created.starts_at) ? "showing on every page" : "scheduled"}.`);
          setTitle("");
          setBody("");
          setStarts("");
          setEnds("");
          onDone();
        } catch (e) {
          setError(describeError(e));
        } finally {
          setBusy(false);
        }
      }}
    >
      <h3 id="ann-create-title">New announcement</h3>
      <p class="muted small">Shown as a banner on every page, to everyone, signed in or not.</p>
      <div class="admin-form-grid">
        <div class="field admin-wide">
          <label for="ann-title">Title</label>
          <input id="ann-title" type="text" required maxLength={100} value={title} onInput={(e) => setTitle((e.target as HTMLInputElement).value)} />
        </div>
        <div class="field admin-wide">
          <label for="ann-body">Text</label>
          <textarea id="ann-body" required rows={3} maxLength={2000} value={body} onInput={(e) => setBody((e.target as HTMLTextAreaElement).value)} />
        </div>
        <div class="field">
          <label for="ann-level">Level</label>
          <select id="ann-level" value={level} onChange={(e) => setLevel((e.target as HTMLSelectElement).value)}>
            {LEVELS.map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="ann-starts">
            Starts <span class="hint">empty: now</span>
          </label>
          <input id="ann-starts" type="datetime-local" value={starts} onInput={(e) => setStarts((e.target as HTMLInputElement).value)} />
        </div>
        <div class="field">
          <label for="ann-ends">
            Ends <span class="hint">empty: until ended</span>
          </label>
          <input id="ann-ends" type="datetime-local" value={ends} onInput={(e) => setEnds((e.target as HTMLInputElement).value)} />
        </div>
      </div>
      <ErrorAlert error={error} />
      <div class="actions">
        <button type="submit" class="primary" disabled={busy} aria-busy={busy}>
          Publish
        </button>
      </div>
    </form>
  );
}
