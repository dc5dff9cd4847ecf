// The danger zone: clear every message (confirm), delete the chat (confirm by typing its name), leave it.
import { useState } from "preact/hooks";
import { api } from "../../lib/api";
import { describeError } from "../../lib/errors";
import { navigate } from "../../lib/router";
import type { Chat, ChatDetail, Me } from "../../lib/types";
import { Dialog } from "../../components/Dialog";
import { notify } from "../../components/Notice";
import { isOwner, mayClear, mayDestroy } from "../chatRules";

export function DangerPanel({ chat, user }: { chat: ChatDetail; user: Me }) {
  const [confirm, setConfirm] = useState<"clear" | "delete" | null>(null);
  return (
    <div class="manage-stack">
      {mayClear(chat, user) && (
        <div class="card danger-row">
          <div>
            <h2>Clear all messages</h2>
            <p class="muted small">
              Deletes every message in “{chat.name}” for everyone and changes the chat's key. The chat and its members
              stay.
            </p>
          </div>
          <button type="button" class="danger" onClick={() => setConfirm("clear")}>
            Clear messages…
          </button>
        </div>
      )}
      {mayDestroy(chat, user) && (
        <div class="card danger-row">
          <div>
            <h2>Delete this chat</h2>
            <p class="muted small">
              Destroys the chat for good: its messages, keys, invites and shared browser. Everyone in it is removed.
              This cannot be undone.
            </p>
          </div>
          <button type="button" class="danger" onClick={() => setConfirm("delete")}>
            Delete chat…
          </button>
        </div>
      )}
      {!isOwner(chat, user) && chat.visibility === "private" && (
        <div class="card danger-row">
          <LeaveChat chat={chat} />
        </div>
      )}
      <ClearDialog chat={chat} open={confirm === "clear"} onClose={() => setConfirm(null)} />
      <DeleteDialog chat={chat} open={confirm === "delete"} onClose={() => setConfirm(null)} />
    </div>
  );
}

function ClearDialog({ chat, open, onClose }: { chat: Chat; open: boolean; onClose: () => void }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  async function clear() {
    setBusy(true);
    setError(null);
    try {
      const out = await api.post<{ cleared: number }>(`/v1/portal/chats/${chat.id}/clear`);
      notify(`Cleared ${out.cleared} ${out.cleared === 1 ? "message" : "messages"}.`);
      onClose();
    } catch (e) {
      setError(describeError(e));
    } finally {
      setBusy(false);
    }
  }
  return (
    <Dialog title="Clear all messages?" open={open} onClose={onClose} describedBy="clear-about">
      <p id="clear-about">
        Every message in “{chat.name}” is deleted for everyone. This cannot be undone.
      </p>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <div class="actions">
        <button type="button" class="danger" onClick={clear} disabled={busy}>
          {busy ? "Clearing…" : "Clear all messages"}
        </button>
        <button type="button" onClick={onClose}>
          Cancel
        </button>
      </div>
    </Dialog>
  );
}

function DeleteDialog({ chat, open, onClose }: { chat: Chat; open: boolean; onClose: () => void }) {
  const [typed, setTyped] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const matches = typed === chat.name;
  async function destroy(event: Event) {
    event.preventDefault();
    if (!matches || busy) return;
    setBusy(true);
    setError(null);
    try {
      await api.post(`/v1/portal/chats/${chat.id}/delete`);
      notify(`“${chat.name}” was deleted.`);
      onClose();
      navigate("/", { replace: true });
    } catch (e) {
      setError(describeError(e));
      setBusy(false);
    }
  }
  return (
    <Dialog
      title="Delete this chat?"
      open={open}
      onClose={() => {
        setTyped("");
        onClose();
      }}
      describedBy="delete-about"
    >
      <form onSubmit={destroy}>
        <p id="delete-about">
          “{chat.name}” and everything in it will be destroyed for good. Type its name to confirm.
        </p>
        <div class="field">
          <label for="delete-confirm">Chat name</label>
          <input
            id="delete-confirm"
            type="text"
            autoComplete="off"
            spellcheck={false}
            value={typed}
            placeholder={chat.name}
            onInput={(event) => setTyped(event.currentTarget.value)}
          />
        </div>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <div class="actions">
          <button type="submit" class="danger" disabled={!matches || busy}>
            {busy ? "Deleting…" : "Delete for good"}
          </button>
          <button
            type="button"
            onClick={() => {
              setTyped("");
              onClose();
            }}
          >
            Cancel
          </button>
        </div>
      </form>
    </Dialog>
  );
}

/** Give up membership of a chat (owners cannot: they delete it instead). */
export function LeaveChat({ chat }: { chat: Chat }) {
  const [open, setOpen] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  async function leave() {
    setBusy(true);
    setError(null);
    try {
      await api.post(`/v1/portal/chats/${chat.id}/leave`);
      notify(`You left “${chat.name}”.`);
      setOpen(false);
      navigate("/", { replace: true });
    } catch (e) {
      setError(describeError(e));
      setBusy(false);
    }
  }
  return (
    <>
      <div>
        <h2>Leave this chat</h2>
        <p class="muted small">
          You stop being a member of “{chat.name}”: it leaves your lobby, and you need a new invite to come back.
        </p>
      </div>
      <button type="button" class="danger" onClick={() => setOpen(true)}>
        Leave chat…
      </button>
      <Dialog title="Leave this chat?" open={open} onClose={() => setOpen(false)}>
        <p>You will need a new invite to join “{chat.name}” again.</p>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <div class="actions">
          <button type="button" class="danger" onClick={leave} disabled={busy}>
            {busy ? "Leaving…" : "Leave chat"}
          </button>
          <button type="button" onClick={() => setOpen(false)}>
            Cancel
          </button>
        </div>
      </Dialog>
    </>
  );
}
