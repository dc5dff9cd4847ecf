// The encryption panel: the epoch, whether this browser holds its key, the distributor, and every session
// in the room with its safety code (compare it with the person out of band).
import { useEffect } from "preact/hooks";
import { Dialog } from "../../components/Dialog";
import { safetyCode } from "../../lib/crypto/e2ee";
import type { KeyState } from "../../lib/chatKeys";
import type { RoomModel } from "./model";

const STATE_WORDS: Record<KeyState, string> = {
  holds: "holds the current key",
  waiting: "waiting for the key",
  unknown: "gets the key from the distributor",
};

export function EncryptionPanel({ model, open, onClose }: { model: RoomModel; open: boolean; onClose: () => void }) {
  const keys = model.keys;
  useEffect(() => {
    if (open) void model.refreshSessions();
  }, [open]);
  const epoch = keys.epoch.value;
  keys.version.value;
  const holds = keys.currentKey() !== null;
  const mine = keys.mySessionId.value;
  const distributor = keys.distributor.value;
  const sessions = [...keys.sessions.value.values()].sort(
    (a, b) => Number(b.session_id === mine) - Number(a.session_id === mine) || a.user_id - b.user_id,
  );
  return (
    <Dialog title="End-to-end encryption" open={open} onClose={onClose} describedBy="e2ee-about">
      <p id="e2ee-about">
        Messages here are encrypted in each browser with a chat key the server never sees. The key changes
        (a new <em>epoch</em>) when someone is kicked or banned or the chat is cleared, so they cannot read
        what follows.
      </p>
      <dl class="e2ee-facts">
        <dt>Epoch</dt>
        <dd data-testid="e2ee-epoch">{epoch}</dd>
        <dt>This browser</dt>
        <dd class={`key-state ${holds ? "state-holds" : "state-waiting"}`}>{holds ? "You hold the key of this epoch." : "Waiting for the key of this epoch…"}</dd>
        <dt>Distributor</dt>
        <dd>
          {distributor
            ? `${model.nameOf(distributor.user_id)} · session ${distributor.session_id.slice(0, 8)}${distributor.session_id === mine ? " (this browser)" : ""}`
            : "Nobody yet"}
        </dd>
      </dl>
      <h3>Sessions in the room</h3>
      <p class="muted small">
        Each session has a safety code made from its public key. Compare it with the person by another channel
        (in person, a call): if the codes match, nobody slipped a key of their own in between.
      </p>
      <ul class="e2ee-sessions">
        {sessions.map((s) => (
          <li key={s.session_id}>
            <div>
              <strong>{model.nameOf(s.user_id)}</strong>
              <span class="muted small">
                {" "}
                · session <code>{s.session_id.slice(0, 8)}</code>
                {s.session_id === mine ? " (this browser)" : ""}
                {distributor?.session_id === s.session_id ? " · distributor" : ""}
              </span>
            </div>
            <div class="e2ee-row">
              <code class="safety-code" aria-label={`Safety code of ${model.nameOf(s.user_id)}'s session`}>
                {safeCode(s.public_key)}
              </code>
              <span class={`key-state state-${s.state}`}>{STATE_WORDS[s.state]}</span>
            </div>
          </li>
        ))}
        {sessions.length === 0 && <li class="muted">No session with a key is in the room.</li>}
      </ul>
    </Dialog>
  );
}

function safeCode(publicKey: string): string {
  try {
    return safetyCode(publicKey);
  } catch {
    return "unreadable key";
  }
}
