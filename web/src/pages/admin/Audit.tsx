// Audit log (Moderator+): newest first, filters by event type, entity and actor, pages of 25. Actor and
// target are named (users by their username, linking to their profile).
import { useEffect, useState } from "preact/hooks";
import { ErrorAlert } from "../../components/ErrorAlert";
import { api } from "../../lib/api";
import { describeError } from "../../lib/errors";
import { type AuditItem, type AuditPage, Pager, UserName, resolveUser, when } from "./shared";

const PAGE = 25;

export const EVENT_TYPES = [
  "ANNOUNCEMENT_CREATE", "ANNOUNCEMENT_END", "BOT_DELETE", "BOT_KEY_REGENERATE", "BOT_REGISTER", "BOT_RESET_STATS",
  "BOT_UNVERIFY", "BOT_UPDATE", "BOT_VERIFY", "CHAT_BAN", "CHAT_CLEAR", "CHAT_CREATE_OFFICIAL", "CHAT_DELETE",
  "CHAT_KICK", "CHAT_MUTE", "CHAT_TRANSFER", "CHAT_UNBAN", "CHAT_UPDATE", "NOTIFICATION_BROADCAST",
  "NOTIFICATION_SEND", "PERMISSION_CHANGE", "STRANGER_BLOCK", "SUBSCRIPTION_GRANT", "SUBSCRIPTION_REVOKE",
  "USER_BAN", "USER_BOT_LOGIN", "USER_HARD_MUTE", "USER_HARD_UNMUTE", "USER_LINK_PLATFORM", "USER_TIMEOUT", "USER_UNBAN",
  "USER_WARN",
];

interface Filters {
  event_type?: string;
  entity_type?: string;
  entity_id?: number;
  actor_id?: number;
}

/** "USER_TIMEOUT" → "User timeout". */
function eventWords(type: string): string {
  const text = type.toLowerCase().replace(/_/g, " ");
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function Target({ item }: { item: AuditItem }) {
  const meta = item.event_metadata;
  if (item.entity_type === "user" && item.entity_id !== null) return <UserName id={item.entity_id} />;
  if (item.entity_type === "chat") {
    const user = typeof meta["user_id"] === "number" ? (meta["user_id"] as number) : null;
    return (
      <span>
        {`chat #${item.entity_id ?? "?"}`}
        {user !== null && (
          <>
            {" → "}
            <UserName id={user} />
          </>
        )}
      </span>
    );
  }
  if (item.entity_type === "bot") return <span>{`bot #${item.entity_id ?? "?"}${typeof meta["name"] === "string" ? ` (${meta["name"]})` : ""}`}</span>;
  if (typeof meta["announcement_id"] === "number") return <span>{`announcement #${meta["announcement_id"]}`}</span>;
  return <span class="muted">—</span>;
}

/** The metadata as short "key: value" text (never HTML). */
function details(meta: Record<string, unknown>): string {
  return Object.entries(meta)
    .filter(([key]) => key !== "announcement_id")
    .map(([key, value]) => `${key.replace(/_/g, " ")}: ${typeof value === "object" ? JSON.stringify(value) : String(value)}`)
    .join(" · ");
}

export function Audit() {
  const [offset, setOffset] = useState(0);
  const [filters, setFilters] = useState<Filters>({});
  const [page, setPage] = useState<AuditPage | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [eventType, setEventType] = useState("");
  const [entityType, setEntityType] = useState("");
  const [entityId, setEntityId] = useState("");
  const [actor, setActor] = useState("");
  useEffect(() => {
    let live = true;
    api
      .get<AuditPage>("/v1/admin/audit/logs", { ...filters, offset, limit: PAGE })
      .then((answer) => live && (setPage(answer), setError(null)))
      .catch((e) => live && setError(describeError(e)));
    return () => {
      live = false;
    };
  }, [filters, offset]);
  return (
    <div>
      <form
        class="admin-filters"
        role="search"
        aria-label="Filter the audit log"
        onSubmit={async (event) => {
          event.preventDefault();
          setError(null);
          try {
            const next: Filters = {};
            if (eventType.trim()) next.event_type = eventType.trim().toUpperCase();
            if (entityType) next.entity_type = entityType;
            if (entityId.trim()) {
              if (!entityType) throw new Error("Choose what the entity is (user, chat or bot) for an entity id.");
              next.entity_id = entityType === "user" ? (await resolveUser(entityId)).id : Number(entityId);
            }
            if (actor.trim()) next.actor_id = (await resolveUser(actor)).id;
            setOffset(0);
            setFilters(next);
          } catch (e) {
            setError(describeError(e));
          }
        }}
      >
        <div class="field">
          <label for="audit-event">Event</label>
          <input id="audit-event" type="text" list="audit-events" placeholder="any" value={eventType} onInput={(e) => setEventType((e.target as HTMLInputElement).value)} />
          <datalist id="audit-events">
            {EVENT_TYPES.map((t) => (
              <option key={t} value={t} />
            ))}
          </datalist>
        </div>
        <div class="field">
          <label for="audit-entity">Entity</label>
          <select id="audit-entity" value={entityType} onChange={(e) => setEntityType((e.target as HTMLSelectElement).value)}>
            <option value="">Any</option>
            <option value="user">User</option>
            <option value="chat">Chat</option>
            <option value="bot">Bot</option>
          </select>
        </div>
        <div class="field">
          <label for="audit-entity-id">
            Entity id <span class="hint">or username</span>
          </label>
          <input id="audit-entity-id" type="text" value={entityId} onInput={(e) => setEntityId((e.target as HTMLInputElement).value)} />
        </div>
        <div class="field">
          <label for="audit-actor">
            Actor <span class="hint">username or id</span>
          </label>
          <input id="audit-actor" type="text" value={actor} onInput={(e) => setActor((e.target as HTMLInputElement).value)} />
        </div>
        <div class="admin-filter-buttons">
          <button type="submit" class="primary">
            Filter
          </button>
          <button
            type="button"
            onClick={() => {
              setEventType("");
              setEntityType("");
              setEntityId("");
              setActor("");
              setOffset(0);
              setFilters({});
            }}
          >
            Clear
          </button>
        </div>
      </form>
      <ErrorAlert error={error} />
      {page === null && !error && <p class="muted">Loading the audit log…</p>}
      {page !== null && page.items.length === 0 && <p class="muted">No events{Object.keys(filters).length ? " match these filters" : " yet"}.</p>}
      {page !== null && page.items.length > 0 && (
        <table class="admin-table audit-table">
          <caption class="visually-hidden">Audit events, newest first</caption>
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Event</th>
              <th scope="col">Actor</th>
              <th scope="col">Target</th>
              <th scope="col">Details</th>
            </tr>
          </thead>
          <tbody>
            {page.items.map((item) => (
              <tr key={item.id}>
                <td data-label="When">{when(item.created_at)}</td>
                <th scope="row" data-label="Event">
                  <span class="admin-strong" title={item.event_type}>
                    {eventWords(item.event_type)}
                  </span>
                </th>
                <td data-label="Actor">
                  <UserName id={item.actor_id} />
                </td>
                <td data-label="Target">
                  <Target item={item} />
                </td>
                <td data-label="Details" class="audit-details">
                  {details(item.event_metadata) || <span class="muted">—</span>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {page !== null && <Pager offset={offset} limit={PAGE} count={page.items.length} total={page.total} onPage={setOffset} label="Pages of the audit log" />}
    </div>
  );
}
