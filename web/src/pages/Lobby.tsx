// The lobby (`/`): my chats, the directory of official and public chats with live counts, creating a chat.
// The list is `GET /v1/portal/chats` (official and public chats plus the private ones I own or belong to);
// live counts come from the socket (lib/live.ts) and update the cards as they change.
import { useEffect, useMemo, useState } from "preact/hooks";
import { ApiError, api } from "../lib/api";
import { describeError } from "../lib/errors";
import { chatsChanged, liveOf } from "../lib/live";
import { navigate } from "../lib/router";
import { me } from "../lib/session";
import { TIER_NAMES, type Chat, type Me, type OwnedChat } from "../lib/types";
import { Dialog } from "../components/Dialog";
import { mayCreateChats, slotRule, slotsOf } from "./chatRules";
import "./Lobby.css";

type Load = { state: "loading" } | { state: "error"; message: string } | { state: "ready"; chats: Chat[] };

export function Lobby() {
  const [load, setLoad] = useState<Load>({ state: "loading" });
  const [query, setQuery] = useState("");
  const [creating, setCreating] = useState(false);
  const changes = chatsChanged.value;

  useEffect(() => {
    let stale = false;
    api
      .get<Chat[]>("/v1/portal/chats")
      .then((chats) => !stale && setLoad({ state: "ready", chats }))
      .catch((error) => !stale && setLoad({ state: "error", message: describeError(error) }));
    return () => {
      stale = true;
    };
  }, [changes]);

  const user = me.value as Me;
  // Direct chats (matchmaking) are listed on Meet someone, not here.
  const all = load.state === "ready" ? load.chats : [];
  const chats = all.filter((chat) => chat.chat_type !== "direct");
  const directs = all.filter((chat) => chat.chat_type === "direct");
  const openDirects = directs.filter((chat) => !chat.archived).length;
  const needle = query.trim().toLowerCase();
  const shown = needle ? chats.filter((chat) => matches(chat, needle)) : chats;
  const mine = shown.filter((chat) => chat.owner?.id === user.id || chat.visibility === "private");
  const official = shown.filter((chat) => chat.visibility === "official");
  const listed = shown.filter((chat) => chat.visibility === "public");

  return (
    <main id="main" class="page lobby">
      <div class="lobby-head">
        <div>
          <h1>Lobby</h1>
          <p class="muted">Watch and browse together. Pick a chat, or start your own.</p>
        </div>
        <div class="actions">
          <a class="button" href="/match">
            Meet someone
          </a>
          <button type="button" class="primary" onClick={() => setCreating(true)}>
            Create a chat
          </button>
        </div>
      </div>
      {directs.length > 0 && (
        <p class="lobby-directs card">
          {openDirects > 0
            ? `You have ${openDirects === 1 ? "an open one-on-one chat" : `${openDirects} open one-on-one chats`}.`
            : "Your ended one-on-one chats stay readable for 24 hours."}{" "}
          <a href="/match">See them in Meet someone</a>
        </p>
      )}

      <div class="lobby-search" role="search">
        <label for="lobby-filter">Find a chat</label>
        <input
          id="lobby-filter"
          type="search"
          placeholder="Name, description or label"
          value={query}
          onInput={(event) => setQuery(event.currentTarget.value)}
        />
      </div>
      <p class="visually-hidden" role="status" aria-live="polite">
        {load.state === "ready" && needle ? `${shown.length} ${shown.length === 1 ? "chat matches" : "chats match"}` : ""}
      </p>

      {load.state === "loading" && (
        <p class="muted" aria-busy="true">
          Loading chats…
        </p>
      )}
      {load.state === "error" && (
        <div class="error" role="alert">
          {load.message}{" "}
          <button type="button" class="link" onClick={() => (chatsChanged.value += 1)}>
            Try again
          </button>
        </div>
      )}
      {load.state === "ready" && (
        <>
          {needle && shown.length === 0 && (
            <p class="lobby-empty card">
              No chat matches “{query.trim()}”.{" "}
              <button type="button" class="link" onClick={() => setQuery("")}>
                Clear the search
              </button>
            </p>
          )}
          <ChatSection
            id="mine"
            title="My chats"
            chats={mine}
            me={user}
            empty={needle ? null : "You have no chats of your own yet. Create one, or open an invite link a friend sent you."}
          />
          <ChatSection id="official" title="Official chats" chats={official} me={user} empty={null} />
          <ChatSection
            id="public"
            title="Public chats"
            chats={listed}
            me={user}
            empty={
              needle
                ? null
                : official.length === 0
                  ? "No public chats yet. Make one of yours public by giving it a link name in its settings."
                  : null
            }
          />
        </>
      )}

      <CreateChatDialog open={creating} onClose={() => setCreating(false)} user={user} />
    </main>
  );
}

function matches(chat: Chat, needle: string): boolean {
  return [chat.name, chat.description, chat.label, chat.slug, chat.owner?.username]
    .filter((text): text is string => typeof text === "string")
    .some((text) => text.toLowerCase().includes(needle));
}

function ChatSection(props: { id: string; title: string; chats: Chat[]; me: Me; empty: string | null }) {
  const { id, title, chats, me: user, empty } = props;
  if (chats.length === 0 && !empty) return null;
  return (
    <section class="lobby-section" aria-labelledby={`lobby-${id}`}>
      <h2 id={`lobby-${id}`}>
        {title} {chats.length > 0 && <span class="badge">{chats.length}</span>}
      </h2>
      {chats.length === 0 ? (
        <p class="lobby-empty card muted">{empty}</p>
      ) : (
        <ul class="chat-grid">
          {chats.map((chat) => (
            <ChatCard key={chat.id} chat={chat} me={user} />
          ))}
        </ul>
      )}
    </section>
  );
}

function ChatCard({ chat, me: user }: { chat: Chat; me: Me }) {
  const live = liveOf(chat.id);
  const role = chat.owner?.id === user.id ? "You own it" : chat.visibility === "private" ? "Member" : null;
  return (
    <li class="chat-card card" data-chat-id={chat.id}>
      <div class="chat-card-title">
        <h3>
          <a href={`/chat/${chat.id}`}>{chat.name}</a>
        </h3>
        {chat.visibility === "official" && <span class="badge official">{chat.label || "Official"}</span>}
        {chat.visibility === "private" && <span class="badge">Private</span>}
        {chat.archived && <span class="badge">Archived</span>}
      </div>
      {chat.description ? <p class="chat-card-description">{chat.description}</p> : null}
      <div class="chat-card-meta">
        {live.running ? <span class="badge live">Browser live</span> : <span class="muted">Browser off</span>}
        <span class={`watching${live.viewer_count > 0 ? " some" : ""}`} data-testid="watching">
          {live.viewer_count === 0 ? "Nobody here" : `${live.viewer_count} watching`}
        </span>
        {role ? <span class="muted">{role}</span> : chat.owner ? <span class="muted">by {chat.owner.username}</span> : null}
        {chat.owner?.id === user.id && (
          <a class="chat-card-manage" href={`/chat/${chat.id}/manage`} aria-label={`Manage ${chat.name}`}>
            Manage
          </a>
        )}
      </div>
    </li>
  );
}

// ---- creating a chat ----------------------------------------------------------------------------

interface Refusal {
  message: string;
  /** Show the link to Settings → Subscription. */
  upgrade: boolean;
}

function CreateChatDialog({ open, onClose, user }: { open: boolean; onClose: () => void; user: Me }) {
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const [control, setControl] = useState(false);
  const [busy, setBusy] = useState(false);
  const [refusal, setRefusal] = useState<Refusal | null>(null);
  const [owned, setOwned] = useState<number | null>(null);
  const allowed = mayCreateChats(user);
  const slots = useMemo(() => slotsOf(user), [user]);

  useEffect(() => {
    if (!open) return;
    setRefusal(null);
    api
      .get<OwnedChat[]>("/v1/users/me/chats")
      .then((chats) => setOwned(chats.length))
      .catch(() => setOwned(null));
  }, [open]);

  async function submit(event: Event) {
    event.preventDefault();
    if (busy) return;
    setBusy(true);
    setRefusal(null);
    try {
      const chat = await api.post<Chat>("/v1/portal/chats", {
        name: name.trim(),
        description: description.trim() || null,
        allow_control_requests: control,
      });
      setName("");
      setDescription("");
      setControl(false);
      onClose();
      navigate(`/chat/${chat.id}`);
    } catch (error) {
      setRefusal(await explainRefusal(error, user));
    } finally {
      setBusy(false);
    }
  }

  const tierName = TIER_NAMES[user.subscription_tier] ?? "Basic";
  return (
    <Dialog title="Create a chat" open={open} onClose={onClose} describedBy="create-chat-about">
      <p id="create-chat-about" class="muted">
        A new chat is private: only you and the people you invite can see it. Give it a link name in its settings
        later to make it public and list it here.
      </p>
      {!allowed ? (
        <div class="create-locked" role="note">
          <p>
            <strong>Creating chats needs Premium.</strong> New chats are private, and private chats are for Premium
            (or Trial) members. Your plan is {tierName}.
          </p>
          <p>
            You can still join every official and public chat in the lobby, and chats you are invited to.{" "}
            <a href="/settings/subscription">See Settings → Subscription</a>
          </p>
          <div class="actions">
            <button type="button" onClick={onClose}>
              Close
            </button>
          </div>
        </div>
      ) : (
        <form onSubmit={submit} noValidate={false}>
          <div class="field">
            <label for="create-name">Name</label>
            <input
              id="create-name"
              type="text"
              required
              minLength={2}
              maxLength={64}
              autoComplete="off"
              autoFocus
              value={name}
              onInput={(event) => setName(event.currentTarget.value)}
              aria-describedby="create-name-hint"
            />
            <span id="create-name-hint" class="hint">
              2 to 64 characters.
            </span>
          </div>
          <div class="field">
            <label for="create-description">Description (optional)</label>
            <textarea
              id="create-description"
              rows={3}
              maxLength={500}
              value={description}
              onInput={(event) => setDescription(event.currentTarget.value)}
              aria-describedby="create-description-hint"
            />
            <span id="create-description-hint" class="hint">
              Up to 500 characters. Only Portal's admins can change it later.
            </span>
          </div>
          <div class="field">
            <label class="check">
              <input type="checkbox" checked={control} onChange={(event) => setControl(event.currentTarget.checked)} />
              Let viewers ask to control the shared browser
            </label>
          </div>
          <p class="hint create-slots">
            {slotRule(user, slots, owned)}
          </p>
          {refusal && (
            <div class="error" role="alert">
              {refusal.message}
              {refusal.upgrade && (
                <>
                  {" "}
                  <a href="/settings/subscription">Settings → Subscription</a>
                </>
              )}
            </div>
          )}
          <div class="actions dialog-actions">
            <button type="submit" class="primary" disabled={busy || name.trim().length < 2}>
              {busy ? "Creating…" : "Create chat"}
            </button>
            <button type="button" onClick={onClose}>
              Cancel
            </button>
          </div>
        </form>
      )}
    </Dialog>
  );
}

/** A refused creation in words: the slot and premium rules spelled out with this user's numbers. */
async function explainRefusal(error: unknown, user: Me): Promise<Refusal> {
  if (!(error instanceof ApiError)) return { message: describeError(error), upgrade: false };
  const tierName = TIER_NAMES[user.subscription_tier] ?? "Basic";
  if (error.error === "ERR_CHAT_SLOT_LIMIT") {
    let owned: number | null = null;
    try {
      owned = (await api.get<OwnedChat[]>("/v1/users/me/chats")).length;
    } catch {
      owned = null;
    }
    const own = owned === null ? "all the chats your slots allow" : `${owned} ${owned === 1 ? "chat" : "chats"}`;
    return {
      message:
        `You already own ${own}, and each chat you own takes one of your chat slots. ` +
        `Delete one of your chats (in its settings) to free a slot, or get more: Trial gives 1 slot, ` +
        `Premium 3, Lifetime 5 (your plan: ${tierName}).`,
      upgrade: true,
    };
  }
  if (error.error === "ERR_PREMIUM_REQUIRED") {
    return {
      message:
        `New chats are private, and private chats need Premium or a Trial (your plan: ${tierName}). ` +
        "You can still join official and public chats, and chats you are invited to.",
      upgrade: true,
    };
  }
  return { message: describeError(error), upgrade: false };
}
