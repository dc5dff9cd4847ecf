// The end-to-end-encrypted chat room (/chat/:id): joins over Socket.IO, shows the decrypted timeline, the
// composer, the members and the encryption panel. State lives in room/model.ts; keys in lib/chatKeys.ts.
import { useEffect, useMemo, useState } from "preact/hooks";
import { Dialog } from "../components/Dialog";
import { notify } from "../components/Notice";
import { describeError } from "../lib/errors";
import { navigate } from "../lib/router";
import { me } from "../lib/session";
import "./Room.css";
import { BrowserPanel, BrowserStrip } from "./room/browser/BrowserPanel";
import { BrowserModel } from "./room/browserModel";
import "./room/direct/direct.css";
import { Composer } from "./room/Composer";
import { DirectControls, DirectEnded } from "./room/direct/DirectControls";
import { DirectHeader } from "./room/direct/DirectHeader";
import { EncryptionPanel } from "./room/Encryption";
import { Members } from "./room/Members";
import { Menu } from "./room/Menu";
import { RoomModel } from "./room/model";
import { ChatRights } from "./room/permissions";
import { Timeline } from "./room/Timeline";

export function Room({ chatId }: { chatId: number }) {
  const user = me.value;
  const model = useMemo(
    () => (user ? new RoomModel(chatId, { id: user.id, username: user.username, permission_level: user.permission_level }) : null),
    [chatId, user?.id],
  );
  const browser = useMemo(() => (model ? new BrowserModel(model) : null), [model]);
  useEffect(() => {
    if (!model) return;
    void model.join();
    return () => {
      browser?.close();
      model.close();
    };
  }, [model]);
  const [showMembers, setShowMembers] = useState(false);
  const [showKeys, setShowKeys] = useState(false);
  if (!model || !user || !browser) return null;

  const chat = model.chat.value;
  const ownerLevel = model.members.value.find((m) => m.user.id === chat?.owner?.id)?.user.permission_level ?? 0;
  const rights = chat ? new ChatRights(chat, { id: user.id, permission_level: user.permission_level }, ownerLevel) : null;
  const typists = model.typing.value.map((t) => model.nameOf(t.userId));
  // Direct chats have no shared browser (the server answers ERR_DIRECT_CHAT).
  const hasBrowser = !!chat && !!rights && chat.chat_type !== "direct" && !chat.archived;
  const browserOn = hasBrowser && browser.running.value;
  const direct = model.isDirect();

  if (model.error.value && !model.joined.value) {
    return (
      <main id="main" class="page narrow">
        <h1>This chat cannot be opened</h1>
        <p role="alert">{model.error.value}</p>
        <div class="actions">
          <a class="button primary" href="/">
            Back to the lobby
          </a>
          <button type="button" onClick={() => void model.join()}>
            Try again
          </button>
        </div>
      </main>
    );
  }

  return (
    <main
      id="main"
      class={`room${showMembers ? " members-open" : ""}${browserOn ? " with-browser" : ""}`}
      aria-busy={!model.joined.value}
    >
      <header class="room-header">
        <div class="room-title">
          <h1>
            {direct ? (
              <>
                <span class="direct-title-prefix">Chat with </span>
                {model.peerName()}
              </>
            ) : (
              (chat?.name ?? "Joining…")
            )}
          </h1>
          {chat && !direct && <span class="badge">{visibilityWords(chat.visibility)}</span>}
          {chat?.archived && <span class="badge">{direct ? "Ended" : "Archived"}</span>}
        </div>
        <div class="room-tools">
          <button
            type="button"
            class="lock-button"
            onClick={() => setShowKeys(true)}
            aria-haspopup="dialog"
            title="Who holds the key, safety codes"
          >
            <span aria-hidden="true">🔒</span>
            <span class="lock-words">End-to-end encrypted · epoch {Math.max(0, model.keys.epoch.value)}</span>
            <span class="lock-short visually-hidden">Encryption details</span>
          </button>
          <button
            type="button"
            class="members-toggle"
            aria-expanded={showMembers}
            aria-controls="room-members"
            onClick={() => setShowMembers(!showMembers)}
          >
            <span aria-hidden="true">👥</span> <span class="label">Members</span>
            <span class="count">{model.members.value.filter((m) => m.online).length}</span>
          </button>
          <ChatActions model={model} canModerate={!!rights?.canModerate} canManage={!!rights?.canManage} />
          {rights?.canManage && (
            <a class="button" href={`/chat/${chatId}/manage`}>
              Manage
            </a>
          )}
        </div>
      </header>
      {direct && <DirectHeader model={model} />}
      <div class="room-body">
        {browserOn && rights && <BrowserPanel model={browser} user={user} rights={rights} />}
        <div class="room-main">
          {hasBrowser && !browserOn && rights && <BrowserStrip model={browser} user={user} rights={rights} />}
          <Timeline model={model} rights={rights} />
          <p class="typing small muted" aria-live="polite">
            {typists.length === 1 && `${typists[0]} is typing…`}
            {typists.length === 2 && `${typists[0]} and ${typists[1]} are typing…`}
            {typists.length > 2 && "Several people are typing…"}
          </p>
          {direct && chat?.archived ? (
            <DirectEnded model={model} />
          ) : (
            <>
              {direct && chat && <DirectControls model={model} />}
              <Composer model={model} />
            </>
          )}
        </div>
        <aside id="room-members" class="room-side" aria-label="Members">
          <Members model={model} rights={rights} />
        </aside>
      </div>
      <EncryptionPanel model={model} open={showKeys} onClose={() => setShowKeys(false)} />
    </main>
  );
}

function visibilityWords(visibility: string): string {
  return { official: "Official", public: "Public", private: "Private" }[visibility] ?? visibility;
}

/** "Delete my messages" for everyone; "Delete last N" for those who moderate. */
function ChatActions({ model, canModerate, canManage }: { model: RoomModel; canModerate: boolean; canManage: boolean }) {
  const [dialog, setDialog] = useState<"mine" | "last" | null>(null);
  const [count, setCount] = useState(10);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const open = (which: "mine" | "last") => {
    setError(null);
    setDialog(which);
  };
  const run = async () => {
    if (busy) return;
    setBusy(true);
    setError(null);
    try {
      const deleted = dialog === "mine" ? await model.deleteMine() : await model.deleteLast(count);
      notify(`${deleted} message${deleted === 1 ? "" : "s"} deleted.`);
      setDialog(null);
    } catch (e) {
      setError(describeError(e));
    } finally {
      setBusy(false);
    }
  };
  const items = [{ label: "Delete my messages", danger: true, onSelect: () => open("mine") }];
  if (canModerate) items.push({ label: "Delete last messages…", danger: true, onSelect: () => open("last") });
  if (canManage) items.push({ label: "Manage chat", danger: false, onSelect: () => navigate(`/chat/${model.chatId}/manage`) });
  return (
    <>
      <Menu label="Chat actions" items={items} class="chat-actions">
        ⋯
      </Menu>
      <Dialog
        title={dialog === "last" ? "Delete the last messages" : "Delete my messages"}
        open={dialog !== null}
        onClose={() => setDialog(null)}
      >
        <form
          onSubmit={(event) => {
            event.preventDefault();
            void run();
          }}
        >
          {dialog === "last" ? (
            <div class="field">
              <label for="delete-count">
                How many <span class="hint">the newest user messages you may act on (1 to 100)</span>
              </label>
              <input
                id="delete-count"
                type="number"
                min={1}
                max={100}
                value={count}
                onInput={(e) => setCount(Number((e.target as HTMLInputElement).value))}
              />
            </div>
          ) : (
            <p>Every message you sent in this chat is deleted, for everyone. This cannot be undone.</p>
          )}
          {error && (
            <p class="error" role="alert">
              {error}
            </p>
          )}
          <div class="actions">
            <button type="button" onClick={() => setDialog(null)}>
              Cancel
            </button>
            <button type="submit" class="danger" disabled={busy || (dialog === "last" && !(count >= 1 && count <= 100))}>
              Delete
            </button>
          </div>
        </form>
      </Dialog>
    </>
  );
}
