// Who controls the shared browser, who waits (with places: "you are 2nd"), and the buttons each person may
// use: request / release for everyone, give / deny for the host and managers, take for managers (and for
// anyone while nobody hosts, unless the controls are locked). The server decides (docs/realtime.md); this
// shows what it allows.
import { useEffect } from "preact/hooks";
import { type BrowserModel, ordinal } from "../browserModel";

interface Props {
  model: BrowserModel;
  canManage: boolean;
}

export function ControlBar({ model, canManage }: Props) {
  const { host_user_id: host, queue } = model.control.value;
  const me = model.room.me.id;
  const isHost = host === me;
  const position = model.position.value;
  const config = model.config.value;
  const locked = config?.locked_controls === true;
  const requestsOff = config?.allow_control_requests === false;
  const name = (id: number) => (id === me ? "you" : model.room.nameOf(id));
  const mayDecide = isHost || canManage;

  return (
    <div class="control-bar">
      <p class="control-host" aria-live="polite">
        <span aria-hidden="true">🎮 </span>
        {host === null ? "Nobody has control" : isHost ? <strong>You have control</strong> : <><strong>{name(host)}</strong> has control</>}
        {position > 0 && <span class="control-place"> · you are {ordinal(position)} in line</span>}
      </p>
      {queue.length > 0 && (
        <div class="control-queue">
          <span class="small muted" id="control-queue-label">
            Waiting:
          </span>
          <ol aria-labelledby="control-queue-label">
            {queue.map((id, index) => (
              <li key={id}>
                <span class="queue-name">
                  {index + 1}. {id === me ? "You" : model.room.nameOf(id)}
                </span>
                {mayDecide && id !== me && (
                  <>
                    <button type="button" class="small-button" onClick={() => void model.act("give", id)}>
                      Give<span class="visually-hidden"> control to {model.room.nameOf(id)}</span>
                    </button>
                    <button type="button" class="small-button" onClick={() => void model.act("deny", id)}>
                      Deny<span class="visually-hidden"> {model.room.nameOf(id)}'s request</span>
                    </button>
                  </>
                )}
              </li>
            ))}
          </ol>
        </div>
      )}
      <div class="control-actions">
        {isHost && (
          <button type="button" onClick={() => void model.act("release")}>
            Release control
          </button>
        )}
        {!isHost && position === 0 && !requestsOff && (host !== null || (locked && !canManage)) && (
          <button type="button" class="primary" onClick={() => void model.act("request")}>
            Request control
          </button>
        )}
        {!isHost && (canManage || (host === null && !locked)) && (
          <button type="button" class={host === null ? "primary" : ""} onClick={() => void model.act("take")}>
            Take control
          </button>
        )}
      </div>
      {config && (
        <p class="control-rules small muted">
          {[
            locked ? "Controls are locked: only managers can take control." : null,
            requestsOff ? "Requests for control are off in this chat." : null,
            config.implicit_hosting ? "The first person in the room gets control when nobody has it." : null,
          ]
            .filter(Boolean)
            .join(" ")}
        </p>
      )}
    </div>
  );
}

/** For the host: the first request waiting, with one-key answers (A gives, D denies) while the keyboard is
 * not in the shared browser or a text field. */
export function RequestPrompt({ model, canManage }: Props) {
  const { host_user_id: host, queue } = model.control.value;
  const me = model.room.me.id;
  const first = queue.find((id) => id !== me);
  const active = first !== undefined && (host === me || (host === null && canManage));
  useEffect(() => {
    if (!active || first === undefined) return;
    const onKey = (event: KeyboardEvent) => {
      if (event.ctrlKey || event.altKey || event.metaKey || event.repeat) return;
      const target = document.activeElement as HTMLElement | null;
      if (target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) return;
      if (document.querySelector("dialog[open]")) return;
      const key = event.key.toLowerCase();
      if (key === "a") {
        event.preventDefault();
        void model.act("give", first);
      } else if (key === "d") {
        event.preventDefault();
        void model.act("deny", first);
      }
    };
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, [active, first, model]);
  if (!active || first === undefined) return null;
  const who = model.room.nameOf(first);
  return (
    <div class="request-prompt" role="status">
      <span>
        <strong>{who}</strong> asks for control — press <kbd>A</kbd> to give, <kbd>D</kbd> to deny
      </span>
      <button type="button" class="small-button primary" onClick={() => void model.act("give", first)}>
        Give<span class="visually-hidden"> control to {who}</span>
      </button>
      <button type="button" class="small-button" onClick={() => void model.act("deny", first)}>
        Deny
      </button>
    </div>
  );
}
