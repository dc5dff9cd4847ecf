// Admin → Users (Moderator+): find a user (their profile carries the platform actions) and block a
// stranger's session from matchmaking by its id.
import { useState } from "preact/hooks";
import { ErrorAlert } from "../../components/ErrorAlert";
import { notify } from "../../components/Notice";
import { api } from "../../lib/api";
import { describeError } from "../../lib/errors";
import { PERMISSION_NAMES, TIER_NAMES } from "../../lib/types";
import { Confirm } from "./shared";

interface Found {
  id: number;
  username: string;
  subscription_tier: number;
  permission_level?: number;
  state?: number;
}

export function Users() {
  const [q, setQ] = useState("");
  const [found, setFound] = useState<Found[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [stranger, setStranger] = useState("");
  const [blocking, setBlocking] = useState(false);
  return (
    <div>
      <form
        class="admin-filters"
        role="search"
        aria-label="Find a user"
        onSubmit={async (event) => {
          event.preventDefault();
          setError(null);
          if (!q.trim()) return;
          try {
            const answer = await api.get<{ users: Found[] }>("/v1/users/search", { q: q.trim(), limit: 25 });
            setFound(answer.users);
          } catch (e) {
            setError(describeError(e));
          }
        }}
      >
        <div class="field">
          <label for="users-q">Username contains</label>
          <input id="users-q" type="search" maxLength={32} value={q} onInput={(e) => setQ((e.target as HTMLInputElement).value)} />
        </div>
        <button type="submit" class="primary">
          Search
        </button>
      </form>
      <ErrorAlert error={error} />
      {found !== null && found.length === 0 && <p class="muted">Nobody's name contains that.</p>}
      {found !== null && found.length > 0 && (
        <ul class="admin-user-list">
          {found.map((u) => (
            <li key={u.id}>
              <a href={`/u/${encodeURIComponent(u.username)}`}>{u.username}</a>
              <span class="muted small">
                {` #${u.id} · ${TIER_NAMES[u.subscription_tier] ?? ""}`}
                {u.permission_level !== undefined && u.permission_level > 0 ? ` · ${PERMISSION_NAMES[u.permission_level]}` : ""}
                {u.state === 1 ? " · timed out" : u.state === 2 ? " · banned" : ""}
              </span>
            </li>
          ))}
        </ul>
      )}
      <section class="admin-block" aria-labelledby="block-title">
        <h3 id="block-title">Block a stranger</h3>
        <p class="muted small">
          Strangers have no profile. Blocking keeps their session out of matchmaking until it expires (at most 24
          hours); their open chats go on. A new stranger session is a new identity.
        </p>
        <form
          class="admin-filters"
          onSubmit={(event) => {
            event.preventDefault();
            if (/^\d+$/.test(stranger.trim())) setBlocking(true);
            else setError("A stranger is blocked by their user id (digits).");
          }}
        >
          <div class="field">
            <label for="stranger-id">Stranger's user id</label>
            <input id="stranger-id" type="text" inputMode="numeric" required value={stranger} onInput={(e) => setStranger((e.target as HTMLInputElement).value)} />
          </div>
          <button type="submit" class="danger">
            Block…
          </button>
        </form>
      </section>
      <Confirm
        title={`Block stranger #${stranger.trim()}`}
        open={blocking}
        onClose={() => setBlocking(false)}
        confirm="Block"
        onConfirm={async () => {
          const answer = await api.post<{ message: string }>("/v1/admin/strangers/block", { user_id: Number(stranger.trim()) });
          notify(`${answer.message}.`);
          setBlocking(false);
          setStranger("");
        }}
      >
        <p>They leave every match queue at once and cannot search again with this session.</p>
      </Confirm>
    </div>
  );
}
