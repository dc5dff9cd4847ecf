// Next and Stop in a direct chat, the Omegle way: each asks once more before it acts ("Sure?"), Esc then
// Esc is Next, and the second click of a double click never confirms (event.detail > 1). Once the chat has
// ended, the composer gives way to `DirectEnded`: Next (search again on the same interests) and Back to
// matchmaking.
import { useEffect, useRef, useState } from "preact/hooks";
import { notify } from "../../../components/Notice";
import { describeError } from "../../../lib/errors";
import { leaveChat, next } from "../../match/state";
import type { RoomModel } from "../model";

type Armed = "next" | "stop" | null;
const ARM_MS = 5000;

/** Esc in the page, unless a dialog or menu has it (those close themselves on Esc). */
function isPageEscape(event: KeyboardEvent): boolean {
  if (event.key !== "Escape" || event.defaultPrevented || event.isComposing) return false;
  const target = event.target instanceof Element ? event.target : null;
  if (target?.closest("dialog, [role='menu']")) return false;
  return !document.querySelector("dialog[open]");
}

function useActions(model: RoomModel, ended: boolean) {
  const [armed, setArmed] = useState<Armed>(null);
  // What the key handler reads: the state above reaches a re-subscribed handler only after the next paint,
  // and a quick second Esc must not miss the first.
  const armedNow = useRef<Armed>(null);
  const [busy, setBusy] = useState(false);
  const running = useRef(false);
  const timer = useRef(0);
  const peer = model.peerName();

  const arm = (which: Armed) => {
    window.clearTimeout(timer.current);
    armedNow.current = which;
    setArmed(which);
    if (which) timer.current = window.setTimeout(() => arm(null), ARM_MS);
  };
  useEffect(() => () => window.clearTimeout(timer.current), []);

  const act = async (which: "next" | "stop") => {
    if (running.current) return;
    running.current = true;
    setBusy(true);
    arm(null);
    try {
      if (!ended) model.leavingByChoice();
      if (which === "next") await next(model.chatId, { leave: !ended });
      else await leaveChat(model.chatId);
    } catch (error) {
      notify(describeError(error), "error", 8000);
    } finally {
      running.current = false;
      setBusy(false);
    }
  };

  /** A click: the first one asks, a second (single) click acts. An ended chat's Next acts at once. */
  const click = (which: "next" | "stop", event: MouseEvent) => {
    if (running.current) return;
    if (event.detail > 1) return; // the rest of a double click
    if (which === "next" && ended) return void act("next");
    if (armedNow.current === which) return void act(which);
    arm(which);
  };

  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (!isPageEscape(event) || running.current) return;
      event.preventDefault();
      if (armedNow.current === "next") void act("next");
      else arm("next");
    };
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, [ended]);

  let hint = "";
  if (armed === "next") hint = ended ? "Press Esc again to meet someone new." : `Press Esc or Next again to leave ${peer} and meet someone new.`;
  if (armed === "stop") hint = `Press Stop again to end the chat with ${peer}.`;
  return { armed, busy, click, hint };
}

export function DirectControls({ model }: { model: RoomModel }) {
  const { armed, busy, click, hint } = useActions(model, false);
  return (
    <div class="direct-controls">
      <p class="direct-hint small" aria-live="assertive">
        {hint || <span class="muted">Esc twice: next person</span>}
      </p>
      <div class="actions">
        <button
          type="button"
          class={armed === "stop" ? "danger" : ""}
          disabled={busy}
          onClick={(event) => click("stop", event)}
          aria-describedby="direct-stop-about"
        >
          {armed === "stop" ? "Sure? Stop" : "Stop"}
        </button>
        <span id="direct-stop-about" class="visually-hidden">
          Ends this chat for both of you.
        </span>
        <button type="button" class={armed === "next" ? "danger" : "primary"} disabled={busy} onClick={(event) => click("next", event)}>
          {busy ? "Leaving…" : armed === "next" ? "Sure? Next" : "Next"}
        </button>
      </div>
    </div>
  );
}

/** In place of the composer once the chat has ended: who left, that it stays readable, what next. */
export function DirectEnded({ model }: { model: RoomModel }) {
  const { busy, click, hint } = useActions(model, true);
  const nextButton = useRef<HTMLButtonElement>(null);
  const endedBy = model.endedBy.value;
  const name = model.peerName();
  useEffect(() => {
    // The composer that had the focus is gone: give it to Next, unless the person is elsewhere already.
    const active = document.activeElement;
    if (!active || active === document.body || active.classList.contains("shell")) nextButton.current?.focus();
  }, []);
  const who = endedBy === "me" ? "You left the chat." : endedBy === "peer" ? `${name} left the chat.` : "This chat has ended.";
  return (
    <div class="direct-ended" role="region" aria-label="Chat ended">
      <p class="direct-ended-text">
        <strong>{who}</strong> You can still read it here for 24 hours; nobody can write to it any more.
      </p>
      <p class="direct-hint small" aria-live="assertive">
        {hint}
      </p>
      <div class="actions">
        <button type="button" class="primary" ref={nextButton} disabled={busy} onClick={(event) => click("next", event)}>
          {busy ? "Starting…" : "Next"}
        </button>
        <a class="button" href="/match">
          Back to matchmaking
        </a>
      </div>
    </div>
  );
}
