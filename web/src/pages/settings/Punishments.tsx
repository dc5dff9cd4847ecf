// Punishments: your own moderation history, newest first, paged (`offset`/`limit`).
import { useState } from "preact/hooks";
import { api } from "../../lib/api";
import { describeError } from "../../lib/errors";
import { DateText, LoadState, useLoad } from "./common";
import { ErrorAlert } from "../../components/ErrorAlert";

interface ModerationAction {
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

const PAGE = 20;

const KINDS: Record<string, string> = {
  CHAT_KICK: "Kicked from a chat",
  CHAT_MUTE: "Muted in a chat",
  CHAT_BAN: "Banned from a chat",
  PLATFORM_TIMEOUT: "Timed out from Portal",
  PLATFORM_WARNING: "Warning",
  PLATFORM_HARD_MUTE: "Muted everywhere on Portal",
};

function status(action: ModerationAction): { text: string; kind: "over" | "active" | "none" } {
  if (action.is_lifted) return { text: "Lifted", kind: "over" };
  if (action.expires_at) {
    return Date.parse(action.expires_at) > Date.now() ? { text: "In force", kind: "active" } : { text: "Over", kind: "over" };
  }
  if (action.action_type === "PLATFORM_WARNING" || action.action_type === "CHAT_KICK") return { text: "", kind: "none" };
  return { text: "In force", kind: "active" };
}

export function Punishments() {
  const first = useLoad(() => api.get<ModerationAction[]>("/v1/users/me/punishments", { offset: 0, limit: PAGE }));
  const [more, setMore] = useState<ModerationAction[]>([]);
  const [end, setEnd] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  if (!first.data) return <LoadState state={first} what="your punishments" />;
  const rows = [...first.data, ...more];
  const hasMore = !end && rows.length > 0 && rows.length % PAGE === 0;

  async function loadMore() {
    if (busy) return;
    setBusy(true);
    setError(null);
    try {
      const page = await api.get<ModerationAction[]>("/v1/users/me/punishments", { offset: rows.length, limit: PAGE });
      setMore([...more, ...page]);
      if (page.length < PAGE) setEnd(true);
    } catch (cause) {
      setError(describeError(cause));
    } finally {
      setBusy(false);
    }
  }

  if (rows.length === 0) {
    return (
      <div class="settings-empty">
        <p>
          <strong>A clean record.</strong> No one has warned, muted, kicked, banned or timed you out.
        </p>
      </div>
    );
  }
  return (
    <>
      <p class="muted">Warnings and restrictions moderators gave you, newest first.</p>
      <div class="settings-table-wrap">
        <table class="settings-table">
          <caption class="visually-hidden">Your punishments</caption>
          <thead>
            <tr>
              <th scope="col">What</th>
              <th scope="col">Reason</th>
              <th scope="col">When</th>
              <th scope="col">Until</th>
              <th scope="col">Status</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((action) => {
              const state = status(action);
              return (
                <tr key={action.id}>
                  <td data-label="What">
                    {KINDS[action.action_type] ?? action.action_type}
                    {action.chat_id !== null && <span class="muted small"> (chat {action.chat_id})</span>}
                  </td>
                  <td data-label="Reason">{action.reason ?? <span class="muted">No reason given</span>}</td>
                  <td data-label="When">
                    <DateText iso={action.created_at} />
                  </td>
                  <td data-label="Until">
                    {action.is_lifted && action.lifted_at ? (
                      <>
                        lifted <DateText iso={action.lifted_at} />
                      </>
                    ) : action.expires_at ? (
                      <DateText iso={action.expires_at} />
                    ) : (
                      <span class="muted">—</span>
                    )}
                  </td>
                  <td data-label="Status">
                    {state.text && <span class={`badge punish-${state.kind}`}>{state.text}</span>}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      <ErrorAlert error={error} />
      {hasMore && (
        <button type="button" onClick={() => void loadMore()} disabled={busy} aria-busy={busy}>
          {busy ? "Loading…" : "Show older"}
        </button>
      )}
    </>
  );
}
