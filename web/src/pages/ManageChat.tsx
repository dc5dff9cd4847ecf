// Managing a chat (`/chat/:id/manage`): settings, invites, activity log and the danger zone, as tabs
// (`?tab=`). Who may do what follows portal/services/chat_access.py: `GET /v1/portal/chats/{id}` includes
// the config only for those who may manage the chat, which is how this page knows; the server decides.
import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError, api } from "../lib/api";
import { describeError } from "../lib/errors";
import { currentPath, navigate } from "../lib/router";
import { me } from "../lib/session";
import type { ChatDetail, Me } from "../lib/types";
import { isOwner, mayClear, mayDestroy } from "./chatRules";
import { ConfigPanel } from "./manage/Config";
import { InvitesPanel } from "./manage/Invites";
import { ActivityPanel } from "./manage/Activity";
import { DangerPanel, LeaveChat } from "./manage/Danger";
import "./ManageChat.css";

type Load =
  | { state: "loading" }
  | { state: "error"; status: number; message: string }
  | { state: "ready"; chat: ChatDetail };

const TABS = [
  { id: "settings", label: "Settings" },
  { id: "invites", label: "Invites" },
  { id: "activity", label: "Activity" },
  { id: "danger", label: "Danger zone" },
] as const;
type TabId = (typeof TABS)[number]["id"];

export function ManageChat({ chatId }: { chatId: number }) {
  const [load, setLoad] = useState<Load>({ state: "loading" });
  const [version, setVersion] = useState(0);
  const user = me.value as Me;

  useEffect(() => {
    let stale = false;
    api
      .get<ChatDetail>(`/v1/portal/chats/${chatId}`)
      .then((chat) => !stale && setLoad({ state: "ready", chat }))
      .catch(
        (error) =>
          !stale &&
          setLoad({ state: "error", status: error instanceof ApiError ? error.status : 0, message: describeError(error) }),
      );
    return () => {
      stale = true;
    };
  }, [chatId, version]);

  if (load.state === "loading") {
    return (
      <main id="main" class="page manage" aria-busy="true">
        <p class="muted">Loading the chat…</p>
      </main>
    );
  }
  if (load.state === "error") {
    const title =
      load.status === 404 ? "Chat not found" : load.status === 403 ? "You cannot see this chat" : "The chat did not load";
    return (
      <main id="main" class="page narrow manage">
        <div class="card">
          <h1>{title}</h1>
          <p role="alert">
            {load.status === 404
              ? "It may have been deleted, or the address is wrong."
              : load.status === 403
                ? "It is private: only its owner and invited members can open it."
                : load.message}
          </p>
          <a class="button primary" href="/">
            Go to the lobby
          </a>
        </div>
      </main>
    );
  }

  const chat = load.chat;
  const canManage = typeof chat.history_visible === "boolean";
  if (!canManage) {
    const member = chat.visibility === "private" && !isOwner(chat, user);
    return (
      <main id="main" class="page narrow manage">
        <div class="card">
          <h1>You cannot manage this chat</h1>
          <p>
            {chat.visibility === "private"
              ? `Only the owner of “${chat.name}” can change its settings and invites.`
              : `Only the owner of “${chat.name}”, and Portal staff who outrank the owner, can manage it.`}
          </p>
          <div class="actions">
            <a class="button primary" href={`/chat/${chat.id}`}>
              Back to the chat
            </a>
            <a class="button" href="/">
              Lobby
            </a>
          </div>
        </div>
        {member && (
          <div class="card danger-row manage-leave">
            <LeaveChat chat={chat} />
          </div>
        )}
      </main>
    );
  }

  return <Manager chat={chat} user={user} reload={() => setVersion((v) => v + 1)} />;
}

function Manager({ chat, user, reload }: { chat: ChatDetail; user: Me; reload: () => void }) {
  const dangerous = mayClear(chat, user) || mayDestroy(chat, user) || (chat.visibility === "private" && !isOwner(chat, user));
  const tabs = TABS.filter((tab) => tab.id !== "danger" || dangerous);
  const wanted = new URLSearchParams(currentPath.value.split("?")[1] ?? "").get("tab");
  const active: TabId = tabs.find((tab) => tab.id === wanted)?.id ?? "settings";
  const refs = useRef<Record<string, HTMLButtonElement | null>>({});

  function select(id: TabId, focus = false) {
    navigate(`/chat/${chat.id}/manage${id === "settings" ? "" : `?tab=${id}`}`, { replace: true });
    if (focus) refs.current[id]?.focus();
  }

  function onKeyDown(event: KeyboardEvent) {
    const index = tabs.findIndex((tab) => tab.id === active);
    let next = -1;
    if (event.key === "ArrowRight") next = (index + 1) % tabs.length;
    else if (event.key === "ArrowLeft") next = (index - 1 + tabs.length) % tabs.length;
    else if (event.key === "Home") next = 0;
    else if (event.key === "End") next = tabs.length - 1;
    if (next < 0) return;
    event.preventDefault();
    const tab = tabs[next];
    if (tab) select(tab.id, true);
  }

  return (
    <main id="main" class="page manage">
      <p class="manage-back">
        <a href={`/chat/${chat.id}`}>← Back to the chat</a>
      </p>
      <div class="manage-head">
        <h1>
          Manage <span class="manage-name">{chat.name}</span>
        </h1>
        <span class={`badge ${chat.visibility === "official" ? "official" : ""}`}>{visibilityName(chat.visibility)}</span>
        {chat.live.running && <span class="badge live">Browser live</span>}
      </div>
      <div class="manage-tabs" role="tablist" aria-label="Manage the chat" onKeyDown={onKeyDown}>
        {tabs.map((tab) => (
          <button
            key={tab.id}
            ref={(el) => {
              refs.current[tab.id] = el;
            }}
            type="button"
            role="tab"
            id={`tab-${tab.id}`}
            aria-controls={`panel-${tab.id}`}
            aria-selected={tab.id === active}
            tabIndex={tab.id === active ? 0 : -1}
            class={tab.id === "danger" ? "tab-danger" : ""}
            onClick={() => select(tab.id)}
          >
            {tab.label}
          </button>
        ))}
      </div>
      <section class="manage-panel" role="tabpanel" id={`panel-${active}`} aria-labelledby={`tab-${active}`}>
        {active === "settings" && <ConfigPanel chat={chat} onSaved={reload} />}
        {active === "invites" && <InvitesPanel chat={chat} />}
        {active === "activity" && <ActivityPanel chat={chat} />}
        {active === "danger" && <DangerPanel chat={chat} user={user} />}
      </section>
    </main>
  );
}

export function visibilityName(visibility: string): string {
  if (visibility === "official") return "Official";
  if (visibility === "public") return "Public";
  if (visibility === "private") return "Private";
  return visibility;
}
