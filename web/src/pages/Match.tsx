// Meet someone (/match): interests as chips, Start → searching (elapsed time, keep-alive) → `match:found`
// opens the direct chat (/chat/{id}); Stop leaves the queue. Below, this person's one-on-one chats: the
// open ones and the ended ones, readable for 24 hours. The flow lives in match/state.ts.
import { useEffect, useRef, useState } from "preact/hooks";
import { api } from "../lib/api";
import { describeError } from "../lib/errors";
import { chatsChanged } from "../lib/live";
import { me } from "../lib/session";
import { type Chat, TIER_NAMES } from "../lib/types";
import "./Match.css";
import { TagInput } from "./match/TagInput";
import {
  announcement,
  clock,
  listWords,
  matchInfo,
  phase,
  refreshStatus,
  refusal,
  searchingSince,
  setTags,
  start,
  stop,
  tags,
} from "./match/state";

export function Match() {
  const current = phase.value;
  const busy = current === "starting" || current === "stopping";
  const searching = current === "searching" || current === "stopping";

  useEffect(() => {
    refreshStatus().catch(() => undefined); // resume a search after a reload; the page works without it
  }, []);

  return (
    <main id="main" class="page match-page">
      <div class="match-card card">
        <h1>Meet someone</h1>
        <p class="muted match-intro">
          A one-on-one chat with someone who shares an interest, end-to-end encrypted. It ends when either of you
          leaves, and stays readable for 24 hours after that.
        </p>
        {searching ? (
          <Searching />
        ) : (
          <form
            class="match-form"
            onSubmit={(event) => {
              event.preventDefault();
              void start();
            }}
          >
            <TagInput tags={tags.value} onChange={setTags} disabled={busy} onSubmit={() => void start()} />
            <div class="actions">
              <button type="submit" class="primary match-start" disabled={busy || tags.value.length === 0}>
                {current === "starting" ? "Starting…" : "Start"}
              </button>
            </div>
          </form>
        )}
        <Refusal />
        <p class="visually-hidden" role="status" aria-live="polite">
          {announcement.value}
        </p>
      </div>
      <Conversations />
    </main>
  );
}

function Searching() {
  const [now, setNow] = useState(Date.now());
  const stopButton = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    const timer = window.setInterval(() => setNow(Date.now()), 1000);
    // Start moved the focus away with the form: put it on Stop, the one thing to do now.
    stopButton.current?.focus();
    return () => window.clearInterval(timer);
  }, []);
  const since = searchingSince.value ?? now;
  const stopping = phase.value === "stopping";
  return (
    <section class="searching" aria-labelledby="searching-title">
      <div class="searching-pulse" aria-hidden="true" />
      <h2 id="searching-title">Looking for someone…</h2>
      <p>
        who likes <strong>{listWords(tags.value, "or")}</strong>
      </p>
      <p class="searching-time muted">
        <span class="visually-hidden">Searching for </span>
        <time>{clock((now - since) / 1000)}</time>
      </p>
      <p class="hint">Keep this tab open: the chat opens here as soon as someone matches.</p>
      <div class="actions">
        <button type="button" ref={stopButton} onClick={() => void stop()} disabled={stopping}>
          {stopping ? "Stopping…" : "Stop"}
        </button>
      </div>
    </section>
  );
}

/** A refused start in words: the premium third slot, a blocked stranger, a bad tag. */
function Refusal() {
  const why = refusal.value;
  const user = me.value;
  if (!why) return null;
  if (why.code === "ERR_MATCH_SLOT_LIMIT") {
    const plan = user?.is_stranger ? "a stranger session" : `your plan: ${TIER_NAMES[user?.subscription_tier ?? 0] ?? "Basic"}`;
    return (
      <div class="error match-refusal" role="alert">
        <p>
          <strong>Your one-on-one chat slots are full.</strong> Everyone may have 1 open one-on-one chat at a time;
          Premium members may have 3 ({plan}). End an open chat below (open it and press Stop), then start again.
        </p>
        {!user?.is_stranger && (
          <p>
            <a href="/settings/subscription">Settings → Subscription</a> tells how to get Premium.
          </p>
        )}
      </div>
    );
  }
  if (why.code === "ERR_STRANGER_BLOCKED") {
    return (
      <div class="error match-refusal" role="alert">
        <p>
          <strong>You cannot meet new people as this stranger.</strong> A moderator blocked this stranger session
          from matchmaking. Chats you already have stay readable.
        </p>
        <p>To meet people again, sign in with a Portal account.</p>
      </div>
    );
  }
  return (
    <div class="error match-refusal" role="alert">
      <p>{why.text}</p>
    </div>
  );
}

/** This person's direct chats: open ones first, then the ended ones (listed while they stay readable). */
function Conversations() {
  const [chats, setChats] = useState<Chat[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const changes = chatsChanged.value;
  const current = phase.value;
  useEffect(() => {
    let stale = false;
    api
      .get<Chat[]>("/v1/portal/chats")
      .then((all) => {
        if (stale) return;
        setChats(all.filter((chat) => chat.chat_type === "direct").sort((a, b) => Number(a.archived) - Number(b.archived) || b.id - a.id));
        setError(null);
      })
      .catch((e) => !stale && setError(describeError(e)));
    return () => {
      stale = true;
    };
  }, [changes, current]);
  if (error) {
    return (
      <section class="conversations" aria-labelledby="conversations-title">
        <h2 id="conversations-title">Your conversations</h2>
        <p class="error" role="alert">
          {error}
        </p>
      </section>
    );
  }
  if (!chats || chats.length === 0) return null;
  return (
    <section class="conversations" aria-labelledby="conversations-title">
      <h2 id="conversations-title">Your conversations</h2>
      <ul class="conversation-list">
        {chats.map((chat) => {
          const info = matchInfo(chat.id);
          const who = info ? info.peer.username : chat.name;
          return (
            <li key={chat.id} class="conversation card" data-chat-id={chat.id}>
              <div>
                <a href={`/chat/${chat.id}`} class="conversation-name">
                  {info ? `Chat with ${who}` : who}
                </a>
                {info && info.matched_on.length > 0 && (
                  <span class="muted small"> · you both like {listWords(info.matched_on)}</span>
                )}
              </div>
              {chat.archived ? (
                <span class="badge">Ended · readable for 24 h</span>
              ) : (
                <span class="badge live">Open</span>
              )}
            </li>
          );
        })}
      </ul>
    </section>
  );
}
