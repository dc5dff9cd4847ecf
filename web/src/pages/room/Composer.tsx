// The message box: Enter sends (Shift+Enter: a new line), a byte counter against the ciphertext limit,
// the mute countdown, and "Waiting for the encryption key…" while the epoch's key is on its way.
import { useEffect, useRef, useState } from "preact/hooks";
import { formatDuration } from "../../lib/errors";
import { connection } from "../../lib/socket";
import type { RoomModel } from "./model";
import { maxPlainBytes } from "./text";

const encoder = new TextEncoder();

export function Composer({ model }: { model: RoomModel }) {
  const [text, setText] = useState("");
  const [now, setNow] = useState(Date.now());
  const box = useRef<HTMLTextAreaElement>(null);
  const mutedUntil = model.mutedUntil.value;
  const muted = mutedUntil !== null && mutedUntil > now;

  useEffect(() => {
    if (mutedUntil === null) return;
    const timer = window.setInterval(() => {
      const t = Date.now();
      setNow(t);
      if (mutedUntil !== Infinity && t >= mutedUntil) model.mutedUntil.value = null;
    }, 1000);
    return () => window.clearInterval(timer);
  }, [mutedUntil]);

  const archived = !!model.chat.value?.archived;
  const offline = connection.value !== "connected" || !model.joined.value;
  const max = maxPlainBytes(Math.max(0, model.keys.epoch.value));
  const used = encoder.encode(text).length;
  const tooLong = used > max;
  const state = model.sending.value;
  model.keys.version.value; // re-render when a key arrives
  // A direct chat takes input only once the E2EE handshake is done (this browser holds the epoch's key).
  const keyless = model.isDirect() && model.joined.value && !model.keys.currentKey();
  const disabled = offline || archived || muted || model.hardMuted.value || keyless;

  // Entering the room (or getting the composer back after a reconnect) puts the cursor here, unless the
  // person is already somewhere else on the page.
  useEffect(() => {
    const active = document.activeElement;
    const idle = !active || active === document.body || active.classList.contains("shell");
    if (!disabled && idle) box.current?.focus({ preventScroll: true });
  }, [disabled]);

  const send = async () => {
    const value = text.trim();
    if (!value || tooLong || disabled || state !== "idle") return;
    const sent = await model.send(value);
    if (sent) {
      setText("");
      box.current?.focus();
    }
  };

  let status: string | null = null;
  if (archived) status = "This chat is archived: it can be read but not written to.";
  else if (model.hardMuted.value) status = "You are muted everywhere on Portal.";
  else if (muted) {
    status =
      mutedUntil === Infinity
        ? "You are muted in this chat until a moderator unmutes you."
        : `You are muted for ${formatDuration((mutedUntil - now) / 1000)}`;
  } else if (offline) status = "Reconnecting… you can send again once the connection is back.";
  else if (keyless) status = `Setting up end-to-end encryption with ${model.peerName()}…`;
  else if (state === "waiting-key") status = "Waiting for the encryption key…";

  return (
    <form
      class="composer"
      onSubmit={(event) => {
        event.preventDefault();
        void send();
      }}
    >
      <p class={`composer-status${muted ? " error" : ""}`} role="status" aria-live="polite">
        {status}
      </p>
      <div class="composer-row">
        <label for="composer-text" class="visually-hidden">
          Message (encrypted end to end)
        </label>
        <textarea
          id="composer-text"
          ref={box}
          rows={1}
          value={text}
          placeholder={disabled ? "" : "Message — Enter to send, Shift+Enter for a new line"}
          disabled={disabled}
          aria-describedby="composer-count"
          aria-invalid={tooLong}
          onInput={(event) => {
            setText((event.target as HTMLTextAreaElement).value);
            model.typed();
          }}
          onKeyDown={(event) => {
            if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
              event.preventDefault();
              void send();
            }
          }}
        />
        <button type="submit" class="primary" disabled={disabled || !text.trim() || tooLong || state !== "idle"}>
          {state === "sending" ? "Sending…" : "Send"}
        </button>
      </div>
      <p id="composer-count" class={`composer-count small ${tooLong ? "error" : "muted"}`}>
        <span aria-hidden="true">🔒 </span>End-to-end encrypted · {used} / {max}
        {tooLong ? " — too long, shorten it" : ""}
      </p>
    </form>
  );
}
