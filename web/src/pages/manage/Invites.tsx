// The invites tab: create (expiry, max uses), list the active ones (uses, expiry), copy a link, delete.
// Official chats take no invites (everyone can join them).
import { useEffect, useState } from "preact/hooks";
import { api } from "../../lib/api";
import { describeError } from "../../lib/errors";
import type { ChatDetail, Invite, InvitesOut } from "../../lib/types";
import { notify } from "../../components/Notice";

const EXPIRIES = [
  { value: "", label: "Never" },
  { value: "3600", label: "In 1 hour" },
  { value: "86400", label: "In 1 day" },
  { value: "604800", label: "In 7 days" },
  { value: "2592000", label: "In 30 days" },
];

export function inviteLink(code: string): string {
  return `${location.origin}/i/${code}`;
}

export function InvitesPanel({ chat }: { chat: ChatDetail }) {
  const [invites, setInvites] = useState<Invite[] | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [expiry, setExpiry] = useState("604800");
  const [maxUses, setMaxUses] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [fresh, setFresh] = useState<string | null>(null);

  async function refresh() {
    try {
      const out = await api.get<InvitesOut>(`/v1/portal/chats/${chat.id}/invites`);
      setInvites(out.invites);
      setLoadError(null);
    } catch (e) {
      setLoadError(describeError(e));
    }
  }

  useEffect(() => {
    if (chat.visibility !== "official") void refresh();
  }, [chat.id]);

  if (chat.visibility === "official") {
    return (
      <div class="card">
        <h2>Invites</h2>
        <p class="muted">Official chats take no invites: every signed-in person can find and join them in the lobby.</p>
      </div>
    );
  }

  const uses = Number(maxUses);
  const usesOk = maxUses === "" || (Number.isInteger(uses) && uses >= 1 && uses <= 10000);

  async function create(event: Event) {
    event.preventDefault();
    if (busy || !usesOk) return;
    setBusy(true);
    setError(null);
    try {
      const body: Record<string, unknown> = {};
      if (expiry) body["expires_at"] = new Date(Date.now() + Number(expiry) * 1000).toISOString();
      if (maxUses) body["max_uses"] = uses;
      const invite = await api.post<Invite>(`/v1/portal/chats/${chat.id}/invites`, body);
      setFresh(invite.code);
      await refresh();
    } catch (e) {
      setError(describeError(e));
    } finally {
      setBusy(false);
    }
  }

  async function remove(code: string) {
    try {
      await api.post(`/v1/portal/chats/${chat.id}/invites/${encodeURIComponent(code)}/delete`);
      notify("Invite deleted: its link no longer works.");
      if (fresh === code) setFresh(null);
      await refresh();
    } catch (e) {
      notify(describeError(e), "error");
    }
  }

  return (
    <div class="manage-stack">
      <form class="card" onSubmit={create}>
        <h2>New invite</h2>
        <p class="muted small">
          Whoever opens an invite link becomes a member of “{chat.name}”. A chat has at most 20 active invites.
        </p>
        <div class="invite-form">
          <div class="field">
            <label for="invite-expiry">Expires</label>
            <select id="invite-expiry" value={expiry} onChange={(event) => setExpiry(event.currentTarget.value)}>
              {EXPIRIES.map((option) => (
                <option key={option.value} value={option.value}>
                  {option.label}
                </option>
              ))}
            </select>
          </div>
          <div class="field">
            <label for="invite-uses">Max uses</label>
            <input
              id="invite-uses"
              type="number"
              min={1}
              max={10000}
              inputMode="numeric"
              placeholder="No limit"
              value={maxUses}
              onInput={(event) => setMaxUses(event.currentTarget.value)}
              aria-invalid={!usesOk}
              aria-describedby="invite-uses-hint"
            />
            <span id="invite-uses-hint" class="hint">
              1 to 10 000, or empty for no limit.
            </span>
          </div>
          <div class="field invite-create">
            <button type="submit" class="primary" disabled={busy || !usesOk}>
              {busy ? "Creating…" : "Create invite"}
            </button>
          </div>
        </div>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
      </form>

      <section class="card" aria-labelledby="invites-title">
        <h2 id="invites-title">Active invites {invites && <span class="badge">{invites.length}</span>}</h2>
        {loadError && (
          <p class="error" role="alert">
            {loadError}
          </p>
        )}
        {invites === null && !loadError && <p class="muted">Loading invites…</p>}
        {invites?.length === 0 && <p class="muted">No active invites. Create one above to share a link.</p>}
        {invites && invites.length > 0 && (
          <ul class="invite-list">
            {invites.map((invite) => (
              <InviteRow key={invite.code} invite={invite} highlight={invite.code === fresh} onDelete={remove} />
            ))}
          </ul>
        )}
      </section>
    </div>
  );
}

function InviteRow(props: { invite: Invite; highlight: boolean; onDelete: (code: string) => void }) {
  const { invite, highlight, onDelete } = props;
  const link = inviteLink(invite.code);
  const fieldId = `invite-link-${invite.code}`;

  async function copy() {
    try {
      await navigator.clipboard.writeText(link);
      notify("Invite link copied.");
    } catch {
      const field = document.getElementById(fieldId) as HTMLInputElement | null;
      field?.focus();
      field?.select();
      notify("Copying was not allowed here: the link is selected, copy it with Ctrl+C (⌘C).", "error");
    }
  }

  return (
    <li class={`invite-row${highlight ? " invite-new" : ""}`} data-code={invite.code}>
      <div class="invite-link">
        <label for={fieldId} class="visually-hidden">
          Invite link {invite.code}
        </label>
        <input
          id={fieldId}
          type="text"
          readOnly
          value={link}
          onFocus={(event) => event.currentTarget.select()}
          class="mono"
        />
        <button type="button" onClick={copy} aria-label={`Copy link of invite ${invite.code}`}>
          Copy link
        </button>
        <button
          type="button"
          class="danger"
          onClick={() => onDelete(invite.code)}
          aria-label={`Delete invite ${invite.code}`}
        >
          Delete
        </button>
      </div>
      <p class="invite-meta muted small">
        {highlight && <strong class="invite-fresh">New · </strong>}
        Used {invite.uses}
        {invite.max_uses !== null ? ` of ${invite.max_uses}` : ""} {(invite.max_uses ?? invite.uses) === 1 ? "time" : "times"}
        {" · "}
        {invite.expires_at ? `expires ${formatWhen(invite.expires_at)}` : "never expires"}
        {" · "}created {formatWhen(invite.created_at)}
      </p>
    </li>
  );
}

export function formatWhen(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}
