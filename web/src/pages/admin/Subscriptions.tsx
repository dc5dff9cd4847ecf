// Admin → Subscriptions: grant Trial (once per user, 7 days), Premium (days) or Lifetime; the active list
// (filter by tier and name) with Revoke.
import { useEffect, useState } from "preact/hooks";
import { ErrorAlert } from "../../components/ErrorAlert";
import { notify } from "../../components/Notice";
import { api } from "../../lib/api";
import { describeError } from "../../lib/errors";
import { TIER_NAMES } from "../../lib/types";
import { Confirm, resolveUser, when } from "./shared";

interface ActiveUser {
  id: number;
  name: string;
  tier: number;
  expires_at: string | null;
  is_active: boolean;
}

export function Subscriptions() {
  const [version, setVersion] = useState(0);
  return (
    <div>
      <GrantForm onDone={() => setVersion((v) => v + 1)} />
      <ActiveList version={version} onChange={() => setVersion((v) => v + 1)} />
    </div>
  );
}

function GrantForm({ onDone }: { onDone: () => void }) {
  const [user, setUser] = useState("");
  const [tier, setTier] = useState("2");
  const [days, setDays] = useState("30");
  const [reason, setReason] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  return (
    <form
      class="admin-form"
      aria-labelledby="grant-title"
      onSubmit={async (event) => {
        event.preventDefault();
        if (busy) return;
        setBusy(true);
        setError(null);
        try {
          const who = await resolveUser(user);
          const body: Record<string, unknown> = { user_id: who.id, tier: tier === "TRIAL" ? "TRIAL" : Number(tier) };
          if (tier === "2") body["duration_days"] = Number(days);
          if (reason.trim()) body["reason"] = reason.trim();
          const answer = await api.post<{ message: string }>("/v1/admin/subscriptions/grant", body);
          notify(`${answer.message}${who.username ? ` (${who.username})` : ""}.`);
          setUser("");
          setReason("");
          onDone();
        } catch (e) {
          setError(describeError(e));
        } finally {
          setBusy(false);
        }
      }}
    >
      <h3 id="grant-title">Grant a subscription</h3>
      <div class="admin-form-grid">
        <div class="field">
          <label for="grant-user">
            User <span class="hint">username or id</span>
          </label>
          <input id="grant-user" type="text" required value={user} onInput={(e) => setUser((e.target as HTMLInputElement).value)} />
        </div>
        <div class="field">
          <label for="grant-tier">Plan</label>
          <select id="grant-tier" value={tier} onChange={(e) => setTier((e.target as HTMLSelectElement).value)}>
            <option value="TRIAL">Trial (7 days, once per user)</option>
            <option value="2">Premium</option>
            <option value="3">Lifetime</option>
          </select>
        </div>
        {tier === "2" && (
          <div class="field">
            <label for="grant-days">
              Days <span class="hint">1–3650; extends a running Premium</span>
            </label>
            <input id="grant-days" type="number" min={1} max={3650} required value={days} onInput={(e) => setDays((e.target as HTMLInputElement).value)} />
          </div>
        )}
        <div class="field admin-wide">
          <label for="grant-reason">
            Reason <span class="hint">optional, kept in the history</span>
          </label>
          <input id="grant-reason" type="text" maxLength={500} value={reason} onInput={(e) => setReason((e.target as HTMLInputElement).value)} />
        </div>
      </div>
      <ErrorAlert error={error} />
      <div class="actions">
        <button type="submit" class="primary" disabled={busy} aria-busy={busy}>
          Grant
        </button>
      </div>
    </form>
  );
}

function ActiveList({ version, onChange }: { version: number; onChange: () => void }) {
  const [tier, setTier] = useState("");
  const [q, setQ] = useState("");
  const [query, setQuery] = useState("");
  const [users, setUsers] = useState<ActiveUser[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [revoking, setRevoking] = useState<ActiveUser | null>(null);
  const [reason, setReason] = useState("");
  useEffect(() => {
    let live = true;
    api
      .get<{ users: ActiveUser[] }>("/v1/admin/subscriptions/active", { tier: tier || undefined, q: query || undefined })
      .then((answer) => live && (setUsers(answer.users), setError(null)))
      .catch((e) => live && setError(describeError(e)));
    return () => {
      live = false;
    };
  }, [tier, query, version]);
  return (
    <section class="admin-block" aria-labelledby="active-title">
      <h3 id="active-title">Active subscriptions</h3>
      <form
        class="admin-filters"
        role="search"
        aria-label="Filter subscriptions"
        onSubmit={(event) => {
          event.preventDefault();
          setQuery(q.trim());
        }}
      >
        <div class="field">
          <label for="subs-tier">Plan</label>
          <select id="subs-tier" value={tier} onChange={(e) => setTier((e.target as HTMLSelectElement).value)}>
            <option value="">Any</option>
            <option value="1">Trial</option>
            <option value="2">Premium</option>
            <option value="3">Lifetime</option>
          </select>
        </div>
        <div class="field">
          <label for="subs-q">Username contains</label>
          <input id="subs-q" type="search" maxLength={32} value={q} onInput={(e) => setQ((e.target as HTMLInputElement).value)} />
        </div>
        <button type="submit">Filter</button>
      </form>
      <ErrorAlert error={error} />
      {users === null && !error && <p class="muted">Loading…</p>}
      {users !== null && users.length === 0 && <p class="muted">No active subscriptions{query || tier ? " match" : ""}.</p>}
      {users !== null && users.length > 0 && (
        <table class="admin-table">
          <caption class="visually-hidden">Active subscriptions</caption>
          <thead>
            <tr>
              <th scope="col">User</th>
              <th scope="col">Plan</th>
              <th scope="col">Ends</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {users.map((u) => (
              <tr key={u.id}>
                <th scope="row" data-label="User">
                  <a href={`/u/${encodeURIComponent(u.name)}`}>{u.name}</a>
                  <span class="muted small">{` #${u.id}`}</span>
                </th>
                <td data-label="Plan">
                  <span class={`badge tier-${u.tier}`}>{TIER_NAMES[u.tier] ?? u.tier}</span>
                </td>
                <td data-label="Ends">{u.expires_at ? when(u.expires_at) : "Never"}</td>
                <td class="admin-actions-cell">
                  <button
                    type="button"
                    class="danger-text"
                    aria-label={`Revoke the subscription of ${u.name}`}
                    onClick={() => {
                      setReason("");
                      setRevoking(u);
                    }}
                  >
                    Revoke
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Confirm
        title={`Revoke the subscription of ${revoking?.name ?? ""}`}
        open={revoking !== null}
        onClose={() => setRevoking(null)}
        confirm="Revoke"
        onConfirm={async () => {
          if (!revoking) return;
          if (!reason.trim()) throw new Error("Give a reason: it is kept in the user's history.");
          await api.post("/v1/admin/subscriptions/revoke", { user_id: revoking.id, reason: reason.trim() });
          notify(`${revoking.name} is back on Basic.`);
          setRevoking(null);
          onChange();
        }}
      >
        <p>{`${revoking?.name ?? ""} goes back to Basic at once. The reason is kept in their history.`}</p>
        <div class="field">
          <label for="revoke-reason">Reason</label>
          <input id="revoke-reason" type="text" required maxLength={500} value={reason} onInput={(e) => setReason((e.target as HTMLInputElement).value)} />
        </div>
      </Confirm>
    </section>
  );
}
