// Joining by link: `/c/{slug}` (a public chat's link name) and `/i/{code}` (an invite). Signed-out visitors
// were sent to sign in first and come back here (app.tsx adds `?next=`).
import { useEffect, useState } from "preact/hooks";
import { ApiError, api } from "../lib/api";
import { describeError } from "../lib/errors";
import { navigate } from "../lib/router";
import type { Chat } from "../lib/types";
import "./Lobby.css";

export function JoinBySlug({ slug }: { slug: string }) {
  const [problem, setProblem] = useState<{ notFound: boolean; message: string } | null>(null);
  useEffect(() => {
    let stale = false;
    setProblem(null);
    api
      .get<Chat>(`/v1/portal/directory/${encodeURIComponent(slug)}`)
      .then((chat) => !stale && navigate(`/chat/${chat.id}`, { replace: true }))
      .catch((error) => {
        if (stale) return;
        const notFound = error instanceof ApiError && error.status === 404;
        setProblem({ notFound, message: describeError(error) });
      });
    return () => {
      stale = true;
    };
  }, [slug]);

  if (!problem) {
    return (
      <main id="main" class="page narrow join" aria-busy="true">
        <p class="muted" role="status">
          Opening <code>/c/{slug}</code>…
        </p>
      </main>
    );
  }
  return (
    <main id="main" class="page narrow join">
      <div class="card">
        <h1>{problem.notFound ? "No chat by that name" : "That link did not open"}</h1>
        {problem.notFound ? (
          <p>
            No public chat has the link name <code>{slug}</code>. It may have been renamed, made private or
            deleted, or the link was mistyped.
          </p>
        ) : (
          <p role="alert">{problem.message}</p>
        )}
        <div class="actions">
          <a class="button primary" href="/">
            Browse the lobby
          </a>
        </div>
      </div>
    </main>
  );
}

export function JoinByInvite({ code }: { code: string }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [invalid, setInvalid] = useState(false);

  async function join() {
    if (busy) return;
    setBusy(true);
    setError(null);
    try {
      const chat = await api.post<Chat>(`/v1/portal/resolve/${encodeURIComponent(code)}`);
      navigate(`/chat/${chat.id}`, { replace: true });
    } catch (e) {
      setInvalid(e instanceof ApiError && e.error === "ERR_INVITE_INVALID");
      setError(describeError(e));
      setBusy(false);
    }
  }

  return (
    <main id="main" class="page narrow join">
      <div class="card">
        <h1>{invalid ? "This invite does not work" : "You are invited to a chat"}</h1>
        {invalid ? (
          <p>
            The invite <code>{code}</code> expired, was used up or was deleted. Ask whoever sent it for a new link.
          </p>
        ) : (
          <>
            <p>
              Someone sent you an invite link to a chat on Portal. Joining makes you a member: you will see the chat
              in your lobby, read along and write with the others. Messages are end-to-end encrypted.
            </p>
            <p class="muted small">
              Invite code <code>{code}</code>. The chat's name shows once you join (an invite cannot be looked at
              without using it).
            </p>
          </>
        )}
        {error && !invalid && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <div class="actions">
          {!invalid && (
            <button type="button" class="primary" onClick={join} disabled={busy}>
              {busy ? "Joining…" : "Join the chat"}
            </button>
          )}
          <a class={invalid ? "button primary" : "button"} href="/">
            {invalid ? "Go to the lobby" : "Not now"}
          </a>
        </div>
      </div>
    </main>
  );
}
