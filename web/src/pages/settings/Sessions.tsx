// Sessions: the active ones (this device marked) with "End session" on the others, and the ended ones.
import { useState } from "preact/hooks";
import { notify } from "../../components/Notice";
import { api } from "../../lib/api";
import { describeError } from "../../lib/errors";
import { DateText, LoadState, useLoad } from "./common";
import { ErrorAlert } from "../../components/ErrorAlert";

interface Geo {
  city?: string | null;
  region_name?: string | null;
  country_code?: string | null;
  isp?: string | null;
}

interface SessionHistory {
  token_suffix: string;
  created_at: string;
  client_ip: string | null;
  user_agent: string | null;
  geo: Geo;
}

interface ActiveSession extends SessionHistory {
  expires_at: string;
  is_current: boolean;
}

interface SessionsOut {
  sessions: ActiveSession[];
  history: SessionHistory[];
}

/** "Chrome on Linux" from a User-Agent header, roughly; the raw text when it is not a browser's. */
export function describeAgent(agent: string | null): string {
  if (!agent) return "Unknown device";
  const browser = /Edg\//.test(agent)
    ? "Edge"
    : /OPR\/|Opera/.test(agent)
      ? "Opera"
      : /Firefox\//.test(agent)
        ? "Firefox"
        : /HeadlessChrome\//.test(agent)
          ? "Chrome (headless)"
          : /Chrome\/|CriOS\//.test(agent)
            ? "Chrome"
            : /Safari\//.test(agent)
              ? "Safari"
              : null;
  const os = /Windows NT/.test(agent)
    ? "Windows"
    : /Android/.test(agent)
      ? "Android"
      : /iPhone|iPad|iPod/.test(agent)
        ? "iOS"
        : /Mac OS X|Macintosh/.test(agent)
          ? "macOS"
          : /CrOS/.test(agent)
            ? "ChromeOS"
            : /Linux/.test(agent)
              ? "Linux"
              : null;
  if (browser && os) return `${browser} on ${os}`;
  if (browser) return browser;
  if (os) return `A browser on ${os}`;
  return agent.length > 60 ? `${agent.slice(0, 57)}…` : agent;
}

function place(geo: Geo): string | null {
  const parts = [geo.city, geo.country_code].filter((part): part is string => Boolean(part));
  return parts.length ? parts.join(", ") : null;
}

function SessionDetails({ session }: { session: SessionHistory }) {
  const where = place(session.geo ?? {});
  return (
    <div class="muted small">
      {session.client_ip ?? "Unknown address"}
      {where && <> · {where}</>}
      {" · "}started <DateText iso={session.created_at} />
      {"expires_at" in session && (
        <>
          {" · "}expires <DateText iso={(session as ActiveSession).expires_at} withTime={false} />
        </>
      )}
    </div>
  );
}

export function Sessions() {
  const state = useLoad(() => api.get<SessionsOut>("/v1/users/me/sessions"));
  const [ending, setEnding] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  async function end(session: ActiveSession) {
    if (ending) return;
    setEnding(session.token_suffix);
    setError(null);
    try {
      await api.post(`/v1/users/me/sessions/${encodeURIComponent(session.token_suffix)}/destroy`);
      notify(`Ended the session of ${describeAgent(session.user_agent)}.`);
      state.reload();
    } catch (cause) {
      setError(describeError(cause));
      state.reload();
    } finally {
      setEnding(null);
    }
  }

  const data = state.data;
  const active = data ? [...data.sessions].sort((a, b) => Number(b.is_current) - Number(a.is_current)) : [];
  return (
    <>
      <p class="muted">
        Everywhere you are signed in. End a session you do not recognise: that device is signed out at once.
      </p>
      <LoadState state={state} what="your sessions" />
      <ErrorAlert error={error} />
      {data && (
        <>
          <h3>Active sessions ({active.length})</h3>
          <ul class="settings-list" aria-label="Active sessions">
            {active.map((session) => (
              <li key={session.token_suffix} class="settings-row" data-session={session.token_suffix}>
                <div>
                  <strong>{describeAgent(session.user_agent)}</strong>{" "}
                  {session.is_current && <span class="badge live">This device</span>}
                  <SessionDetails session={session} />
                </div>
                {!session.is_current && (
                  <button
                    type="button"
                    class="danger"
                    disabled={ending !== null}
                    aria-busy={ending === session.token_suffix}
                    aria-label={`End session: ${describeAgent(session.user_agent)}, ${session.client_ip ?? "unknown address"}`}
                    onClick={() => void end(session)}
                  >
                    {ending === session.token_suffix ? "Ending…" : "End session"}
                  </button>
                )}
              </li>
            ))}
          </ul>
          <details class="settings-history">
            <summary>Past sessions ({data.history.length})</summary>
            {data.history.length === 0 ? (
              <p class="muted">No ended sessions yet.</p>
            ) : (
              <ul class="settings-list" aria-label="Past sessions">
                {data.history.map((session) => (
                  <li key={`${session.token_suffix}-${session.created_at}`} class="settings-row">
                    <div>
                      <strong>{describeAgent(session.user_agent)}</strong>
                      <SessionDetails session={session} />
                    </div>
                  </li>
                ))}
              </ul>
            )}
          </details>
        </>
      )}
    </>
  );
}
