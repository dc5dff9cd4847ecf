// The activity tab: joins, leaves, kicks and bans, newest first, a page at a time
// (`GET /v1/portal/chats/{id}/activity?offset&limit`).
import { useEffect, useState } from "preact/hooks";
import { api } from "../../lib/api";
import { describeError } from "../../lib/errors";
import type { ActivityEvent, ActivityPage, ChatDetail } from "../../lib/types";
import { Avatar } from "../../components/Avatar";
import { formatWhen } from "./Invites";

const PAGE = 20;

const METHODS: Record<string, string> = {
  invite: "with an invite",
  direct: "from the lobby",
  vanity: "through its link",
};

/** One readable line: "alice joined with an invite (abc…)", "bob was banned by carol". */
export function describeActivity(event: ActivityEvent): string {
  const who = event.user.username;
  const by = event.actor ? ` by ${event.actor.username}` : "";
  switch (event.action) {
    case "join": {
      const how = event.method ? (METHODS[event.method] ?? `(${event.method})`) : "";
      const code = event.invite_code ? ` ${event.invite_code}` : "";
      return `${who} joined${how ? ` ${how}` : ""}${code}`;
    }
    case "leave":
      return `${who} left`;
    case "kick":
      return `${who} was kicked${by}`;
    case "ban":
      return `${who} was banned${by}`;
    default:
      return `${who}: ${event.action}${by}`;
  }
}

export function ActivityPanel({ chat }: { chat: ChatDetail }) {
  const [offset, setOffset] = useState(0);
  const [page, setPage] = useState<ActivityPage | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let stale = false;
    setError(null);
    api
      .get<ActivityPage>(`/v1/portal/chats/${chat.id}/activity`, { offset, limit: PAGE })
      .then((result) => !stale && setPage(result))
      .catch((e) => !stale && setError(describeError(e)));
    return () => {
      stale = true;
    };
  }, [chat.id, offset]);

  const total = page?.total ?? 0;
  const first = total === 0 ? 0 : offset + 1;
  const last = Math.min(offset + PAGE, total);
  return (
    <section class="card" aria-labelledby="activity-title">
      <h2 id="activity-title">Activity</h2>
      <p class="muted small">Who joined, left, was kicked or banned, newest first.</p>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {!page && !error && <p class="muted">Loading activity…</p>}
      {page && page.events.length === 0 && <p class="muted">Nothing yet: activity appears when people join.</p>}
      {page && page.events.length > 0 && (
        <ol class="activity-list">
          {page.events.map((event, index) => (
            <li key={`${offset + index}`} class={`activity-${event.action}`}>
              <Avatar user={event.user} size={28} />
              <span class="activity-text">{describeActivity(event)}</span>
              <time class="muted small" dateTime={event.created_at}>
                {formatWhen(event.created_at)}
              </time>
            </li>
          ))}
        </ol>
      )}
      {page && total > PAGE && (
        <nav class="pager" aria-label="Activity pages">
          <button type="button" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE))}>
            Newer
          </button>
          <span class="muted small" aria-live="polite">
            {first}–{last} of {total}
          </span>
          <button type="button" disabled={offset + PAGE >= total} onClick={() => setOffset(offset + PAGE)}>
            Older
          </button>
        </nav>
      )}
    </section>
  );
}
